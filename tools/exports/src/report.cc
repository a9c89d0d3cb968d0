// The printable transparency report of a fund for a period: self-contained HTML (inline CSS and SVG, no
// external resources), A4 print CSS, Vietnamese headings with English in small type. docs/exports.md lists the
// sections. Chart geometry is computed in integers (no floating point anywhere in this file).
#include <set>
#include <sstream>

#include "minhbach/exports.h"

namespace minhbach::exports {
namespace {

using Sums = std::map<std::string, Amount>;

bool InPeriod(const std::string& date, const ReportOptions& o) { return date >= o.from && date <= o.to; }

std::string E(const std::string& s) { return XmlEscape(s); }

// a * num / den rounded down, exact for any int64 amounts (den > 0).
int64_t Scale(Amount a, int64_t num, Amount den) {
  return static_cast<int64_t>(static_cast<__int128>(a) * num / den);
}

struct Period {
  Sums receipts_by_source, spending_by_kind, spending_by_programme;
  std::map<std::string, std::pair<Amount, Amount>> by_month;  // month (or year) -> received, disbursed
  Amount received = 0, disbursed = 0, expensed = 0;
};

std::string SourceOf(const Snapshot& s, const DonationFact& d) {
  auto it = s.facts().donors.find(d.donor);
  std::string kind = it == s.facts().donors.end() ? "?" : it->second.kind;
  if (it != s.facts().donors.end() && it->second.display_name.empty()) kind += " (anonymous)";
  return kind + " / " + d.channel;
}

Result<Period> Collect(const Snapshot& s, const ReportOptions& o) {
  Period p;
  const LogFacts& f = s.facts();
  for (const auto& d : f.donations) {
    if (d.fund != o.fund || !d.cash || d.reversed_by || !InPeriod(d.value_date, o)) continue;
    MB_RETURN_IF_ERROR(AddTo(p.receipts_by_source[SourceOf(s, d)], d.amount));
    MB_RETURN_IF_ERROR(AddTo(p.by_month[d.value_date.substr(0, 7)].first, d.amount));
    MB_RETURN_IF_ERROR(AddTo(p.received, d.amount));
  }
  for (const auto& d : f.disbursements) {
    if (d.fund != o.fund || d.amount == 0 || d.reversed_by || !InPeriod(d.date, o)) continue;
    auto prog = f.programmes.find(d.programme);
    MB_RETURN_IF_ERROR(AddTo(p.spending_by_kind[d.kind], d.amount));
    MB_RETURN_IF_ERROR(AddTo(p.spending_by_programme[prog == f.programmes.end() ? "" : d.programme], d.amount));
    MB_RETURN_IF_ERROR(AddTo(p.by_month[d.date.substr(0, 7)].second, d.amount));
    MB_RETURN_IF_ERROR(AddTo(p.disbursed, d.amount));
  }
  for (const auto& e : f.expenses) {
    if (e.fund != o.fund || e.reversed_by || !InPeriod(e.date, o)) continue;
    MB_RETURN_IF_ERROR(AddTo(p.spending_by_kind["expense_" + e.category], e.amount));
    MB_RETURN_IF_ERROR(AddTo(p.spending_by_programme[e.programme], e.amount));
    MB_RETURN_IF_ERROR(AddTo(p.expensed, e.amount));
  }
  for (const auto& a : f.allocations) {
    if (a.reversed_by || !InPeriod(a.date, o)) continue;
    if (a.to_fund == o.fund) MB_RETURN_IF_ERROR(AddTo(p.receipts_by_source["allocation from " + a.from_fund], a.amount));
  }
  constexpr size_t kMonthBarsMax = 36;  // beyond three years of months, one bar pair per year
  if (p.by_month.size() > kMonthBarsMax) {
    std::map<std::string, std::pair<Amount, Amount>> years;
    for (const auto& [m, v] : p.by_month) {
      MB_RETURN_IF_ERROR(AddTo(years[m.substr(0, 4)].first, v.first));
      MB_RETURN_IF_ERROR(AddTo(years[m.substr(0, 4)].second, v.second));
    }
    p.by_month = std::move(years);
  }
  return p;
}

std::string H2(const std::string& vi, const std::string& en) {
  return "<h2>" + E(vi) + " <small>" + E(en) + "</small></h2>\n";
}

// A two-column table of amounts with a total row.
Result<std::string> AmountTable(const Sums& rows, const std::string& head_vi, const std::string& head_en,
                        const std::function<std::string(const std::string&)>& label) {
  std::string h = "<table><tr><th>" + E(head_vi) + " <small>" + E(head_en) +
                  "</small></th><th class=n>Số tiền <small>Amount</small></th></tr>\n";
  Amount total = 0;
  for (const auto& [k, v] : rows) {
    h += "<tr><td>" + E(label(k)) + "</td><td class=n>" + E(FormatVnd(v)) + "</td></tr>\n";
    MB_RETURN_IF_ERROR(AddTo(total, v));
  }
  if (rows.empty()) h += "<tr><td colspan=2>(không có / none)</td></tr>\n";
  return h + "<tr class=t><td>Tổng cộng <small>Total</small></td><td class=n>" + E(FormatVnd(total)) +
         "</td></tr></table>\n";
}

constexpr int64_t kChartWidth = 680, kChartHeight = 200, kLabelHeight = 40;

// Received vs disbursed, by month: pairs of vertical bars, heights proportional to the largest amount.
std::string MonthChart(const Period& p) {
  Amount max = 1;
  for (const auto& [m, v] : p.by_month) max = std::max({max, v.first, v.second});
  const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(p.by_month.size()));
  const int64_t slot = kChartWidth / n, bar = std::max<int64_t>(1, slot * 2 / 5);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kChartWidth << "\" height=\""
    << kChartHeight + kLabelHeight << "\" role=\"img\" aria-label=\"received and disbursed by month\">\n";
  int64_t i = 0;
  for (const auto& [m, v] : p.by_month) {
    const int64_t x = i * slot + slot / 10;
    const int64_t h1 = Scale(v.first, kChartHeight, max), h2 = Scale(v.second, kChartHeight, max);
    o << "<rect x=\"" << x << "\" y=\"" << kChartHeight - h1 << "\" width=\"" << bar << "\" height=\"" << h1
      << "\" fill=\"#2b6cb0\"><title>" << E(m) << " received " << E(FormatVnd(v.first)) << "</title></rect>\n";
    o << "<rect x=\"" << x + bar << "\" y=\"" << kChartHeight - h2 << "\" width=\"" << bar << "\" height=\"" << h2
      << "\" fill=\"#dd6b20\"><title>" << E(m) << " disbursed " << E(FormatVnd(v.second)) << "</title></rect>\n";
    if (n <= 18 || i % ((n + 17) / 18) == 0) {
      o << "<text x=\"" << x << "\" y=\"" << kChartHeight + 14 << "\" font-size=\"9\">" << E(m) << "</text>\n";
    }
    ++i;
  }
  o << "<line x1=\"0\" y1=\"" << kChartHeight << "\" x2=\"" << kChartWidth << "\" y2=\"" << kChartHeight
    << "\" stroke=\"#333\"/>\n<rect x=\"0\" y=\"" << kChartHeight + 24 << "\" width=\"10\" height=\"10\" fill=\"#2b6cb0\"/>"
    << "<text x=\"14\" y=\"" << kChartHeight + 33 << "\" font-size=\"10\">nhận / received</text>"
    << "<rect x=\"130\" y=\"" << kChartHeight + 24 << "\" width=\"10\" height=\"10\" fill=\"#dd6b20\"/>"
    << "<text x=\"144\" y=\"" << kChartHeight + 33 << "\" font-size=\"10\">chi trả / disbursed</text>\n</svg>\n";
  return o.str();
}

// Spending by kind: horizontal bars, lengths proportional to the largest amount.
std::string KindChart(const Sums& kinds) {
  Amount max = 1;
  for (const auto& [k, v] : kinds) max = std::max(max, v);
  constexpr int64_t kRow = 22, kLabel = 200, kBarMax = kChartWidth - kLabel - 120;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kChartWidth << "\" height=\""
    << kRow * static_cast<int64_t>(kinds.size()) + 4 << "\" role=\"img\" aria-label=\"spending by kind\">\n";
  int64_t y = 0;
  for (const auto& [k, v] : kinds) {
    int64_t w = Scale(v, kBarMax, max);
    o << "<text x=\"0\" y=\"" << y + 15 << "\" font-size=\"11\">" << E(k) << "</text><rect x=\"" << kLabel << "\" y=\""
      << y + 4 << "\" width=\"" << w << "\" height=\"14\" fill=\"#38a169\"/><text x=\"" << kLabel + w + 6 << "\" y=\""
      << y + 15 << "\" font-size=\"11\">" << E(FormatVnd(v)) << "</text>\n";
    y += kRow;
  }
  return o.str() + "</svg>\n";
}

constexpr const char* kCss = R"(<style>
@page { size: A4; margin: 15mm 14mm; }
body { font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; font-size: 10.5pt; color: #111; max-width: 180mm; margin: auto; }
h1 { font-size: 17pt; margin: 0 0 2mm; } h1 small, h2 small, th small, td small { font-weight: normal; color: #555; font-size: 75%; }
h2 { font-size: 12.5pt; border-bottom: 1px solid #999; margin: 6mm 0 2mm; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; page-break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 1mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; } td.n, th.n { text-align: right; } td.n { white-space: nowrap; } tr.t td { font-weight: bold; }
pre { font-size: 8pt; background: #f6f6f6; padding: 2mm; white-space: pre-wrap; word-break: break-all; }
svg { display: block; margin: 2mm 0; } .meta { color: #444; font-size: 9pt; }
section { page-break-inside: avoid; }
</style>
)";

std::string Header(const Snapshot& s, const ReportOptions& o) {
  const FundFact& f = s.facts().funds.at(o.fund);
  return "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         E("Báo cáo minh bạch " + f.name + " " + o.from + " – " + o.to) + "</title>\n" + kCss + "</head>\n<body>\n" +
         "<h1>Báo cáo công khai tài chính <small>Transparency report</small></h1>\n<p><b>" + E(f.name) + "</b> (" +
         E(o.fund) + ") — " + E(f.organisation) + "<br>Kỳ báo cáo <small>Period</small>: " + E(o.from) + " – " +
         E(o.to) + "</p>\n<p class=meta>Số liệu tính từ sổ cái đến điểm kiểm tra đã ký (" + std::to_string(s.size()) +
         " bút toán), bút toán cuối ghi lúc <small>Data as of the last entry of the signed checkpoint</small>: " +
         E(s.as_of_time()) + "</p>\n";
}

std::string BalanceSection(const Statement& st) {
  std::string h = "<section>" + H2("Số dư đầu kỳ và cuối kỳ", "Opening and closing balance (cash, statement basis)");
  h += "<table><tr><th>Số dư đầu kỳ <small>Opening</small></th><th class=n>Thu <small>Credits</small></th>"
       "<th class=n>Chi <small>Debits</small></th><th class=n>Số dư cuối kỳ <small>Closing</small></th></tr>\n<tr><td class=n>" +
       E(FormatVnd(st.opening)) + "</td><td class=n>" + E(FormatVnd(st.credits)) + "</td><td class=n>" +
       E(FormatVnd(st.debits)) + "</td><td class=n>" + E(FormatVnd(st.closing)) + "</td></tr></table>\n";
  return h + "<p class=meta>Theo sao kê của quỹ: tiền ủng hộ theo ngày hiệu lực, khoản chi theo ngày ghi sổ; "
             "bút toán đảo có dòng đối ứng. <small>From the fund statement: " +
         std::to_string(st.rows.size()) + " rows in the period.</small></p></section>\n";
}

Result<std::string> ShareSection(const Period& p) {
  std::string h = "<section>" + H2("Tỷ lệ đến tay trẻ em", "Share that reached children");
  MB_ASSIGN_OR_RETURN(Amount spent, CheckedAdd(p.disbursed, p.expensed));
  if (spent <= 0) return h + "<p>Không có khoản chi trong kỳ. <small>Nothing was spent in the period.</small></p></section>\n";
  int64_t permille = Scale(p.disbursed, 1000, spent);
  return h + "<p><b>" + std::to_string(permille / 10) + "," + std::to_string(permille % 10) +
         " %</b> (" + std::to_string(permille) + " ‰) = chi trả cho trẻ em " + E(FormatVnd(p.disbursed)) +
         " / (chi trả " + E(FormatVnd(p.disbursed)) + " + chi phí " + E(FormatVnd(p.expensed)) +
         ") <small>disbursed / (disbursed + expensed), per mille rounded down</small></p></section>\n";
}

std::string ProgrammeLabel(const Snapshot& s, const std::string& id) {
  if (id.empty()) return "Ngoài chương trình (outside any programme)";
  auto it = s.facts().programmes.find(id);
  return it == s.facts().programmes.end() ? id : it->second.name + " (" + id + ")";
}

// Goods of the fund in the period: received (in-kind donations, with their declared value) and given to children
// (in-kind distributions), per programme and item; reversed entries left out. No child is named.
Result<std::string> InKindSection(const Snapshot& s, const ReportOptions& o) {
  struct Row {
    int64_t received = 0, given = 0;
    Amount value = 0;
  };
  std::map<std::pair<std::string, std::string>, Row> rows;
  for (const auto& d : s.facts().donations) {
    if (d.fund != o.fund || d.cash || d.reversed_by || !InPeriod(d.value_date, o)) continue;
    std::string prog = d.restriction == "programme" ? d.restricted_to : "";
    Row& r = rows[{prog, d.item + " (" + d.unit + ")"}];
    r.received += d.quantity;
    MB_RETURN_IF_ERROR(AddTo(r.value, d.amount));
  }
  std::map<std::string, std::string> units;
  for (const auto& d : s.facts().donations) units.emplace(d.item, d.unit);
  for (const auto& d : s.facts().disbursements) {
    if (d.fund != o.fund || d.item.empty() || d.reversed_by || !InPeriod(d.date, o)) continue;
    rows[{d.programme, d.item + " (" + units[d.item] + ")"}].given += d.quantity;
  }
  std::string h = "<section>" + H2("Hiện vật", "In-kind register: goods received and given in the period") +
                  "<table><tr><th>Chương trình <small>Programme</small></th><th>Hiện vật <small>Item</small></th>"
                  "<th class=n>Nhận <small>Received</small></th><th class=n>Giá trị khai báo <small>Declared value"
                  "</small></th><th class=n>Đã trao <small>Given</small></th></tr>\n";
  for (const auto& [k, r] : rows) {
    h += "<tr><td>" + E(ProgrammeLabel(s, k.first)) + "</td><td>" + E(k.second) + "</td><td class=n>" +
         std::to_string(r.received) + "</td><td class=n>" + E(FormatVnd(r.value)) + "</td><td class=n>" +
         std::to_string(r.given) + "</td></tr>\n";
  }
  if (rows.empty()) h += "<tr><td colspan=5>(không có / none)</td></tr>\n";
  return h + "</table></section>\n";
}

Result<std::string> ComplianceSection(const Snapshot& s, const ReportOptions& o) {
  const std::string as_of = o.to.substr(0, 7);
  MB_ASSIGN_OR_RETURN(auto rows, s.models().Sponsorships("", as_of));
  std::vector<SponsorshipRow> mine;
  for (auto& r : rows) {
    if (r.fund == o.fund) mine.push_back(std::move(r));
  }
  MB_ASSIGN_OR_RETURN(Compliance c, ComplianceOf(mine, as_of));
  return "<section>" + H2("Thực hiện cam kết bảo trợ", "Sponsorship compliance as of " + as_of) +
         "<table><tr><th class=n>Số thỏa thuận <small>Agreements</small></th><th class=n>Đầy đủ <small>Fully paid</small></th>"
         "<th class=n>Chậm trả <small>In arrears</small></th><th class=n>Tháng thiếu <small>Months missing</small></th>"
         "<th class=n>Còn nợ <small>Owed</small></th><th class=n>Còn cam kết <small>Still committed</small></th></tr>\n<tr><td class=n>" +
         std::to_string(c.sponsorships) + "</td><td class=n>" + std::to_string(c.sponsorships - c.in_arrears) +
         "</td><td class=n>" + std::to_string(c.in_arrears) + "</td><td class=n>" + std::to_string(c.months_missing) +
         "</td><td class=n>" + E(FormatVnd(c.owed)) + "</td><td class=n>" + E(FormatVnd(c.committed)) +
         "</td></tr></table></section>\n";
}

std::string VerifySection(const Snapshot& s) {
  return "<section>" + H2("Điểm kiểm tra đã ký và cách kiểm chứng", "The signed checkpoint and how to verify") +
         "<p>Mọi số liệu trên được tính từ " + std::to_string(s.size()) +
         " bút toán đầu tiên của sổ cái, có gốc cây Merkle nêu trong điểm kiểm tra đã ký dưới đây. "
         "<small>Every figure comes from the first " + std::to_string(s.size()) +
         " entries of the ledger, whose Merkle root is in this signed checkpoint:</small></p>\n<pre>" +
         E(s.checkpoint_note()) +
         "</pre>\n<p>Kiểm chứng <small>To verify</small>: xin quỹ bộ hồ sơ kiểm toán (<code>minhbach export --to DIR</code>) "
         "và khóa công khai của quỹ, rồi chạy <code>minhbach-verify DIR --key KHÓA</code>: chương trình tính lại mọi bút "
         "toán, gốc cây, chữ ký và các báo cáo. Một trẻ em (qua người giám hộ) có thể nhận bằng chứng các khoản của mình "
         "bằng <code>minhbach prove child MÃ --out p.json</code> và kiểm tra bằng <code>minhbach-verify --proof p.json "
         "--key KHÓA</code>. <small>Ask the fund for an audit bundle and its verifier key; minhbach-verify recomputes "
         "every entry, the root, the signatures and the reports. A child's own entries are proved with "
         "<code>minhbach prove child</code>.</small></p></section>\n";
}

}  // namespace

Result<std::string> ReportHtml(const Snapshot& s, const ReportOptions& o) {
  if (o.from.empty() || o.to.empty()) return Status::InvalidArgument("--from and --to are required");
  MB_RETURN_IF_ERROR(CheckFilter(s, Filter{o.fund, o.from, o.to}));
  MB_ASSIGN_OR_RETURN(Statement st, s.models().FundStatement(o.fund, o.from, o.to, ""));
  MB_ASSIGN_OR_RETURN(Period p, Collect(s, o));
  auto same = [](const std::string& k) { return k; };
  MB_ASSIGN_OR_RETURN(std::string receipts, AmountTable(p.receipts_by_source, "Nguồn", "Source", same));
  MB_ASSIGN_OR_RETURN(std::string kinds, AmountTable(p.spending_by_kind, "Loại", "Kind", same));
  MB_ASSIGN_OR_RETURN(std::string programmes,
                      AmountTable(p.spending_by_programme, "Chương trình", "Programme",
                                  [&s](const std::string& k) { return ProgrammeLabel(s, k); }));
  MB_ASSIGN_OR_RETURN(std::string share, ShareSection(p));
  MB_ASSIGN_OR_RETURN(std::string inkind, InKindSection(s, o));
  MB_ASSIGN_OR_RETURN(std::string compliance, ComplianceSection(s, o));
  std::string h = Header(s, o) + BalanceSection(st);
  h += "<section>" + H2("Nguồn thu", "Receipts by source (donor kind / channel), by value date") + receipts +
       "</section>\n";
  h += "<section>" + H2("Thu và chi trả theo tháng", "Received and disbursed by month") + MonthChart(p) + "</section>\n";
  h += "<section>" + H2("Chi theo loại", "Spending by kind, by recording date") + kinds + KindChart(p.spending_by_kind) +
       "</section>\n";
  h += "<section>" + H2("Chi theo chương trình", "Spending by programme") + programmes + "</section>\n";
  h += share + inkind + compliance + VerifySection(s);
  h += "<p class=meta>Báo cáo không chứa thông tin cá nhân của trẻ em: các khoản chi được tổng hợp. <small>No child is "
       "named: payments are aggregated. Amounts in VND.</small></p>\n</body>\n</html>\n";
  return h;
}

}  // namespace minhbach::exports
