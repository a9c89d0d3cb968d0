// A realistic synthetic log for the read-side and audit benchmarks: a provincial fund over 10 years.
//
//   - 50,000 children (pseudonymous), born 2000-2016; 60% have a Decree 20 allowance entitlement paid monthly
//     from the social-protection programme until they turn 18;
//   - 10% are sponsored (500,000-2,000,000 VND a month, from a start month until 18), instalments paid
//     monthly from the sponsorship programme, which the sponsors fund every month;
//   - 20,000 donors; public donations with a long tail of small amounts (most 50,000-500,000 VND, a few
//     hundred millions), 30% for the gift programme, the rest unrestricted; unrestricted money is spent as gifts
//     to children and bank fees, so the fund never holds years of unspent lots;
//   - the state budget funds the allowances each month.
//
// Every event passes the domain invariants. Events come month by month; Next(n) returns the next n drafts.
#pragma once

#include <cmath>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "minhbach/entry.h"

namespace minhbach::bench {

class RealisticStream {
 public:
  struct Shape {
    int children = 50'000;
    int donors = 20'000;
    int first_year = 2015;
    int donations_per_month = 45'000;
    uint64_t seed = 42;
  };
  explicit RealisticStream(Shape s) : s_(s), rng_(s.seed) {}

  // The next n events (fewer only if the 10 years are over).
  std::vector<EventDraft> Next(size_t n) {
    std::vector<EventDraft> out;
    out.reserve(n);
    while (out.size() < n) {
      if (pending_.empty() && !Refill()) break;
      out.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    return out;
  }
  int month_index() const { return month_; }

 private:
  struct Child {
    int birth;        // months since year 0
    int allowance_from = -1;
    int sponsor = -1;  // donor index
    int64_t sponsorship_amount = 0;
    int sponsorship_from = -1;
  };

  static std::string Month(int m) {
    char b[16];
    std::snprintf(b, sizeof b, "%04d-%02d", m / 12, m % 12 + 1);
    return b;
  }
  std::string Cid(int c) const { return "C-" + std::to_string(c); }

  void Add(const char* type, const std::string& data) {
    std::string line = std::string(R"({"type":")") + type + R"(","idempotency_key":"ev-)" + std::to_string(++key_) +
                       R"(","data":)" + data + "}";
    auto d = ParseJsonLine(line, key_);
    if (!d.ok()) {
      std::fprintf(stderr, "synthetic event rejected: %s\n", d.status().ToString().c_str());
      std::exit(3);
    }
    pending_.push_back(std::move(d).value());
  }

