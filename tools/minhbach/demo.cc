#include "demo.h"

#include <nlohmann/json.hpp>
#include <string>

namespace minhbach::demo {
namespace {

using nlohmann::json;

// Builds the demo through the same JSON Lines parser an administrator's file goes through.
class Builder {
 public:
  // Free texts that name nobody (valuation bases, fee descriptions) are published; the others go to the vault.
  void Add(const std::string& key, const std::string& type, json data) {
    json pub = json::array();
    for (const char* f : {"description", "memo"}) {
      if (data.contains(f)) pub.push_back(f);
    }
    if (data.contains("in_kind") && data["in_kind"].contains("valuation_basis")) pub.push_back("in_kind.valuation_basis");
    json line = {{"type", type}, {"idempotency_key", "demo-" + key}, {"data", std::move(data)}};
    if (!pub.empty()) line["public"] = pub;
    auto d = ParseJsonLine(line.dump(), ++line_);
    if (!d.ok()) {
      status_ = d.status();
      return;
    }
    events_.push_back(std::move(d).value());
  }
  Result<std::vector<EventDraft>> Take() {
    if (!status_.ok()) return status_;
    return std::move(events_);
  }

 private:
  std::vector<EventDraft> events_;
  size_t line_ = 0;
  Status status_;
};

std::string Id(const char* prefix, int n, int width = 4) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%0*d", prefix, width, n);
  return buf;
}

std::string Month(int y, int m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
  return buf;
}

}  // namespace

