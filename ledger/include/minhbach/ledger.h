// The ledger: an append-only, hash-chained, Merkle-tree log of entries stored in RocksDB.
// See docs/architecture.md (append path) and docs/format/storage.md (key layout).
//
// Durability: every Append is ONE RocksDB WriteBatch written with WriteOptions::sync = true, holding the
// entries, their idempotency-index keys, every tree tile they changed and the new head. Either the whole
// batch is on disk when Append returns OK, or none of it is (a crash before the sync completes loses the
// batch; it was never acknowledged). A rejected or failed batch leaves the store unchanged.
//
// Thread-safety: a Ledger is used from one thread at a time. Another process cannot open the same ledger
// for writing (RocksDB's LOCK file); read-only opens may run beside a writer and see the state at open.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "minhbach/entry.h"
#include "minhbach/files.h"
#include "minhbach/hash.h"
#include "minhbach/merkle.h"
#include "minhbach/note.h"
#include "minhbach/status.h"

namespace spdlog {
class logger;
}
namespace rocksdb {
class Env;
}

namespace minhbach {

class Vault;

struct LedgerOptions {
  // Open without the write lock; Append and Checkpoint fail. Default: false.
  bool read_only = false;
  // WriteOptions::sync for appends and checkpoints. Only tests of the raw engine turn it off. Default: true.
  bool sync = true;
  // Microseconds since the epoch, UTC; tests inject a fixed clock. Default: the system clock.
  std::function<int64_t()> clock;
  // RocksDB block cache size. Default: 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // RocksDB memtable size per column family. Default: 64 MiB. The simulation makes it small: every open builds
  // (and clears) fresh memtables and their bloom filters, and small ones flush often, which tests more paths.
  size_t write_buffer_bytes = 64 << 20;
  // Threads RocksDB starts, per column family, to open its table files at each open. Default: 16 (RocksDB's).
  // The simulation, which opens a small store thousands of times, uses 1.
  int file_opening_threads = 16;
  // The RocksDB environment (file system) to use; not owned. Default: the real one. Only the fault-injection
  // tests (tests/simulation_test.cc) pass another.
  rocksdb::Env* env = nullptr;
  // The file system of the files beside the store (keys, anchor, vault). Default: the real one. The simulation
  // passes its in-memory one (tests/sim_fs.h) with `env` over the same memory.
  std::shared_ptr<FileSystem> files;
  // Free space the disk holding the ledger must keep: a writable open, an append, a checkpoint and the flush at
  // close are refused (an I/O error, exit 3) rather than started below it. RocksDB meets a full disk badly (it
  // aborts on an assertion in its file writer when it closes a file whose write failed), so minhbach never
  // lets it get there. Default: 256 MiB (four memtables).
  uint64_t min_free_bytes = uint64_t{256} << 20;
  // Free bytes of the disk holding `dir`; tests inject a full disk. Default: files->FreeBytes (statvfs).
  std::function<Result<uint64_t>(const std::string& dir)> free_bytes;
};

struct AppendResult {
  uint64_t first_seq = 0;   // seq of the first new entry (== old size)
  uint64_t appended = 0;    // new entries; 0 when every event was a duplicate
  uint64_t size = 0;        // tree size after the append
  struct Duplicate {
    size_t index;           // position in the input batch
    size_t line;            // input line (0 if not from a file)
    uint64_t existing_seq;  // the entry that already holds this idempotency key
  };
  std::vector<Duplicate> duplicates;
};

struct VerifyOptions {
  // Called every ~64k entries with (entries done, total).
  std::function<void(uint64_t, uint64_t)> progress;
  // Verifier key for checkpoint signatures. Default: the key recorded in the store at creation, which
  // someone able to rewrite the store could replace: inspectors should pass the key they were given.
  std::optional<Verifier> key;
};

struct VerifyReport {
  uint64_t entries = 0;
  uint64_t checkpoints = 0;
  uint64_t tiles = 0;
  Hash root{};
  double seconds = 0;
};

struct StoredCheckpoint {
  uint64_t number = 0;  // 0, 1, 2 ... in issue order
  std::string note;     // the signed note text exactly as issued
  std::vector<std::string> cosignatures;  // witness signature lines ("— <name> <base64>"), added later
  // The note with the witnesses' cosignature lines after the log's signature.
  std::string WithCosignatures() const;
};

class Ledger {
 public:
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Creates a new ledger in `dir` (which must not hold one): the RocksDB store, a fresh Ed25519 signing key
  // (dir/signing.key, mode 0600) and its verifier key (dir/verifier.vkey). `origin` names the log in
  // checkpoints and is the key name.
  static Result<std::unique_ptr<Ledger>> Create(const std::string& dir, const std::string& origin,
                                                std::shared_ptr<spdlog::logger> log, LedgerOptions options = {});
  // Opens an existing ledger and checks its tail: the head record, the last entry's leaf hash and chain
  // link, and the right-edge tiles must agree. Fails with Corruption naming what disagrees.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& dir, std::shared_ptr<spdlog::logger> log,
                                              LedgerOptions options = {});

