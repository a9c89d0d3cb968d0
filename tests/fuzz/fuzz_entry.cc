// libFuzzer target: Cap'n Proto entries read back from disk or a bundle (untrusted bytes). Properties: never
// crashes (traversal and nesting limits hold); an accepted entry re-encodes to exactly the same bytes.
#include <cstdlib>

#include "minhbach/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto reader = minhbach::EntryReader::Open(in);
  auto decoded = minhbach::DecodeEntry(in);
  if (reader.ok() != decoded.ok()) std::abort();
  if (!decoded.ok()) return 0;
  auto bytes = minhbach::EncodeEntry(*decoded);
  if (!bytes.ok() || *bytes != in) std::abort();
  (void)minhbach::EntryToJson(*decoded);
  return 0;
}
