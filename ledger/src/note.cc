#include "minhbach/note.h"

#include "minhbach/text.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <memory>

namespace minhbach {
namespace {

constexpr std::string_view kEmDash = "\xE2\x80\x94";  // U+2014
constexpr std::string_view kPrivatePrefix = "PRIVATE+KEY+";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string KeyIdHex(KeyId id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", id);
  return buf;
}

// Splits "<name>+<hex>+<base64>" at the first two '+': names and hex hold no '+', base64 may.
Status SplitKey(std::string_view s, std::string_view* name, KeyId* id, std::string* payload) {
  // payload[0] is the signature type: 0x01 (note signatures) or 0x04 (tlog-cosignature/v1).
  size_t p1 = s.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : s.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {  // the base64 part may itself contain '+'
    return Status::InvalidArgument("key must have the form <name>+<8 hex digits>+<base64>");
  }
  *name = s.substr(0, p1);
  MB_RETURN_IF_ERROR(ValidateKeyName(*name));
  std::string_view hex = s.substr(p1 + 1, p2 - p1 - 1);
  if (hex.size() != 8) return Status::InvalidArgument("key ID must be 8 hex digits, got '" + std::string(hex) + "'");
  MB_ASSIGN_OR_RETURN(std::string raw, HexDecode(hex));
  *id = (uint32_t{static_cast<uint8_t>(raw[0])} << 24) | (uint32_t{static_cast<uint8_t>(raw[1])} << 16) |
        (uint32_t{static_cast<uint8_t>(raw[2])} << 8) | uint32_t{static_cast<uint8_t>(raw[3])};
  MB_ASSIGN_OR_RETURN(*payload, Base64Decode(s.substr(p2 + 1)));
  const uint8_t type = payload->empty() ? 0 : static_cast<uint8_t>((*payload)[0]);
  if (payload->size() != 33 || (type != kSigTypeEd25519 && type != kSigTypeCosignatureV1)) {
    return Status::InvalidArgument(
        "key material must be 0x01 (Ed25519 note key) or 0x04 (Ed25519 cosignature/v1 key) followed by 32 bytes");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateKeyName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("key name is empty");
  if (name.size() > 256) return Status::InvalidArgument("key name longer than 256 bytes");
  for (unsigned char c : name) {
    if (c <= 0x20 || c == 0x7f || c == '+') {
      return Status::InvalidArgument("key name '" + std::string(name) + "' contains a space, control character or '+'");
    }
  }
  if (!IsCleanUtf8(name, false)) return Status::InvalidArgument("key name is not valid UTF-8");
  // Unicode spaces beyond ASCII (U+00A0, U+2000..U+200A, U+3000 ...) are rejected too.
  for (std::string_view sp : {"\xC2\xA0", "\xE2\x80\x80", "\xE2\x80\x81", "\xE2\x80\x82", "\xE2\x80\x83",
                              "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88",
                              "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF",
                              "\xE2\x81\x9F", "\xE3\x80\x80", "\xE1\x9A\x80", "\xC2\x85"}) {
    if (name.find(sp) != std::string_view::npos) return Status::InvalidArgument("key name contains a Unicode space");
  }
  return Status::Ok();
}

KeyId ComputeKeyId(Sha256& sha, std::string_view name, uint8_t sig_type, std::string_view public_key) {
  std::string buf;
  buf.reserve(name.size() + 2 + public_key.size());
  buf.append(name);
  buf.push_back('\n');
  buf.push_back(static_cast<char>(sig_type));
  buf.append(public_key);
  Hash h = sha.Digest(buf);
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | uint32_t{h[3]};
}

Verifier::Verifier(std::string name, std::array<uint8_t, 32> public_key, uint8_t type)
    : name_(std::move(name)), pub_(public_key), type_(type) {
  Sha256 sha;
  key_id_ = ComputeKeyId(sha, name_, type_,
                         std::string_view(reinterpret_cast<const char*>(pub_.data()), pub_.size()));
}

Result<Verifier> Verifier::Parse(std::string_view vkey) {
  std::string_view name;
  KeyId id = 0;
  std::string payload;
  MB_RETURN_IF_ERROR(SplitKey(vkey, &name, &id, &payload).WithContext("verifier key"));
  std::array<uint8_t, 32> pub;
  std::memcpy(pub.data(), payload.data() + 1, 32);
  Verifier v(std::string(name), pub, static_cast<uint8_t>(payload[0]));
  if (v.key_id() != id) {
    return Status::InvalidArgument("verifier key: key ID " + KeyIdHex(id) + " does not match the key (expected " +
                                   KeyIdHex(v.key_id()) + ")");
  }
  return v;
}

std::string Verifier::ToString() const {
  std::string raw(1, static_cast<char>(type_));
  raw.append(reinterpret_cast<const char*>(pub_.data()), pub_.size());
  return name_ + "+" + KeyIdHex(key_id_) + "+" + Base64Encode(raw);
}

bool Verifier::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64) return false;
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub_.data(), pub_.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

Result<SigningKey> SigningKey::Generate(std::string name, uint8_t type) {
  MB_RETURN_IF_ERROR(ValidateKeyName(name));
  std::array<uint8_t, 32> seed;
  if (RAND_priv_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    return Status::Internal("OpenSSL RAND_priv_bytes failed");
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  std::array<uint8_t, 32> pub;
  size_t len = pub.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != 32) {
    return Status::Internal("OpenSSL Ed25519 key generation failed");
  }
  Verifier v(name, pub, type);
  return SigningKey(std::move(name), seed, std::move(v));
}

Result<SigningKey> SigningKey::Parse(std::string_view skey) {
  while (!skey.empty() && (skey.back() == '\n' || skey.back() == '\r')) skey.remove_suffix(1);
  if (skey.substr(0, kPrivatePrefix.size()) != kPrivatePrefix) {
    return Status::InvalidArgument("signing key must start with PRIVATE+KEY+");
  }
  std::string_view name;
  KeyId id = 0;
  std::string payload;
  MB_RETURN_IF_ERROR(SplitKey(skey.substr(kPrivatePrefix.size()), &name, &id, &payload).WithContext("signing key"));
  std::array<uint8_t, 32> seed;
  std::memcpy(seed.data(), payload.data() + 1, 32);
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  std::array<uint8_t, 32> pub;
  size_t len = pub.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != 32) {
    return Status::InvalidArgument("signing key: not a valid Ed25519 seed");
  }
  Verifier v(std::string(name), pub, static_cast<uint8_t>(payload[0]));
  if (v.key_id() != id) return Status::InvalidArgument("signing key: key ID does not match the key");
  return SigningKey(std::string(name), seed, std::move(v));
}

std::string SigningKey::ToString() const {
  std::string raw(1, static_cast<char>(verifier_.type()));
  raw.append(reinterpret_cast<const char*>(seed_.data()), seed_.size());
  return std::string(kPrivatePrefix) + name_ + "+" + KeyIdHex(key_id()) + "+" + Base64Encode(raw);
}

Result<std::string> SigningKey::Sign(std::string_view message) const {
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), seed_.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!pkey || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != 64) {
    return Status::Internal("OpenSSL Ed25519 signing failed");
  }
  return sig;
}

