// libFuzzer target: child proofs and bundle manifests (files an inspector is handed). Property: never crashes;
// a parsed manifest survives a round trip.
#include <cstdlib>

#include "minhbach/bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)minhbach::VerifyChildProof(in, std::nullopt);
  auto m = minhbach::BundleManifest::Parse(in);
  if (m.ok()) {
    auto again = minhbach::BundleManifest::Parse(m->ToJson());
    if (!again.ok() || again->ToJson() != m->ToJson()) std::abort();
  }
  return 0;
}
