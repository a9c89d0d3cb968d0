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

namespace minhbach::bench {

// A realistic domain stream: one fund with a programme, `children` registered children and 50 donors
// (setup), then batches where donations (about 30%) keep the money flowing and disbursements (about 70%,
// one-off support, gifts, instalment-like payments) spend it, so every event passes the invariants.
class DomainStream {
 public:
  explicit DomainStream(int children) : children_(children) {}
  std::vector<EventDraft> Setup() {
    std::vector<std::string> lines;
    lines.push_back(Line("fund_opened", R"({"fund":"F-QNG","name":"Quỹ Bảo trợ trẻ em tỉnh Quảng Ngãi","organisation":"Sở LĐTBXH","currency":"VND"})"));
    lines.push_back(Line("programme_opened", R"({"programme":"P-NQ68","fund":"F-QNG","name":"Nghị quyết 68","legal_basis":"Nghị quyết 68/NQ-CP"})"));
    for (int d = 0; d < 50; ++d) {
      lines.push_back(Line("donor_registered", R"({"donor":"D-)" + std::to_string(d) + R"(","name":"Nhà hảo tâm )" +
                                                   std::to_string(d) + R"(","kind":"individual"})"));
    }
    for (int c = 0; c < children_; ++c) {
      lines.push_back(Line("child_registered", R"({"child":"C-)" + std::to_string(c) +
                                                   R"(","birth_month":"2012-05","area":"51.522","categories":["orphaned_one_parent"]})"));
    }
    return Parse(lines);
  }
  std::vector<EventDraft> Batch(size_t n, std::mt19937_64& rng) {
    std::vector<std::string> lines;
    for (size_t i = 0; i < n; ++i) {
      uint64_t r = rng();
      if (r % 10 < 3 || balance_ < 5'000'000) {
        int64_t amount = 1'000'000 * (1 + static_cast<int64_t>(r % 20));
        balance_ += amount;
        lines.push_back(Line("donation_received", R"({"fund":"F-QNG","donor":"D-)" + std::to_string(r % 50) +
                                                      R"(","restriction":"programme","restricted_to":"P-NQ68","value_date":"2022-06-15","cash":{"channel":"bank","bank_ref":"FT22166)" +
                                                      std::to_string(r % 1000000) + R"(","amount":)" + std::to_string(amount) + "}}"));
      } else {
        balance_ -= 1'000'000;
        lines.push_back(Line("disbursement", R"({"fund":"F-QNG","child":"C-)" + std::to_string(r % children_) +
                                                 R"(","guardian":"G-)" + std::to_string(r % children_) +
                                                 R"(","kind":"one_off_support","paid_from":"programme","programme":"P-NQ68","amount":1000000,"method":"bank"})"));
      }
    }
    return Parse(lines);
  }

 private:
  std::string Line(const char* type, const std::string& data) {
    return std::string(R"({"type":")") + type + R"(","idempotency_key":"ev-)" + std::to_string(++key_) + R"(","data":)" + data + "}";
  }
  static std::vector<EventDraft> Parse(const std::vector<std::string>& lines) {
    std::vector<EventDraft> out;
    out.reserve(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      auto d = ParseJsonLine(lines[i], i + 1);
      if (!d.ok()) {
        std::fprintf(stderr, "synthetic event rejected: %s\n", d.status().ToString().c_str());
        std::exit(3);
      }
      out.push_back(std::move(d).value());
    }
    return out;
  }
  int children_;
  uint64_t key_ = 0;
  int64_t balance_ = 0;
};

}  // namespace minhbach::bench
