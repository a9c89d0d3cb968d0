#include "minhbach/status.h"

namespace minhbach {

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: name = "Invalid argument"; break;
    case Code::kNotFound: name = "Not found"; break;
    case Code::kCorruption: name = "Corruption"; break;
    case Code::kIOError: name = "IO error"; break;
    case Code::kInternal: name = "Internal error"; break;
  }
  return std::string(name) + ": " + message_;
}

int Status::ExitCode() const {
  switch (code_) {
    case Code::kOk: return 0;
    case Code::kCorruption: return 1;
    case Code::kInvalidArgument:
    case Code::kNotFound: return 2;
    case Code::kIOError:
    case Code::kInternal: return 3;
  }
  return 3;
}

}  // namespace minhbach
