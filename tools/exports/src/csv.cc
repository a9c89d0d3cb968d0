// The administrators' tables (statement, disbursements, per-child totals) and their RFC 4180 CSV form.
#include <set>
#include <tuple>

#include "minhbach/exports.h"

namespace minhbach::exports {
namespace {

std::string N(uint64_t v) { return v ? std::to_string(v) : ""; }
std::string A(Amount a) { return std::to_string(a); }

bool InRange(const std::string& date, const Filter& f) {
  return (f.from.empty() || date >= f.from) && (f.to.empty() || date <= f.to);
}

}  // namespace

Result<Sheet> StatementSheet(const Snapshot& s, const Filter& f) {
  MB_RETURN_IF_ERROR(CheckFilter(s, f));
  MB_ASSIGN_OR_RETURN(Statement st, s.models().FundStatement(f.fund, f.from, f.to, ""));
  Sheet sh{"Statement",
           {"seq", "date", "fund", "side", "amount", "type", "channel", "bank_ref", "counterparty", "description",
            "reverses"},
           {false, false, false, false, true, false, false, false, false, false, false},
           {}};
  for (const auto& r : st.rows) {
    sh.rows.push_back({std::to_string(r.seq), r.date, r.fund, r.side, A(r.amount), r.type, r.channel, r.bank_ref,
                       r.counterparty, r.description, N(r.reverses)});
  }
  return sh;
}

Result<Sheet> DisbursementsSheet(const Snapshot& s, const Filter& f) {
  MB_RETURN_IF_ERROR(CheckFilter(s, f));
  Sheet sh{"Disbursements",
           {"seq", "date", "fund", "child", "kind", "programme", "sponsorship", "month", "amount", "item", "quantity",
            "method", "reversed_by"},
           {false, false, false, false, false, false, false, false, true, false, false, false, false},
           {}};
  for (const auto& d : s.facts().disbursements) {
    if (d.fund != f.fund || !InRange(d.date, f)) continue;
    sh.rows.push_back({std::to_string(d.seq), d.date, d.fund, d.child, d.kind, d.programme, d.sponsorship, d.month,
                       A(d.amount), d.item, d.quantity ? std::to_string(d.quantity) : "", d.method, N(d.reversed_by)});
  }
  return sh;
}

// Cash paid to or for each child, net of reversals (a reversed payment is left out), by programme and year: the
// rule of TotalsOf (read_models.h), year of the month covered, else of the recording date.
Result<Sheet> ChildrenSheet(const Snapshot& s, const Filter& f) {
  MB_RETURN_IF_ERROR(CheckFilter(s, f));
  struct Cell {
    Amount amount = 0;
    int64_t payments = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Cell> cells;
  for (const auto& d : s.facts().disbursements) {
    if (d.fund != f.fund || !InRange(d.date, f) || d.reversed_by || d.amount == 0) continue;
    std::string year = (d.month.empty() ? d.date : d.month).substr(0, 4);
    Cell& c = cells[{d.child, d.programme, year}];
    MB_RETURN_IF_ERROR(AddTo(c.amount, d.amount));
    ++c.payments;
  }
  Sheet sh{"Children", {"child", "programme", "year", "payments", "amount"}, {false, false, false, false, true}, {}};
  for (const auto& [k, c] : cells) {
    sh.rows.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::to_string(c.payments), A(c.amount)});
  }
  return sh;
}

Result<CsvKind> ParseCsvKind(const std::string& what) {
  if (what == "statement") return CsvKind::kStatement;
  if (what == "disbursements") return CsvKind::kDisbursements;
  if (what == "children") return CsvKind::kChildren;
  return Status::InvalidArgument("--what must be statement, disbursements or children, got '" + what + "'");
}

std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Result<std::string> Csv(const Snapshot& s, CsvKind kind, const Filter& f) {
  Result<Sheet> sh = kind == CsvKind::kStatement       ? StatementSheet(s, f)
                     : kind == CsvKind::kDisbursements ? DisbursementsSheet(s, f)
                                                       : ChildrenSheet(s, f);
  MB_RETURN_IF_ERROR(sh.status());
  std::string out = "\xEF\xBB\xBF";  // UTF-8 byte-order mark: Excel then reads the Vietnamese text as UTF-8
  auto line = [&out](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + CsvField(cells[i]);
    out += "\r\n";
  };
  line(sh->header);
  for (const auto& r : sh->rows) line(r);
  return out;
}

}  // namespace minhbach::exports
