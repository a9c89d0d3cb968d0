// SHA-256 and the RFC 9162 Merkle hashing rules. See docs/format/merkle.md.
//
//   leaf hash  = SHA-256(0x00 || entry bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   empty tree = SHA-256("")
//
// A Sha256 object is not thread-safe (use one per thread). Hashing uses OpenSSL's SHA256_* functions
// (see hash.cc for why not EVP on this path). Hashing never fails except on an OpenSSL internal error, which aborts: a
// silently wrong hash would be worse than a crash.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "minhbach/status.h"


namespace minhbach {

using Hash = std::array<uint8_t, 32>;
inline constexpr size_t kHashSize = 32;

class Sha256 {
 public:
  Sha256() = default;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // SHA-256 of the concatenation of the given parts.
  Hash Digest(std::string_view data);
  Hash Digest2(uint8_t prefix, std::string_view data);
  // RFC 9162 leaf hash: SHA-256(0x00 || data).
  Hash Leaf(std::string_view data) { return Digest2(0x00, data); }
  // RFC 9162 interior node hash: SHA-256(0x01 || left || right).
  Hash Node(const Hash& left, const Hash& right);
  // The same digest through OpenSSL's one-shot EVP interface (tests check both agree).
  Hash DigestEvp(std::string_view data);
  // SHA-256 of the empty string: the root of the empty tree.
  static Hash Empty();
};

std::string HexEncode(std::string_view bytes);
inline std::string HexEncode(const Hash& h) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}
Result<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view bytes);
inline std::string Base64Encode(const Hash& h) {
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}
// Strict standard base64 (RFC 4648 section 4, with padding); rejects whitespace and bad padding.
Result<std::string> Base64Decode(std::string_view b64);
// Decodes a base64 hash; fails unless exactly 32 bytes.
Result<Hash> HashFromBase64(std::string_view b64);
inline std::string_view AsView(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}
inline Hash HashFromBytes(const void* p) {
  Hash h;
  std::memcpy(h.data(), p, kHashSize);
  return h;
}

}  // namespace minhbach
