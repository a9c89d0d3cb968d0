#include "minhbach/privacy.h"

#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "capnp_json.h"
#include "minhbach/text.h"

namespace minhbach {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The UTF-8 length of the sequence starting with byte `c` (1 for ASCII and stray bytes).
size_t Utf8Len(unsigned char c) { return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1; }

}  // namespace

Hash Commitment(std::string_view field, const Salt& salt, std::string_view value) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  const unsigned char zero = 0;
  SHA256_Update(&ctx, kCommitmentTag.data(), kCommitmentTag.size());
  SHA256_Update(&ctx, &zero, 1);
  SHA256_Update(&ctx, field.data(), field.size());
  SHA256_Update(&ctx, &zero, 1);
  SHA256_Update(&ctx, salt.data(), salt.size());
  SHA256_Update(&ctx, value.data(), value.size());
  Hash h;
  SHA256_Final(h.data(), &ctx);
  return h;
}

Salt RandomSalt() {
  // OpenSSL's generator checks for a fork on every call with a getpid() system call, which costs more than the
  // rest of a commitment on these machines: take its output 4 KiB at a time, per thread. Every byte is used once.
  // (A process that forks and then makes salts in both halves would repeat them; minhbach forks only to exec.)
  constexpr size_t kPoolBytes = 4096;
  static_assert(kPoolBytes % kSaltBytes == 0);
  thread_local std::array<uint8_t, kPoolBytes> pool;
  thread_local size_t used = kPoolBytes;
  if (used == kPoolBytes) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) {
      std::fputs("minhbach: OpenSSL RAND_bytes failed: refusing to make a predictable salt\n", stderr);
      std::abort();
    }
    used = 0;
  }
  Salt s;
  std::memcpy(s.data(), pool.data() + used, kSaltBytes);
  std::memset(pool.data() + used, 0, kSaltBytes);
  used += kSaltBytes;
  return s;
}

Hash AddSealed(std::vector<SealedField>* sealed, std::string field, std::string value) {
  SealedField f;
  f.field = std::move(field);
  f.value = std::move(value);
  Salt marker = RandomSalt();
  std::memcpy(f.marker.data(), marker.data(), kHashSize);
  sealed->push_back(f);
  return f.marker;
}

Status CheckPublicText(std::string_view text) {
  // Scan digit groups: digits joined by at most one separator (space, dot, hyphen) between them.
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
    const bool plus = i > 0 && text[i - 1] == '+';
    size_t run = 0, run_max = 0, digits = 0;
    std::string first;
    size_t j = i;
    while (j < text.size()) {
      if (IsDigit(text[j])) {
        ++digits;
        run_max = std::max(run_max, ++run);
        if (first.size() < 2) first += text[j];
        ++j;
        continue;
      }
      const char c = text[j];
      if ((c == ' ' || c == '.' || c == '-') && j + 1 < text.size() && IsDigit(text[j + 1])) {
        run = 0;
        ++j;
        continue;
      }
      break;
    }
    if (run_max >= 8) {
      return Status::InvalidArgument("holds a run of " + std::to_string(run_max) +
                                     " digits (an account number?): keep it in the vault, not in a public text");
    }
    // 0 + 9..11 digits (090 228 6798), or the country code: +84 / 84 + 9..10 digits (+84 90 228 6798).
    const bool local = first[0] == '0' && digits >= 10 && digits <= 12;
    const bool intl = (plus || first == "84") && digits >= 11 && digits <= 12;
    if ((local || intl) && digits != run_max) {
      return Status::InvalidArgument("holds what looks like a phone number (" + std::to_string(digits) +
                                     " digits): keep it in the vault, not in a public text");
    }
    i = j;
  }
  return Status::Ok();
}

std::string PublicCount(int64_t children) {
  return children > 0 && children < kSmallCountMin ? "< " + std::to_string(kSmallCountMin) : std::to_string(children);
}

std::string MaskedInitials(std::string_view name) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < name.size()) {
    while (i < name.size() && name[i] == ' ') ++i;
    size_t j = i;
    while (j < name.size() && name[j] != ' ') ++j;
    if (j > i) words.push_back(name.substr(i, j - i));
    i = j;
  }
  if (words.empty()) return "";
  std::string out(words[0]);
  for (size_t k = 1; k < words.size(); ++k) {
    out += ' ';
    out.append(words[k].substr(0, Utf8Len(static_cast<unsigned char>(words[k][0]))));
    out += '.';
  }
  return out;
}

std::string NormalizeDigits(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (IsDigit(c)) out += c;
  }
  return out;
}

