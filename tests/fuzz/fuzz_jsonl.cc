// libFuzzer target: JSON Lines events (untrusted administrator input). Properties: never crashes; every
// accepted draft is a valid draft-form entry, and printing it back as a JSON line parses to the same draft.
#include <cstdlib>

#include "minhbach/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto drafts = minhbach::ParseJsonLines(in);
  if (!drafts.ok()) return 0;
  for (const auto& d : *drafts) {
    if (!minhbach::EntryReader::OpenDraft(d.payload).ok()) std::abort();
    auto again = minhbach::ParseJsonLine(minhbach::DraftToJsonLine(d), 1);
    if (!again.ok() || !(*again == d)) std::abort();
  }
  return 0;
}