Result<std::vector<EventDraft>> DemoEvents() {
  Builder b;
  const std::string F = "F-QNG";
  b.Add("fund", "fund_opened",
        {{"fund", F}, {"name", "Quỹ Bảo trợ trẻ em tỉnh Quảng Ngãi"},
         {"organisation", "Sở Lao động - Thương binh và Xã hội tỉnh Quảng Ngãi"}, {"currency", "VND"}});
  b.Add("p-covid", "programme_opened",
        {{"programme", "P-COVID"}, {"fund", F}, {"name", "Đỡ đầu trẻ em mồ côi do Covid-19"},
         {"legal_basis", "Chương trình đỡ đầu trẻ mồ côi do đại dịch Covid-19: 2.000.000 đồng/tháng đến 18 tuổi"}});
  b.Add("p-nq68", "programme_opened",
        {{"programme", "P-NQ68"}, {"fund", F}, {"name", "Hỗ trợ trẻ em theo Nghị quyết 68/NQ-CP"},
         {"legal_basis", "Nghị quyết 68/NQ-CP ngày 01/7/2021 của Chính phủ"},
         {"receive_from", "2021-07-01"}, {"receive_until", "2021-12-31"}});
  b.Add("p-gift", "programme_opened",
        {{"programme", "P-GIFT"}, {"fund", F}, {"name", "Quà Trung thu cho học sinh có hoàn cảnh đặc biệt"},
         {"legal_basis", "Kế hoạch vận động của Quỹ năm 2022"}});
  b.Add("p-kind", "programme_opened",
        {{"programme", "P-KIND"}, {"fund", F}, {"name", "Xe đạp và sổ tiết kiệm"},
         {"legal_basis", "Kế hoạch vận động của Quỹ năm 2022"}});

  b.Add("d-budget", "donor_registered", {{"donor", "D-BUDGET"}, {"display_name", "Ngân sách tỉnh Quảng Ngãi"}, {"kind", "state_budget"}});
  b.Add("d-minhphat", "donor_registered", {{"donor", "D-MINHPHAT"}, {"display_name", "Công ty TNHH Minh Phát"}, {"kind", "organisation"}});
  b.Add("d-redcross", "donor_registered", {{"donor", "D-REDCROSS"}, {"display_name", "Hội Chữ thập đỏ tỉnh"}, {"kind", "organisation"}});
  b.Add("d-bank", "donor_registered", {{"donor", "D-BANK"}, {"display_name", "Ngân hàng TMCP Sài Gòn"}, {"kind", "organisation"}});
  for (int i = 1; i <= 5; ++i) b.Add(Id("d-anon", i), "donor_registered", {{"donor", Id("D-ANON", i)}, {"kind", "individual"}});

  // 24 children orphaned by Covid-19, sponsored at 2,000,000 VND a month until they turn 18.
  for (int i = 1; i <= 24; ++i) {
    b.Add(Id("c-covid", i, 2), "child_registered",
          {{"child", Id("C-CV", i, 2)}, {"birth_month", Month(2006 + i % 15, 1 + i % 12)}, {"area", "51.522"},
           {"categories", i % 5 == 0 ? json::array({"orphaned_both_parents"}) : json::array({"orphaned_one_parent"})}});
  }
  // 1,710 children paid under Resolution 68/NQ-CP; 400 pupils receiving Mid-Autumn gifts.
  for (int i = 1; i <= 1710; ++i) {
    b.Add(Id("c-nq68", i), "child_registered",
          {{"child", Id("C-NQ", i)}, {"birth_month", Month(2005 + i % 16, 1 + i % 12)}, {"area", "51." + std::to_string(520 + i % 14)},
           {"categories", json::array({i % 9 == 0 ? "disabled" : "without_caregiver"})}});
  }
  for (int i = 1; i <= 400; ++i) {
    b.Add(Id("c-hs", i), "child_registered",
          {{"child", Id("C-HS", i)}, {"birth_month", Month(2008 + i % 10, 1 + i % 12)}, {"area", "51.525"},
           {"categories", json::array({"dropped_out_to_work"})}});
  }

  // Money in.
  b.Add("don-budget", "donation_received",
        {{"fund", F}, {"donor", "D-BUDGET"}, {"restriction", "programme"}, {"restricted_to", "P-NQ68"},
         {"value_date", "2021-09-10"}, {"cash", {{"channel", "treasury"}, {"amount", 1'710'000'000}}}});
  b.Add("don-minhphat", "donation_received",
        {{"fund", F}, {"donor", "D-MINHPHAT"}, {"restriction", "programme"}, {"restricted_to", "P-COVID"},
         {"value_date", "2022-01-05"}, {"cash", {{"channel", "bank"}, {"bank_ref", "FT22005123456"}, {"amount", 300'000'000}}}});
  b.Add("don-redcross", "donation_received",
        {{"fund", F}, {"donor", "D-REDCROSS"}, {"restriction", "child"}, {"restricted_to", "C-CV-07"},
         {"value_date", "2022-01-06"}, {"cash", {{"channel", "bank"}, {"bank_ref", "FT22006000777"}, {"amount", 48'000'000}}}});
  b.Add("don-gift", "donation_received",
        {{"fund", F}, {"donor", "D-BANK"}, {"restriction", "programme"}, {"restricted_to", "P-GIFT"},
         {"value_date", "2022-09-01"}, {"cash", {{"channel", "bank"}, {"bank_ref", "FT22244009999"}, {"amount", 400'000'000}}}});
  b.Add("don-giftpack", "donation_received",
        {{"fund", F}, {"donor", "D-BANK"}, {"value_date", "2022-09-01"},
         {"in_kind", {{"item", "gift-pack"}, {"quantity", 400}, {"unit", "pack"}, {"unit_value", 200'000},
                      {"valuation_basis", "Invoice of the supplier, 200.000 đồng/phần quà"}}}});
  b.Add("don-bicycles", "donation_received",
        {{"fund", F}, {"donor", "D-MINHPHAT"}, {"value_date", "2022-08-20"},
         {"in_kind", {{"item", "bicycle"}, {"quantity", 90}, {"unit", "piece"}, {"unit_value", 1'800'000},
                      {"valuation_basis", "Donor's declared purchase price"}}}});
  b.Add("don-book10", "donation_received",
        {{"fund", F}, {"donor", "D-BANK"}, {"value_date", "2022-08-20"},
         {"in_kind", {{"item", "savings-book-10m"}, {"quantity", 4}, {"unit", "book"}, {"unit_value", 10'000'000},
                      {"valuation_basis", "Face value of the savings book"}}}});
  b.Add("don-book5", "donation_received",
        {{"fund", F}, {"donor", "D-BANK"}, {"value_date", "2022-08-20"},
         {"in_kind", {{"item", "savings-book-5m"}, {"quantity", 2}, {"unit", "book"}, {"unit_value", 5'000'000},
                      {"valuation_basis", "Face value of the savings book"}}}});
  for (int i = 1; i <= 5; ++i) {
    b.Add(Id("don-anon", i), "donation_received",
          {{"fund", F}, {"donor", Id("D-ANON", i)}, {"value_date", "2022-02-1" + std::to_string(i)},
           {"cash", {{"channel", "bank"}, {"bank_ref", "MBVCB." + std::to_string(1000 + i)}, {"amount", 500'000 * i}}}});
  }

  // Sponsorships and six monthly instalments (one child's last two months still unpaid: arrears).
  for (int i = 1; i <= 24; ++i) {
    b.Add(Id("sp", i, 2), "sponsorship_agreed",
          {{"sponsorship", Id("SP", i, 2)}, {"sponsor", "D-MINHPHAT"}, {"child", Id("C-CV", i, 2)}, {"fund", F},
           {"monthly_amount", 2'000'000}, {"first_month", "2022-01"}, {"payment_day", 10}});
    for (int m = 1; m <= 6; ++m) {
      if (i == 24 && m >= 5) continue;
      json d = {{"fund", F}, {"child", Id("C-CV", i, 2)}, {"guardian", Id("G-CV", i, 2)}, {"kind", "sponsorship_instalment"},
                {"sponsorship", Id("SP", i, 2)}, {"month", Month(2022, m)}, {"amount", 2'000'000}, {"method", "bank"}};
      // Child C-CV-07's instalments come from money given for that child; the others from the programme.
      if (i == 7) {
        d["paid_from"] = "child";
      } else {
        d["paid_from"] = "programme";
        d["programme"] = "P-COVID";
      }
      b.Add(Id("sp", i, 2) + "-" + Month(2022, m), "disbursement", d);
    }
  }
  // Resolution 68: 1,000,000 VND to each of 1,710 children (one event per child).
  for (int i = 1; i <= 1710; ++i) {
    b.Add(Id("nq68", i), "disbursement",
          {{"fund", F}, {"child", Id("C-NQ", i)}, {"kind", "one_off_support"}, {"paid_from", "programme"},
           {"programme", "P-NQ68"}, {"amount", 1'000'000}, {"method", "cash"}});
  }
  // Mid-Autumn: 1,000,000 VND cash plus a 200,000 VND gift pack to each of 400 pupils. Pupil 399 was paid
  // twice by mistake (instead of pupil 400): the extra payment is reversed and pupil 400 is paid.
  for (int i = 1; i <= 400; ++i) {
    std::string child = Id("C-HS", i == 400 ? 399 : i);
    b.Add(Id("gift", i), "disbursement",
          {{"fund", F}, {"child", child}, {"kind", "gift"}, {"paid_from", "programme"}, {"programme", "P-GIFT"},
           {"amount", 1'000'000}, {"method", "cash"}});
    b.Add(Id("giftpack", i), "disbursement",
          {{"fund", F}, {"child", Id("C-HS", i)}, {"kind", "in_kind_distribution"}, {"item", "gift-pack"},
           {"quantity", 1}, {"method", "in_kind"}});
  }
  // Bicycles for 90 pupils, savings books for six orphans.
  for (int i = 1; i <= 90; ++i) {
    b.Add(Id("bike", i), "disbursement",
          {{"fund", F}, {"child", Id("C-HS", i)}, {"kind", "in_kind_distribution"}, {"item", "bicycle"},
           {"quantity", 1}, {"method", "in_kind"}});
  }
  for (int i = 1; i <= 6; ++i) {
    b.Add(Id("book", i), "disbursement",
          {{"fund", F}, {"child", Id("C-CV", i, 2)}, {"kind", "in_kind_distribution"},
           {"item", i <= 4 ? "savings-book-10m" : "savings-book-5m"}, {"quantity", 1}, {"method", "in_kind"}});
  }
  // Monthly social allowances under Decree 20/2021/NĐ-CP for ten of the orphans: coefficient 2.5 x base
  // 360,000 VND = 900,000 VND a month, paid from the provincial budget's allocation.
  b.Add("p-tcxh", "programme_opened",
        {{"programme", "P-TCXH"}, {"fund", F}, {"name", "Trợ cấp xã hội hằng tháng"},
         {"legal_basis", "Nghị định 20/2021/NĐ-CP"}});
  b.Add("don-tcxh", "donation_received",
        {{"fund", F}, {"donor", "D-BUDGET"}, {"restriction", "programme"}, {"restricted_to", "P-TCXH"},
         {"value_date", "2022-01-03"}, {"cash", {{"channel", "treasury"}, {"amount", 27'000'000}}}});
  b.Add("nd20-2021", "allowance_rate_set",
        {{"table", "ND20"}, {"effective_from", "2021-07"}, {"base_amount", 360'000}, {"legal_basis", "Nghị định 20/2021/NĐ-CP"}});
  b.Add("nd20-2024", "allowance_rate_set",
        {{"table", "ND20"}, {"effective_from", "2024-07"}, {"base_amount", 500'000}, {"legal_basis", "Nghị định 76/2024/NĐ-CP"}});
  for (int i = 1; i <= 10; ++i) {
    b.Add(Id("ent", i, 2), "entitlement_determined",
          {{"child", Id("C-CV", i, 2)}, {"table", "ND20"}, {"category", "orphaned_one_parent"}, {"coefficient_milli", 2500},
           {"decision", std::to_string(100 + i) + "/QĐ-UBND"}, {"from_month", "2022-01"}});
    for (int m = 1; m <= 3; ++m) {
      b.Add(Id("tc", i, 2) + "-" + Month(2022, m), "disbursement",
            {{"fund", F}, {"child", Id("C-CV", i, 2)}, {"kind", "monthly_allowance"}, {"month", Month(2022, m)},
             {"paid_from", "programme"}, {"programme", "P-TCXH"}, {"amount", 900'000}, {"method", "bank"}});
    }
  }
  b.Add("fees", "expense",
        {{"fund", F}, {"category", "bank_fee"}, {"amount", 1'650'000}, {"description", "Phí chuyển khoản tháng 1-6/2022"}});
  return b.Take();
}

// The correction is recorded after the batch above, as a fund administrator would: it needs the sequence
// number of the mistaken entry.
Result<std::vector<EventDraft>> DemoCorrection(uint64_t wrong_seq) {
  Builder b;
  b.Add("fix-gift-400-reversal", "reversal",
        {{"seq", wrong_seq}, {"reason", "Gift paid twice to C-HS-0399; pupil C-HS-0400 was not paid"}});
  b.Add("fix-gift-400", "disbursement",
        {{"fund", "F-QNG"}, {"child", "C-HS-0400"}, {"kind", "gift"}, {"paid_from", "programme"},
         {"programme", "P-GIFT"}, {"amount", 1'000'000}, {"method", "cash"}});
  return b.Take();
}

}  // namespace minhbach::demo