std::string NormalizeName(std::string_view s) {
  std::string folded = FoldForSearch(s), out;
  for (char c : folded) {
    if (c == ' ' || c == '\t' || c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

PseudonymKeyer::PseudonymKeyer(const Hash& secret) {
  // HMAC (RFC 2104) with SHA-256: the key (32 bytes, shorter than the 64-byte block) padded with zeros, XOR ipad
  // and opad; the two hash states after the padded key are kept and copied for every message.
  uint8_t ipad[64], opad[64];
  for (size_t i = 0; i < 64; ++i) {
    const uint8_t k = i < secret.size() ? secret[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, ipad, sizeof ipad);
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, opad, sizeof opad);
}

Hash PseudonymKeyer::operator()(std::string_view kind, std::string_view normalized) const {
  SHA256_CTX in = inner_, out = outer_;
  const unsigned char zero = 0;
  SHA256_Update(&in, kind.data(), kind.size());
  SHA256_Update(&in, &zero, 1);
  SHA256_Update(&in, normalized.data(), normalized.size());
  Hash inner_hash, h;
  SHA256_Final(inner_hash.data(), &in);
  SHA256_Update(&out, inner_hash.data(), inner_hash.size());
  SHA256_Final(h.data(), &out);
  return h;
}

Hash PseudonymKey(const Hash& fund_secret, std::string_view kind, std::string_view normalized) {
  return PseudonymKeyer(fund_secret)(kind, normalized);
}

std::vector<CommitmentRef> PayloadCommitments(schema::Entry::Payload::Reader p) {
  std::vector<CommitmentRef> out;
  auto dyn = capnp::toDynamic(p);
  KJ_IF_MAYBE(member, dyn.which()) {
    if (!member->getType().isStruct()) return out;
    internal::CollectCommitments(dyn.get(*member).as<capnp::DynamicStruct>(),
                                 SnakeCase(member->getProto().getName().cStr()) + ".", &out);
  }
  return out;
}

std::string VaultExtractToJson(const std::string& origin, const std::vector<OpenedCommitment>& records) {
  nlohmann::json j;
  j["format"] = std::string(kVaultExtractFormat);
  j["origin"] = origin;
  j["records"] = nlohmann::json::array();
  for (const auto& r : records) {
    j["records"].push_back({{"seq", r.seq},
                            {"subject", r.subject},
                            {"field", r.field},
                            {"value", r.value},
                            {"salt", HexEncode(std::string_view(reinterpret_cast<const char*>(r.salt.data()), kSaltBytes))},
                            {"commitment", HexEncode(r.commitment)}});
  }
  return j.dump(1) + "\n";
}

Result<std::vector<OpenedCommitment>> ParseVaultExtract(std::string_view text, std::string* origin) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("vault extract: not a JSON object");
  if (j.value("format", "") != kVaultExtractFormat) {
    return Status::InvalidArgument("vault extract: field 'format': expected \"" + std::string(kVaultExtractFormat) + "\"");
  }
  if (!j.contains("origin") || !j["origin"].is_string()) return Status::InvalidArgument("vault extract: field 'origin': expected a string");
  *origin = j["origin"].get<std::string>();
  if (!j.contains("records") || !j["records"].is_array()) return Status::InvalidArgument("vault extract: field 'records': expected an array");
  if (j["records"].size() > kVaultExtractRecordsMax) return Status::InvalidArgument("vault extract: too many records");
  std::vector<OpenedCommitment> out;
  size_t n = 0;
  for (const auto& r : j["records"]) {
    const std::string where = "vault extract: records[" + std::to_string(n++) + "]";
    if (!r.is_object()) return Status::InvalidArgument(where + ": expected an object");
    OpenedCommitment o;
    if (!r.contains("seq") || !r["seq"].is_number_unsigned()) return Status::InvalidArgument(where + ".seq: expected an entry number");
    o.seq = r["seq"].get<uint64_t>();
    for (const char* k : {"subject", "field", "value", "salt", "commitment"}) {
      if (!r.contains(k) || !r[k].is_string()) return Status::InvalidArgument(where + "." + k + ": expected a string");
    }
    o.subject = r["subject"].get<std::string>();
    o.field = r["field"].get<std::string>();
    o.value = r["value"].get<std::string>();
    auto salt = HexDecode(r["salt"].get<std::string>());
    if (!salt.ok() || salt->size() != kSaltBytes) return Status::InvalidArgument(where + ".salt: expected 64 hex digits");
    std::memcpy(o.salt.data(), salt->data(), kSaltBytes);
    auto c = HexDecode(r["commitment"].get<std::string>());
    if (!c.ok() || c->size() != kHashSize) return Status::InvalidArgument(where + ".commitment: expected 64 hex digits");
    std::memcpy(o.commitment.data(), c->data(), kHashSize);
    out.push_back(std::move(o));
  }
  return out;
}

Status CheckOpenedCommitment(const OpenedCommitment& o, uint64_t entry_seq, schema::Entry::Payload::Reader p) {
  const std::string where = "entry " + std::to_string(entry_seq) + ", field " + o.field + ": ";
  bool in_entry = false;
  for (const CommitmentRef& ref : PayloadCommitments(p)) {
    if (ref.field == o.field && ref.commitment == o.commitment) in_entry = true;
  }
  if (!in_entry) return Status::InvalidArgument(where + "the entry holds no such commitment " + HexEncode(o.commitment));
  if (Commitment(o.field, o.salt, o.value) != o.commitment) {
    return Status::InvalidArgument(where + "the opened value and salt do not hash to the entry's commitment " +
                                   HexEncode(o.commitment));
  }
  return Status::Ok();
}

}  // namespace minhbach
