// Internal: the Ledger's state, shared by ledger.cc (open, append, proofs) and verify.cc.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "minhbach/domain.h"
#include "minhbach/ledger.h"
#include "minhbach/vault.h"
#include "anchor.h"

namespace spdlog {
class logger;
}

namespace minhbach {

// RocksDB column families; the key layout is specified in docs/format/storage.md.
inline constexpr const char* kCfEntries = "entries";  // seq (8 bytes BE) -> canonical entry bytes
inline constexpr const char* kCfTree = "tree";        // tile id (level || 8 bytes BE index) -> tile
inline constexpr const char* kCfIndex = "index";      // idempotency key -> seq (8 bytes BE)
inline constexpr const char* kCfMeta = "meta";        // see kMeta* below
inline constexpr const char* kCfState = "state";      // domain state records (minhbach/domain.h)
inline constexpr const char* kMetaHead = "head";      // size (8 BE) || leaf hash of entry size-1 (32)
inline constexpr const char* kMetaOrigin = "origin";
inline constexpr const char* kMetaVkey = "vkey";
inline constexpr const char* kMetaFormat = "format";
// 2: "state" family; 3: allowances; 4: vault; 5: the vault a file of its own, and the anchor
inline constexpr const char* kFormatVersion = "minhbach-ledger-5";
inline constexpr const char* kMetaCheckpointPrefix = "cp/";  // "cp/" || number (8 BE) -> signed note
inline constexpr const char* kMetaCosignaturePrefix = "cs/";  // "cs/" || number (8 BE) || witness vkey -> signature line

std::string SeqKey(uint64_t seq);
// Puts `commitment` where `marker` is in a draft payload (it must be there exactly once).
Status PatchMarker(std::string* payload, const Hash& marker, const Hash& commitment);
uint64_t DecodeBE64(std::string_view bytes);
// Converts a RocksDB status into ours, with context.
Status FromRocks(const rocksdb::Status& s, const std::string& context);

// A thread kept for the ledger's life that runs one job at a time: the second core's share of an append. (A thread
// made per batch cost the checks on the other core measurably: a fresh stack's page faults, and the TLB
// shootdowns when it goes.)
class Helper {
 public:
  Helper();
  ~Helper();
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;
  // Starts `job` (the previous one must have been joined).
  void Run(std::function<void()> job);
  // Waits for the job to end.
  void Join();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool busy_ = false, stop_ = false;
  std::thread thread_;
};

// One batch's vault write (Vault::Put, synced) on the ledger's vault helper, a thread kept for the ledger's life
// (made at its first batch with personal data), while the calling thread checks the batch. Finish() waits until
// the records are durable; Abandon() waits and removes them (the batch was refused). Waits when destroyed.
class VaultWrite {
 public:
  VaultWrite(std::unique_ptr<Helper>& helper, Vault& vault, std::shared_ptr<spdlog::logger> log);
  ~VaultWrite();
  VaultWrite(const VaultWrite&) = delete;
  VaultWrite& operator=(const VaultWrite&) = delete;
  // Hands the batch's entries with personal data to the helper (at most once; from any thread, before the
  // calling thread's first Finish or Abandon).
  void Start(std::vector<SealedEntry>& sealed);
  Status Finish();
  void Abandon();

 private:
  std::unique_ptr<Helper>& helpers_;
  Helper* helper_ = nullptr;  // null when the batch has no personal data
  Vault& vault_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<SealedEntry> entries_;
  bool waited_ = false;
  Status status_;
};

// An event's sealed fields, for entry `seq` of `subject`: a fresh salt and commitment for each (written to
// `commitments`, one per field), and the entry's vault payload. Reads nothing shared: safe on any thread.
Status SealFields(const EventDraft& d, uint64_t seq, const std::string& subject, Hash* commitments,
                  SealedEntry* sealed);

// Seals a batch's personal data (SealFields) in log order. StartHelper runs `before` (the helper's half of the
// encoding) on a thread of its own, then, once the caller's SubjectsReady (which waits for that half), seals
// every entry while the calling thread checks them, and hands the vault payloads to `vault` as soon as all are
// sealed; Patch(j) waits for entry j's seal and writes its commitments over the markers in the encoded entry.
// Without a helper, Patch(j) seals entry j itself, and Finish() hands the payloads over. Stop() stops and joins
// the helper (call it before abandoning the vault's write).
class Sealer {
 public:
  Sealer(const std::vector<EventDraft>& events, const std::vector<size_t>& order, uint64_t first_seq,
         const std::vector<std::string>& subjects, VaultWrite& vault);
  // `helper` runs `before`, then the seals.
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;
  void StartHelper(Helper& helper, std::function<void()> before);
  void SubjectsReady();
  Status Patch(size_t j, std::string* entry);
  void Finish();
  void Stop();

 private:
  void SealOne(size_t j);
  void HandOver();
  const std::vector<EventDraft>& events_;
  const std::vector<size_t>& order_;
  const uint64_t first_seq_;
  const std::vector<std::string>& subjects_;
  std::vector<Status> status_;
  std::vector<size_t> first_;  // entry j's commitments are commitments_[first_[j], first_[j + 1])
  std::vector<Hash> commitments_;
  std::vector<SealedEntry> sealed_;
  VaultWrite& vault_;
  std::atomic<uint32_t> done_{0};
  std::atomic<bool> encoded_{false}, ready_{false}, waiting_{false}, stop_{false};
  Helper* helper_ = nullptr;  // set while the helper runs this batch's job
};

class Ledger::Impl {
 public:
  std::string dir;
  std::shared_ptr<spdlog::logger> log;
  LedgerOptions options;
  std::unique_ptr<rocksdb::DB> db;  // null only after a failed reopen in RecoverStore
  rocksdb::ColumnFamilyHandle* entries = nullptr;
  rocksdb::ColumnFamilyHandle* tree = nullptr;
  rocksdb::ColumnFamilyHandle* index = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* state = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  std::string origin;
  std::optional<Verifier> verifier;
  uint64_t size = 0;
  Hash last_leaf{};
  TreeBuilder builder;
  DomainState domain;
  mutable Sha256 sha;
  std::unique_ptr<Vault> vault;
  Anchor anchor;  // the last acknowledged state and signed checkpoint, outside RocksDB (anchor.h)
  std::unique_ptr<Helper> vault_helper;  // writes the vault (VaultWrite); after `vault`: stopped before it closes
  std::unique_ptr<Helper> helper;             // the append's second core, made at the first large batch
  // Set when a write to the log's store failed after RocksDB took the batch: nothing more is written until the
  // ledger is reopened (its recovery decides what the batch left).
  Status broken;

  // Personal data on the append path (docs/format/commitment.md): fresh salts and commitments for a new entry's
  // sealed fields, patched into its encoded bytes; for a retry, the salts of the entry already logged.
  // SealSubject finds whose personal data an event's sealed fields are, and refuses an erased subject (it reads
  // the domain: call it before the batch's checks change it); SealFields (below) does the rest.
  Status SealSubject(const EventDraft& d, std::string* subject) const;
  Status Reseal(const EventDraft& d, uint64_t old_seq, const std::string& old_payload, std::string* payload) const;

  ~Impl();
  // An I/O error when the store could not be reopened after a failed write (db is null).
  Status Usable() const;
  Result<std::string> Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key, const char* what) const;
  Result<Tile> GetTile(TileId id) const;
};

// The store beyond its anchor's last batch (ledger.cc): its entries' vault records checked, then re-anchored.
Status SettleBeyondAnchor(Ledger::Impl& m);

}  // namespace minhbach
