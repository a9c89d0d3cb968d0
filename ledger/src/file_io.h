// The POSIX side of minhbach/files.h, and the one way errno becomes a Status.
#pragma once

#include <string>

#include "minhbach/files.h"
#include "minhbach/status.h"

namespace minhbach {

// An IOError naming `what` and errno's text.
Status ErrnoStatus(const std::string& what);

}  // namespace minhbach
