// Synthetic event generator for benchmarks: realistic payment notes of ~230 canonical bytes.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "minhbach/entry.h"

namespace minhbach::bench {

inline std::vector<EventDraft> SyntheticEvents(uint64_t first, size_t n, std::mt19937_64& rng) {
  static const char* kSubjects[] = {"Sponsorship instalment: child C-%04llu, 2022-%02llu",
                                    "Donation received: donor D-%05llu, ref FT24%06llu",
                                    "One-off support (Resolution 68/NQ-CP): child C-%04llu, batch %llu",
                                    "Allowance (Decree 20/2021): child C-%04llu, month %llu"};
  std::vector<EventDraft> out;
  out.reserve(n);
  char subject[128];
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = rng();
    std::snprintf(subject, sizeof subject, kSubjects[r % 4], static_cast<unsigned long long>(r % 9973),
                  static_cast<unsigned long long>(1 + r % 12));
    out.push_back(NoteDraft("bench-" + std::to_string(first + i), subject, static_cast<int64_t>(1000 * (1 + r % 20000)),
                            "guardian G-" + std::to_string(r % 99991)));
  }
  return out;
}

}  // namespace minhbach::bench
