// The portal's files, embedded at build time (embed.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace minhbach::serve {

struct PortalAsset {
  std::string_view name;  // file name in tools/serve/portal/
  std::string_view data;
};
const std::vector<PortalAsset>& PortalAssets();

}  // namespace minhbach::serve
