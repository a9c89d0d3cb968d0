// The personal-data vault: a RocksDB store of its own beside the log (LEDGER/vault/, mode 0700, files 0600).
// It holds what must never enter the log: individual donors' names, account and phone numbers, bank
// transaction texts, guardians, and every private free text; each with the 32-byte random salt of the
// commitment the log holds in its place (docs/format/commitment.md), and the secret that keys donor
// pseudonyms. See docs/format/storage.md "The vault" for the key layout and docs/threat-model.md "Privacy".
//
// Nothing in the vault is needed to verify the log: erasing a record leaves every hash, proof and signature
// valid, and only takes away the ability to open that commitment.
//
// Durability: Put and EraseSubject are synced writes. Ledger::Append writes the vault records of a batch
// before the batch's own synced write; a crash in between leaves records no entry refers to (harmless: they
// belong to their subject and go with an erasure of it).
//
// Thread-safety: a Vault may be used from several threads (RocksDB's guarantees); the owner (the Ledger)
// serialises writes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "minhbach/hash.h"
#include "minhbach/privacy.h"
#include "minhbach/status.h"

namespace spdlog {
class logger;
}

namespace minhbach {

inline constexpr const char* kVaultDirName = "vault";
inline constexpr const char* kVaultFormat = "minhbach-vault-1";
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

class Vault {
 public:
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // Creates LEDGER/vault (which must not exist) with a fresh pseudonym secret.
  static Result<std::unique_ptr<Vault>> Create(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log);
  // Opens LEDGER/vault; read-only opens may run beside a writer and see the state at open.
  static Result<std::unique_ptr<Vault>> Open(const std::string& ledger_dir, std::shared_ptr<spdlog::logger> log,
                                             bool read_only);

  // Stores records (grouped by entry, in log order) and their indexes (subject, donor pseudonym and name) in one
  // synced write. `encoded`, when given, holds EncodeEntry of each entry's records, made beforehand (Append makes
  // them on both cores while it encodes the entries).
  Status Put(const std::vector<VaultRecord>& records, const std::vector<std::string>* encoded = nullptr);
  // The stored form of one entry's records (all of one subject): the value of its 'q' key.
  static std::string EncodeEntry(const VaultRecord* records, size_t n);
  // Removes records a failed append had stored (best effort; they were never referred to).
  Status Remove(const std::vector<VaultRecord>& records);
  // Removes the records of entries `size` and later (a crashed append's); returns how many entries had some.
  Result<size_t> DropFrom(uint64_t size);

  // The records of entry `seq` (empty when it has none, or they were erased), with their commitments recomputed.
  Result<std::vector<VaultRecord>> ForEntry(uint64_t seq) const;
  // The record of entry `seq` that opens `commitment`; nullopt when there is none.
  Result<std::optional<VaultRecord>> Get(uint64_t seq, const Hash& commitment) const;
  // Visits a subject's records in log order; stops when fn returns false (a donor's name is in their
  // registration, the first of their entries: no need to read every donation after it).
  Status VisitSubject(const std::string& subject, const std::function<bool(VaultRecord&&)>& fn) const;
  // Every record of a subject, in log order.
  Result<std::vector<VaultRecord>> ForSubject(const std::string& subject) const;
  // Visits every record (for extracts by period); stops when fn returns false.
  Status Scan(const std::function<bool(const VaultRecord&)>& fn) const;

  // Deletes every record of `subject` and every index that leads to it, then flushes and compacts the store
  // so that no file of the vault keeps the values (RocksDB keeps deleted values in SST files and the WAL until
  // then). Returns how many records were deleted.
  Result<size_t> EraseSubject(const std::string& subject);
  // Flush and full compaction with the bottommost level forced: no file keeps a deleted value afterwards.
  Status Compact();

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