std::string SignedNote::Format() const {
  std::string out = text;
  out.push_back('\n');
  for (const NoteSignature& s : signatures) {
    std::string raw(4, '\0');
    for (int i = 0; i < 4; ++i) raw[i] = static_cast<char>(s.key_id >> (24 - 8 * i));
    raw += s.signature;
    out.append(kEmDash).append(" ").append(s.name).append(" ").append(Base64Encode(raw)).append("\n");
  }
  return out;
}

Result<SignedNote> ParseNote(std::string_view note) {
  if (note.size() > kNoteBytesMax) {
    return Status::InvalidArgument("note is " + std::to_string(note.size()) + " bytes, limit " +
                                   std::to_string(kNoteBytesMax));
  }
  if (!IsCleanUtf8(note, true)) return Status::InvalidArgument("note is not UTF-8 or contains control characters");
  if (note.empty() || note.back() != '\n') return Status::InvalidArgument("note does not end in a newline");
  // The text is separated from the signatures by the last blank line.
  size_t sep = note.rfind("\n\n");
  if (sep == std::string_view::npos) return Status::InvalidArgument("note has no blank line before its signatures");
  SignedNote out;
  out.text = std::string(note.substr(0, sep + 1));
  std::string_view sigs = note.substr(sep + 2);
  if (sigs.empty()) return Status::InvalidArgument("note has no signature lines");
  size_t line_no = 0;
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    ++line_no;
    if (out.signatures.size() == kNoteSignaturesMax) {
      return Status::InvalidArgument("note has more than " + std::to_string(kNoteSignaturesMax) + " signatures");
    }
    std::string where = "signature line " + std::to_string(line_no);
    if (line.substr(0, kEmDash.size() + 1) != std::string(kEmDash) + " ") {
      return Status::InvalidArgument(where + ": does not start with an em dash and a space");
    }
    line.remove_prefix(kEmDash.size() + 1);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return Status::InvalidArgument(where + ": missing signature after key name");
    NoteSignature s;
    s.name = std::string(line.substr(0, sp));
    MB_RETURN_IF_ERROR(ValidateKeyName(s.name).WithContext(where));
    auto raw = Base64Decode(line.substr(sp + 1));
    if (!raw.ok()) return raw.status().WithContext(where);
    if (raw->size() < 5) return Status::InvalidArgument(where + ": signature shorter than 5 bytes");
    const std::string& r = *raw;
    s.key_id = (uint32_t{static_cast<uint8_t>(r[0])} << 24) | (uint32_t{static_cast<uint8_t>(r[1])} << 16) |
               (uint32_t{static_cast<uint8_t>(r[2])} << 8) | uint32_t{static_cast<uint8_t>(r[3])};
    s.signature = r.substr(4);
    out.signatures.push_back(std::move(s));
  }
  return out;
}

