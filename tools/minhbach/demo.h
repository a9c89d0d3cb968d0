// The built-in demo for `minhbach demo`: a provincial child-sponsorship fund, with figures taken from
// published reports (24 Covid-19 orphans sponsored at 2,000,000 VND a month until 18; 1,710 children paid
// 1,000,000 VND under Resolution 68/NQ-CP; 400 pupils given 1,000,000 VND and a 200,000 VND gift pack;
// 90 bicycles; savings books 4 x 10,000,000 and 2 x 5,000,000 VND; Decree 20/2021 monthly allowances for
// ten children; named and anonymous donors; one correction by reversal).
#pragma once

#include <vector>

#include "minhbach/entry.h"

namespace minhbach::demo {

// The main batch (one atomic append).
Result<std::vector<EventDraft>> DemoEvents();
// The correction: reverses entry `wrong_seq` (the duplicate gift) and pays the right pupil.
Result<std::vector<EventDraft>> DemoCorrection(uint64_t wrong_seq);
// Idempotency key, within DemoEvents(), of the mistaken gift payment (pupil 399 paid instead of 400).
inline constexpr const char* kDemoMistakeKey = "demo-gift-0400";

}  // namespace minhbach::demo
