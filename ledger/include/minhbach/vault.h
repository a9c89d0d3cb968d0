// The personal-data vault: one append-only file of its own beside the log (LEDGER/vault/records, the folder mode
// 0700, the file 0600). It holds what must never enter the log: individual donors' names, account and phone
// numbers, bank transaction texts, guardians, and every private free text; each with the 32-byte random salt of
// the commitment the log holds in its place (docs/format/commitment.md), and the secret that keys donor
// pseudonyms. See docs/format/storage.md "The vault" for the frames and docs/threat-model.md "Privacy".
//
// Nothing in the vault is needed to verify the log: erasing a record leaves every hash, proof and signature
// valid, and only takes away the ability to open that commitment.
//
// Durability: Put is one frame, one write and one fdatasync. Ledger::Append writes the vault records of a batch
// before the batch's own synced write; a crash in between leaves records no entry refers to, which the next
// writable open cuts off (DropFrom). An erasure appends a synced erasure frame naming the entries, then
// overwrites their records with zeros in place: a crash in between leaves them erased all the same (a writable
// open completes the zeroing). The indexes (a subject's entries, donor pseudonyms, names) are kept in memory and
// rebuilt from the file at open (a read-only open reads the file at its first question).
//
// Thread-safety: a Vault may be used from several threads (a shared mutex); the owner (the Ledger) serialises
// writes. A read-only open beside a writer sees the file as it was at its first question.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "minhbach/files.h"
#include "minhbach/hash.h"
#include "minhbach/privacy.h"
#include "minhbach/status.h"

namespace spdlog {
class logger;
}

namespace minhbach {

inline constexpr const char* kVaultDirName = "vault";
inline constexpr const char* kVaultFormat = "minhbach-vault-2";
// The subject of texts of events that name no person (notes, reversals, allocations, expenses): '*' is in no id.
inline constexpr const char* kNoSubject = "*";
// A sealed value, like the multiline text it replaces.
inline constexpr size_t kSealedBytesMax = 2048;

// One sealed value: what the log commits to, and where.
struct VaultRecord {
  Hash commitment{};
  std::string subject;          // the donor, child or guardian id; kNoSubject ("*") for texts of events naming no person
  std::string field;            // e.g. "donation_received.details"
  std::string value;
  Salt salt{};
  uint64_t seq = 0;             // the entry holding the commitment
};

// One entry's sealed records as the vault stores them (Vault::BeginEntry, Vault::AddRecord): what Ledger::Append
// makes on both cores while it encodes the entries.
struct SealedEntry {
  uint64_t seq = 0;
  std::string payload;
};

class Vault {
 public:
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // Creates LEDGER/vault (which must not exist) with a fresh pseudonym secret.
  // `files`: the file system (not owned); default: the real one.
  static Result<std::unique_ptr<Vault>> Create(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log,
                                               FileSystem* files = nullptr);
  // Opens LEDGER/vault; read-only opens may run beside a writer and see the state at open.
  // `whole_until`: the file is known to hold whole frames up to that byte (the anchor's word, anchor.h): a bad
  // frame before it is damage, not a torn last write, and a file that ends before it has lost records.
  static Result<std::unique_ptr<Vault>> Open(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log,
                                             bool read_only, FileSystem* files = nullptr, uint64_t whole_until = 0);
  // Where the last whole frame ends: after Put returns, the bound an anchor may record.
  uint64_t WholeBytes() const;

  // Stores the entries (in log order, after every entry held) as one frame, in one write and one fdatasync; the
  // indexes (subject, donor pseudonym and name) take them at the first question that needs them. Returns once the
  // frame is durable.
  Status Put(const std::vector<SealedEntry>& entries);
  // The same for records (grouped by entry, in log order), which it encodes first.
  Status Put(const std::vector<VaultRecord>& records);
  // An entry's payload: str(subject), then for each record str(field) || salt || str(value) (storage.md 7.3).
  static void BeginEntry(std::string* payload, std::string_view subject);
  static void AddRecord(std::string* payload, std::string_view field, const Salt& salt, std::string_view value);
  // Removes the records of an append that failed after Put (entries `first_seq` and later, never referred to).
  Status Remove(uint64_t first_seq) { return DropFrom(first_seq).status(); }
  // Removes the records of entries `size` and later (a crashed append's): zeroes the file from their frame on and
  // cuts it there (synced); returns how many entries had some.
  Result<size_t> DropFrom(uint64_t size);

  // The records of entry `seq` (empty when it has none, or they were erased), with their commitments recomputed.
  Result<std::vector<VaultRecord>> ForEntry(uint64_t seq) const;
  // Whether the file holds a slot for entry `seq` (its records, or their erasure).
  Result<bool> Holds(uint64_t seq) const;
  // The record of entry `seq` that opens `commitment`; nullopt when there is none.
  Result<std::optional<VaultRecord>> Get(uint64_t seq, const Hash& commitment) const;
  // Visits a subject's records in log order; stops when fn returns false (a donor's name is in their
  // registration, the first of their entries: no need to read every donation after it).
  Status VisitSubject(const std::string& subject, const std::function<bool(VaultRecord&&)>& fn) const;
  // Every record of a subject, in log order.
  Result<std::vector<VaultRecord>> ForSubject(const std::string& subject) const;
  // Visits every record (for extracts by period); stops when fn returns false.
  Status Scan(const std::function<bool(const VaultRecord&)>& fn) const;

  // Erases every record of `subject`: appends an erasure frame naming its entries (synced), then overwrites their
  // records with zeros where they lie (synced), so that no byte of them is left in the vault's file, and
  // rebuilds the indexes. Returns how many records were erased.
  Result<size_t> EraseSubject(const std::string& subject);
  // Zeroes any record an erasure frame names that still holds bytes (an erasure interrupted by a crash; the
  // writable open does it too).
  Status CompleteErasures();

  // The donor pseudonym of an identity ("account" + digits, or "name" + NormalizeName), if one was registered.
  Result<std::optional<std::string>> FindPseudonym(std::string_view kind, std::string_view normalized) const;
  // HMAC-SHA256 under the vault's secret of (`kind` 0x00 `text`): PseudonymKey's keyed hash, for digests that must
  // not be testable by whoever guesses the text (the statement line digest, docs/import.md "Line digest").
  Hash KeyedDigest(std::string_view kind, std::string_view text) const;
  // Donors whose registered name is `normalized` (NormalizeName), at most `limit`.
  Result<std::vector<std::string>> FindByName(std::string_view normalized, size_t limit) const;

  class Impl;

 private:
  explicit Vault(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace minhbach