Status SignNote(SignedNote& note, const SigningKey& key) {
  if (key.verifier().type() != kSigTypeEd25519) {
    return Status::InvalidArgument("key " + key.name() + " is a cosignature key; use Cosign");
  }
  MB_ASSIGN_OR_RETURN(std::string sig, key.Sign(note.text));
  note.signatures.push_back(NoteSignature{key.name(), key.key_id(), std::move(sig)});
  return Status::Ok();
}

Status VerifyNote(const SignedNote& note, const Verifier& verifier) {
  if (verifier.type() == kSigTypeCosignatureV1) return VerifyCosignature(note, verifier).status();
  bool found = false;
  for (const NoteSignature& s : note.signatures) {
    if (s.name != verifier.name() || s.key_id != verifier.key_id()) continue;
    found = true;
    if (!verifier.Verify(note.text, s.signature)) {
      return Status::Corruption("signature by " + verifier.name() + " does not verify");
    }
  }
  if (!found) return Status::Corruption("no signature by " + verifier.name() + "+" + KeyIdHex(verifier.key_id()));
  return Status::Ok();
}

namespace {
std::string CosignedMessage(const std::string& text, uint64_t timestamp) {
  return "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + text;
}
}  // namespace

Result<NoteSignature> Cosign(const std::string& text, const SigningKey& key, uint64_t timestamp) {
  if (key.verifier().type() != kSigTypeCosignatureV1) {
    return Status::InvalidArgument("key " + key.name() + " is not a cosignature/v1 key (type 0x04)");
  }
  if (timestamp > uint64_t{INT64_MAX}) return Status::InvalidArgument("cosignature timestamp exceeds 2^63-1");
  MB_ASSIGN_OR_RETURN(std::string sig, key.Sign(CosignedMessage(text, timestamp)));
  std::string raw(8, '\0');
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<char>(timestamp >> (56 - 8 * i));
  return NoteSignature{key.name(), key.key_id(), raw + sig};
}

Result<uint64_t> VerifyCosignature(const SignedNote& note, const Verifier& cosigner) {
  for (const NoteSignature& s : note.signatures) {
    if (s.name != cosigner.name() || s.key_id != cosigner.key_id()) continue;
    if (s.signature.size() != 8 + 64) {
      return Status::Corruption("cosignature by " + cosigner.name() + " is not 8 + 64 bytes");
    }
    uint64_t t = 0;
    for (int i = 0; i < 8; ++i) t = (t << 8) | static_cast<uint8_t>(s.signature[i]);
    if (t > uint64_t{INT64_MAX}) return Status::Corruption("cosignature by " + cosigner.name() + ": timestamp exceeds 2^63-1");
    if (!cosigner.Verify(CosignedMessage(note.text, t), std::string_view(s.signature).substr(8))) {
      return Status::Corruption("cosignature by " + cosigner.name() + " does not verify");
    }
    return t;
  }
  return Status::NotFound("no cosignature by " + cosigner.name() + "+" + KeyIdHex(cosigner.key_id()));
}

std::string Checkpoint::Body() const {
  std::string out = origin + "\n" + std::to_string(size) + "\n" + Base64Encode(root) + "\n";
  for (const std::string& e : extensions) out += e + "\n";
  return out;
}

Result<Checkpoint> Checkpoint::Parse(std::string_view body) {
  if (body.empty() || body.back() != '\n') return Status::InvalidArgument("checkpoint does not end in a newline");
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    lines.push_back(body.substr(start, nl - start));
    start = nl + 1;
  }
  if (lines.size() < 3) return Status::InvalidArgument("checkpoint needs origin, size and root lines");
  Checkpoint cp;
  if (lines[0].empty()) return Status::InvalidArgument("checkpoint line 1: empty origin");
  cp.origin = std::string(lines[0]);
  std::string_view sz = lines[1];
  if (sz.empty() || sz.size() > 20 || (sz.size() > 1 && sz[0] == '0')) {
    return Status::InvalidArgument("checkpoint line 2: tree size must be a decimal number without leading zeros");
  }
  auto [ptr, ec] = std::from_chars(sz.data(), sz.data() + sz.size(), cp.size);
  if (ec != std::errc() || ptr != sz.data() + sz.size()) {
    return Status::InvalidArgument("checkpoint line 2: tree size '" + std::string(sz) + "' is not a 64-bit decimal");
  }
  auto root = HashFromBase64(lines[2]);
  if (!root.ok()) return root.status().WithContext("checkpoint line 3: root hash");
  cp.root = *root;
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return Status::InvalidArgument("checkpoint line " + std::to_string(i + 1) + ": empty extension line");
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

}  // namespace minhbach