  const std::string& origin() const;
  const Verifier& verifier() const;
  // The personal-data vault beside the log (minhbach/vault.h): read-only when the ledger is.
  Vault& vault() const;
  uint64_t size() const;
  Hash root() const;

  // Appends a batch atomically (all new events or none). Events whose idempotency key is already in the
  // log with the same content are skipped and reported as duplicates; a key reused with different content,
  // or twice within the batch, rejects the batch. Fails with InvalidArgument (bad input) or IOError.
  Result<AppendResult> Append(const std::vector<EventDraft>& events, const AppendContext& ctx);

  // Erases a subject's personal data (docs/threat-model.md "Privacy"): appends `erasure` entries naming the
  // subject and every commitment of theirs in the vault (256 a part), then deletes the vault records and compacts
  // the vault so no file keeps them. The log and every proof stay valid. Refused (InvalidArgument) for an unknown
  // subject or one already erased; an erasure interrupted after its entry was written is completed.
  struct ErasureResult {
    uint64_t first_seq = 0;  // the erasure entry (the first part)
    size_t parts = 0;        // entries appended (0: an interrupted erasure was completed)
    size_t commitments = 0;  // commitments named
    size_t records = 0;      // vault records deleted
  };
  Result<ErasureResult> Erase(const std::string& subject, const std::string& reason, const AppendContext& ctx);

  // Canonical bytes of entry `seq`.
  Result<std::string> GetEntry(uint64_t seq) const;
  // Visits entries [from, from + limit) in order; stops early when `fn` returns false.
  Status ScanEntries(uint64_t from, uint64_t limit,
                     const std::function<bool(uint64_t seq, std::string_view bytes)>& fn) const;
  Result<Hash> LeafHash(uint64_t seq) const;
  Result<Hash> RootAt(uint64_t size) const;
  Result<std::vector<Hash>> ProveInclusion(uint64_t seq, uint64_t size) const;
  Result<std::vector<Hash>> ProveConsistency(uint64_t size1, uint64_t size2) const;

  // Signs a checkpoint of the current tree with the ledger key, stores it, and returns the note text.
  Result<std::string> SignCheckpoint();
  Result<std::vector<StoredCheckpoint>> Checkpoints() const;
  // Stores the cosignatures of `cosigned` (a checkpoint note this ledger issued, with witness signature lines
  // added) by the given witnesses, after verifying each. Fails with InvalidArgument when the note is not one of
  // this ledger's checkpoints or carries no valid cosignature by any of them. Returns how many were new.
  Result<size_t> AddCosignatures(const std::string& cosigned, const std::vector<Verifier>& witnesses);

  // The C2SP tlog-tiles tile `level`/`index` of `width` hashes (1..256): the level-8·level tree nodes
  // 256·index .. 256·index + width - 1, concatenated (32 bytes each). NotFound when the tree does not have them
  // yet (docs/api.md "Tiles").
  Result<std::string> TileHashes(uint32_t level, uint64_t index, uint32_t width) const;

  // A record of the domain state (docs/format/storage.md section 2.1), e.g. "p/P-COVID"; "" when absent. Only
  // ledgers opened for writing keep the state.
  Result<std::string> DomainRecord(std::string_view key) const;

  // The compact range [0, size): see CompactRange.
  Result<std::vector<Hash>> CompactRangeAt(uint64_t size) const;

  // Recomputes everything from genesis: see docs/architecture.md "verify". Fails with Corruption naming
  // the first bad sequence number and what is wrong.
  Status Verify(const VerifyOptions& options, VerifyReport* report) const;

  class Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  // The store against the anchor (docs/format/storage.md section 9): refused when it lost acknowledged entries.
  Status CheckAnchor() const;
  std::unique_ptr<Impl> impl_;
};

// File names inside a ledger directory.
inline constexpr const char* kDbDirName = "db";
inline constexpr const char* kAnchorFileName = "anchor";
inline constexpr const char* kSigningKeyFile = "signing.key";
inline constexpr const char* kVerifierKeyFile = "verifier.vkey";

}  // namespace minhbach
