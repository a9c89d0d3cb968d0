// Personal data and the log: commitments, public-text rules, masked names and pseudonym keys.
// See docs/format/commitment.md (the bytes) and docs/threat-model.md "Privacy" (who sees what).
//
// Nothing here touches storage: the offline verifier (minhbach-verify) links this to check opened
// commitments; the vault that keeps the values (minhbach/vault.h) is in minhbach_store.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/sha.h>

#include "entry.capnp.h"
#include "minhbach/hash.h"
#include "minhbach/status.h"

namespace minhbach {

inline constexpr size_t kSaltBytes = 32;
using Salt = std::array<uint8_t, kSaltBytes>;

// The domain tag that starts every commitment's hashed bytes (docs/format/commitment.md).
inline constexpr std::string_view kCommitmentTag = "minhbach-commitment-v1";

// commitment = SHA-256( "minhbach-commitment-v1" || 0x00 || field || 0x00 || salt (32 bytes) || value )
// `field` names where the value belongs, e.g. "donation_received.details" (the event type and the JSON path
// of the plaintext), so a value opened for one field cannot be passed off as another's.
Hash Commitment(std::string_view field, const Salt& salt, std::string_view value);

// 32 bytes from OpenSSL's CSPRNG (RAND_bytes). Aborts if the generator fails: no commitment may use a
// predictable salt.
Salt RandomSalt();

// A plaintext that the JSON parser (or an importer) put aside for the vault: the payload holds `marker`
// (32 random bytes) where the commitment goes, and Ledger::Append replaces it with the commitment.
struct SealedField {
  std::string field;  // e.g. "donation_received.details"
  std::string value;  // the plaintext (UTF-8)
  Hash marker{};      // the placeholder's bytes in the draft payload
  bool operator==(const SealedField& o) const { return field == o.field && value == o.value && marker == o.marker; }
};

// For drafts built in code (importers, demo): adds `value` for `field` to `sealed` and returns the marker the
// caller puts in the $vaulted Data field; Ledger::Append turns it into the commitment.
Hash AddSealed(std::vector<SealedField>* sealed, std::string field, std::string value);

// A public text (a free text marked public, a display name, a note subject, an erasure reason) must not carry
// an account or phone number: refused when it holds a run of 8 or more digits, or a phone number (9 to 12
// digits, possibly grouped by spaces, dots or hyphens, starting with 0, 84 or +84). InvalidArgument naming
// what was found (masked: the number itself is not repeated).
Status CheckPublicText(std::string_view text);

// A count of children in a cell of a public output: "< 5" for 1..4 (a small group can point at a child), else
// the number. One rule for every public report, export and page.
inline constexpr int64_t kSmallCountMin = 5;
std::string PublicCount(int64_t children);

// "Nguyễn Văn Quang" -> "Nguyễn V. Q."; "CAO VIET TUAN" -> "CAO V. T."; one word stays as it is; "" -> "".
std::string MaskedInitials(std::string_view name);

// Account and phone numbers as compared: digits only. Names as compared: folded (FoldForSearch), single spaces.
std::string NormalizeDigits(std::string_view s);
std::string NormalizeName(std::string_view s);

// The pseudonym index key of an identity: HMAC-SHA256(fund secret, kind || 0x00 || normalized value), kind
// "account" or "name". Never a plain hash: without the secret nobody can test a guessed name or number.
Hash PseudonymKey(const Hash& fund_secret, std::string_view kind, std::string_view normalized);
// The same, with the key's hash states computed once (the vault keys every donor registration with it).
class PseudonymKeyer {
 public:
  explicit PseudonymKeyer(const Hash& secret);
  Hash operator()(std::string_view kind, std::string_view normalized) const;

 private:
  SHA256_CTX inner_, outer_;
};

// Every commitment an entry's payload holds, with its field name ("donation_received.details"), in schema order.
struct CommitmentRef {
  std::string field;
  Hash commitment{};
};
std::vector<CommitmentRef> PayloadCommitments(schema::Entry::Payload::Reader p);

// ---- Opened commitments (minhbach vault extract; docs/format/commitment.md "Vault extract") ----
struct OpenedCommitment {
  uint64_t seq = 0;        // the entry that holds the commitment
  std::string subject;     // the donor, child or guardian it belongs to ("*" for texts of events naming no person)
  std::string field;
  std::string value;
  Salt salt{};
  Hash commitment{};
};
inline constexpr std::string_view kVaultExtractFormat = "minhbach-vault-extract/1";
inline constexpr size_t kVaultExtractRecordsMax = 10'000'000;
std::string VaultExtractToJson(const std::string& origin, const std::vector<OpenedCommitment>& records);
Result<std::vector<OpenedCommitment>> ParseVaultExtract(std::string_view json, std::string* origin);

// Checks one opened commitment against the entry it names: the entry's payload holds `commitment` in `field`,
// and Commitment(field, salt, value) equals it. InvalidArgument naming the entry and what differs.
Status CheckOpenedCommitment(const OpenedCommitment& o, uint64_t entry_seq, schema::Entry::Payload::Reader p);

}  // namespace minhbach
