// libFuzzer target: JSON Lines events (untrusted administrator input). Properties: never crashes; every
// accepted draft is a valid draft-form entry, and printing it back as a JSON line parses to the same draft
// (the same payload once each sealed plaintext's random marker is set aside, the same sealed plaintexts).
#include <cstdlib>
#include <cstring>

#include "minhbach/entry.h"

namespace {

// The draft with every sealed field's marker zeroed in the payload (markers are random per parse).
minhbach::EventDraft WithoutMarkers(minhbach::EventDraft d) {
  for (auto& f : d.sealed) {
    const std::string_view m(reinterpret_cast<const char*>(f.marker.data()), f.marker.size());
    const size_t at = d.payload.find(m);
    if (at == std::string::npos) std::abort();  // every sealed field has its marker in the payload
    std::memset(d.payload.data() + at, 0, f.marker.size());
    f.marker = minhbach::Hash{};
  }
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto drafts = minhbach::ParseJsonLines(in);
  if (!drafts.ok()) return 0;
  for (const auto& d : *drafts) {
    if (!minhbach::EntryReader::OpenDraft(d.payload).ok()) std::abort();
    auto again = minhbach::ParseJsonLine(minhbach::DraftToJsonLine(d), 1);
    if (!again.ok() || !(WithoutMarkers(*again) == WithoutMarkers(d))) std::abort();
  }
  return 0;
}