  void Setup() {
    Add("fund_opened", R"({"fund":"F-QNG","name":"Quỹ Bảo trợ trẻ em tỉnh Quảng Ngãi","organisation":"Sở LĐTBXH","currency":"VND"})");
    Add("programme_opened", R"({"programme":"P-TCXH","fund":"F-QNG","name":"Trợ cấp xã hội hằng tháng","legal_basis":"Nghị định 20/2021/NĐ-CP"})");
    Add("programme_opened", R"({"programme":"P-SPON","fund":"F-QNG","name":"Đỡ đầu trẻ em","legal_basis":"Quyết định của Quỹ"})");
    Add("programme_opened", R"({"programme":"P-GIFT","fund":"F-QNG","name":"Quà cho trẻ em","legal_basis":"Quyết định của Quỹ"})");
    Add("donor_registered", R"({"donor":"D-BUDGET","display_name":"Ngân sách tỉnh","kind":"state_budget"})");
    for (int d = 0; d < s_.donors; ++d) {
      if (d % 3 == 0) {
        Add("donor_registered", R"({"donor":"D-)" + std::to_string(d) + R"(","kind":"individual"})");
      } else {
        Add("donor_registered", R"({"donor":"D-)" + std::to_string(d) + (d % 7 == 0 ? R"(","display_name":"Công ty )" : R"(","name":"Nhà hảo tâm )") + std::to_string(d) +
                                    R"(","kind":")" + (d % 7 == 0 ? "organisation" : "individual") + R"("})");
      }
    }
    Add("allowance_rate_set", R"({"table":"ND20","effective_from":")" + Month(start_) +
                                  R"(","base_amount":360000,"legal_basis":"Nghị định 20/2021/NĐ-CP"})");
    const int start = start_;
    for (int c = 0; c < s_.children; ++c) {
      Child ch;
      ch.birth = (2000 + static_cast<int>(rng_() % 17)) * 12 + static_cast<int>(rng_() % 12);
      uint64_t r = rng_() % 100;
      if (r < 60) ch.allowance_from = start + static_cast<int>(rng_() % 60);
      if (r >= 60 && r < 70) {
        ch.sponsor = static_cast<int>(rng_() % 2000);
        ch.sponsorship_amount = 500'000 * (1 + static_cast<int64_t>(rng_() % 4));
        ch.sponsorship_from = start + static_cast<int>(rng_() % 60);
      }
      // Only children still under 18 when their support would start.
      if (ch.allowance_from >= ch.birth + 18 * 12) ch.allowance_from = -1;
      if (ch.sponsorship_from >= ch.birth + 18 * 12) ch.sponsor = -1;
      children_.push_back(ch);
      Add("child_registered", R"({"child":")" + Cid(c) + R"(","birth_month":")" + Month(ch.birth) +
                                  R"(","area":"51.522","categories":[")" + (r % 2 ? "orphaned_one_parent" : "abandoned") + R"("]})");
    }
  }

  // One month's events.
  void MonthEvents(int m) {
    const std::string mm = Month(m);
    char date[16];
    std::snprintf(date, sizeof date, "%s-05", mm.c_str());
    // Entitlements and sponsorship agreements that start this month.
    for (int c = 0; c < s_.children; ++c) {
      const Child& ch = children_[c];
      if (ch.allowance_from == m) {
        Add("entitlement_determined", R"({"child":")" + Cid(c) + R"(","table":"ND20","category":"orphaned_one_parent","coefficient_milli":2500,"decision":")" +
                                          std::to_string(c) + R"(/QĐ-UBND","from_month":")" + mm + R"("})");
      }
      if (ch.sponsor >= 0 && ch.sponsorship_from == m) {
        Add("sponsorship_agreed", R"({"sponsorship":"SP-)" + std::to_string(c) + R"(","sponsor":"D-)" + std::to_string(ch.sponsor) +
                                      R"(","child":")" + Cid(c) + R"(","fund":"F-QNG","monthly_amount":)" +
                                      std::to_string(ch.sponsorship_amount) + R"(,"first_month":")" + mm + R"(","payment_day":10})");
      }
    }
    // Money in: the budget for the allowances, the sponsors for their children, the public.
    int64_t allowances = 0, sponsorships = 0;
    for (const Child& ch : children_) {
      if (ch.allowance_from >= 0 && m >= ch.allowance_from && m < ch.birth + 18 * 12) allowances += 900'000;
      if (ch.sponsor >= 0 && m >= ch.sponsorship_from && m < ch.birth + 18 * 12) sponsorships += ch.sponsorship_amount;
    }
    if (allowances > 0) {
      Add("donation_received", R"({"fund":"F-QNG","donor":"D-BUDGET","restriction":"programme","restricted_to":"P-TCXH","value_date":")" +
                                   std::string(date) + R"(","cash":{"channel":"treasury","amount":)" + std::to_string(allowances) + "}}");
    }
    if (sponsorships > 0) {
      Add("donation_received", R"({"fund":"F-QNG","donor":"D-1","restriction":"programme","restricted_to":"P-SPON","value_date":")" +
                                   std::string(date) + R"(","cash":{"channel":"bank","bank_ref":"SP)" + mm + R"(","amount":)" +
                                   std::to_string(sponsorships) + "}}");
    }
    std::lognormal_distribution<double> tail(12.2, 1.1);  // median ~200,000 VND, long right tail
    for (int i = 0; i < s_.donations_per_month; ++i) {
      int64_t amount = std::max<int64_t>(10'000, static_cast<int64_t>(tail(rng_)) / 1000 * 1000);
      amount = std::min<int64_t>(amount, 500'000'000);
      bool gift = rng_() % 10 < 3;
      (gift ? gift_ : free_) += amount;
      Add("donation_received", R"({"fund":"F-QNG","donor":"D-)" + std::to_string(rng_() % s_.donors) + R"(",)" +
                                   (gift ? R"("restriction":"programme","restricted_to":"P-GIFT",)" : "") + R"("value_date":")" +
                                   std::string(date) + R"(","cash":{"channel":"bank","bank_ref":"FT)" + std::to_string(rng_() % 100000000) +
                                   R"(","amount":)" + std::to_string(amount) + "}}");
    }
    // Money out: allowances, instalments, gifts from the gift programme and from unrestricted money, fees.
    for (int c = 0; c < s_.children; ++c) {
      const Child& ch = children_[c];
      if (ch.allowance_from >= 0 && m >= ch.allowance_from && m < ch.birth + 18 * 12) {
        Add("disbursement", R"({"fund":"F-QNG","child":")" + Cid(c) + R"(","kind":"monthly_allowance","month":")" + mm +
                                R"(","paid_from":"programme","programme":"P-TCXH","amount":900000,"method":"bank"})");
      }
      if (ch.sponsor >= 0 && m >= ch.sponsorship_from && m < ch.birth + 18 * 12) {
        Add("disbursement", R"({"fund":"F-QNG","child":")" + Cid(c) + R"(","kind":"sponsorship_instalment","sponsorship":"SP-)" +
                                std::to_string(c) + R"(","month":")" + mm + R"(","paid_from":"programme","programme":"P-SPON","amount":)" +
                                std::to_string(ch.sponsorship_amount) + R"(,"method":"bank"})");
      }
    }
    auto gifts = [&](int64_t* pot, bool programme) {
      while (*pot >= 2'000'000) {
        *pot -= 2'000'000;
        Add("disbursement", R"({"fund":"F-QNG","child":")" + Cid(static_cast<int>(rng_() % s_.children)) +
                                R"(","kind":"gift","amount":2000000,"method":"bank",)" +
                                (programme ? R"("paid_from":"programme","programme":"P-GIFT"})" : R"("programme":"P-GIFT"})"));
      }
    };
    gifts(&gift_, true);
    if (free_ > 200'000) {
      Add("expense", R"({"fund":"F-QNG","category":"bank_fee","amount":200000,"description":"Phí ngân hàng )" + mm + R"("})");
      free_ -= 200'000;
    }
    gifts(&free_, false);
  }

  bool Refill() {
    if (month_ < 0) {
      Setup();
      month_ = 0;
      return true;
    }
    if (month_ >= 120) return false;
    MonthEvents(start_ + month_);
    ++month_;
    return true;
  }

  Shape s_;
  std::mt19937_64 rng_;
  std::deque<EventDraft> pending_;
  std::vector<Child> children_;
  int start_ = 2015 * 12;
  int month_ = -1;
  uint64_t key_ = 0;
  int64_t gift_ = 0, free_ = 0;
};

}  // namespace minhbach::bench
