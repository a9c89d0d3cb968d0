// libFuzzer target: amounts, months and dates typed by people. Properties: never crashes; a parsed month
// formats back to the same text.
#include <cstdlib>

#include "minhbach/money.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto a = minhbach::ParseHumanAmount(in);
  if (a.ok() && *a < 0) std::abort();
  auto m = minhbach::ParseMonth(in);
  if (m.ok() && minhbach::FormatMonth(*m) != in) std::abort();
  (void)minhbach::CheckDate(in);
  return 0;
}
