// The built-in demo data set for `minhbach demo`.
#pragma once

#include <vector>

#include "minhbach/entry.h"

namespace minhbach::demo {

// A small, realistic sequence of generic events (the domain catalogue replaces these with typed events).
std::vector<EventDraft> DemoEvents();

}  // namespace minhbach::demo
