// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78; RFC 3720 appendix B.4): the checksum of the
// vault's frames (docs/format/storage.md section 7). Hardware instruction on x86-64 with SSE 4.2, a table
// elsewhere; both give the same value. Crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace minhbach {

// Extends `crc` (the CRC-32C of the bytes before; 0 for none) with `n` bytes.
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(std::string_view s) { return Crc32c(0, s.data(), s.size()); }

}  // namespace minhbach
