// Amounts, dates, layouts and statement rows. See docs/import.md.
#include <openssl/sha.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "minhbach/import.h"
#include "minhbach/vault.h"
#include "minhbach/text.h"

namespace minhbach::import {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n";

std::string_view Trim(std::string_view s) {
  // ASCII whitespace and U+00A0 (no-break space, common in exported spreadsheets) at both ends.
  while (true) {
    size_t before = s.size();
    while (!s.empty() && kWhitespace.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
    while (!s.empty() && kWhitespace.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
    if (s.size() >= 2 && s.substr(0, 2) == "\xC2\xA0") s.remove_prefix(2);
    if (s.size() >= 2 && s.substr(s.size() - 2) == "\xC2\xA0") s.remove_suffix(2);
    if (s.size() == before) return s;
  }
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int Num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

// ---- Amounts ----

Result<Amount> ParseStatementAmount(std::string_view text, char thousands, bool allow_negative) {
  std::string_view s = Trim(text);
  if (s.empty()) return Amount{0};
  const std::string shown = "'" + std::string(s) + "'";
  bool negative = false;
  if (s.front() == '-') {
    if (!allow_negative) return Status::InvalidArgument("expected a non-negative amount, got " + shown);
    negative = true;
    s.remove_prefix(1);
  }
  const char decimal = thousands == ',' ? '.' : ',';
  if (size_t d = s.rfind(decimal); d != std::string_view::npos && (thousands != 0 || decimal == '.')) {
    std::string_view frac = s.substr(d + 1);
    if (!AllDigits(frac) || frac.find_first_not_of('0') != std::string_view::npos) {
      return Status::InvalidArgument("expected a whole number of VND (no decimals), got " + shown);
    }
    s = s.substr(0, d);
  }
  std::string digits;
  if (thousands != 0 && s.find(thousands) != std::string_view::npos) {
    size_t pos = 0, group = 0;
    while (pos <= s.size()) {
      size_t next = s.find(thousands, pos);
      std::string_view g = s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
      bool ok = AllDigits(g) && (group == 0 ? g.size() >= 1 && g.size() <= 3 : g.size() == 3);
      if (!ok) {
        return Status::InvalidArgument(std::string("expected digits grouped in threes by '") + thousands +
                                       "' (e.g. " + (thousands == ',' ? "5,000,000" : thousands == '.' ? "5.000.000" : "5 000 000") +
                                       "), got " + shown);
      }
      digits += g;
      ++group;
      if (next == std::string_view::npos) break;
      pos = next + 1;
    }
  } else {
    if (!AllDigits(s)) {
      return Status::InvalidArgument("expected an amount in whole VND such as " +
                                     std::string(thousands == ',' ? "5,000,000" : thousands == '.' ? "5.000.000" : "5000000") +
                                     ", got " + shown);
    }
    digits = std::string(s);
  }
  Amount v = 0;
  for (char c : digits) {
    auto m = CheckedMul(v, 10);
    auto a = m.ok() ? CheckedAdd(*m, c - '0') : m;
    if (!a.ok()) return Status::InvalidArgument("amount " + shown + " is above the largest amount 9223372036854775807");
    v = *a;
  }
  return negative ? -v : v;
}

// ---- Dates and times ----

Result<std::string> ParseStatementTime(std::string_view text) {
  std::string_view t = Trim(text);
  if (t.empty()) return std::string();
  bool shape = (t.size() == 5 || t.size() == 8) && AllDigits(t.substr(0, 2)) && t[2] == ':' && AllDigits(t.substr(3, 2)) &&
               (t.size() == 5 || (t[5] == ':' && AllDigits(t.substr(6, 2))));
  if (!shape || Num(t.substr(0, 2)) > 23 || Num(t.substr(3, 2)) > 59 || (t.size() == 8 && Num(t.substr(6, 2)) > 59)) {
    return Status::InvalidArgument("expected a time hh:mm:ss, got '" + std::string(t) + "'");
  }
  return t.size() == 5 ? std::string(t) + ":00" : std::string(t);
}

Result<std::string> ParseStatementDate(std::string_view text, std::string_view format, std::string* time) {
  std::string_view s = Trim(text);
  const std::string shown = "'" + std::string(s) + "'";
  if (size_t sp = s.find(' '); sp != std::string_view::npos) {
    auto t = ParseStatementTime(s.substr(sp + 1));
    if (!t.ok()) return Status::InvalidArgument("expected a date " + std::string(format) + " [hh:mm:ss], got " + shown);
    if (time) *time = *t;
    s = s.substr(0, sp);
  }
  std::string iso;
  auto part = [&](size_t pos, size_t n) { return s.substr(pos, n); };
  if (s.size() == 10 && s[4] == '-' && s[7] == '-' && AllDigits(part(0, 4)) && AllDigits(part(5, 2)) && AllDigits(part(8, 2))) {
    iso = std::string(s);  // ISO, what spreadsheets export
  } else if (s.size() == 10 && format.size() == 10 && format.substr(0, 4) != "yyyy") {
    char sep = format[2];
    bool month_first = format.substr(0, 2) == "mm";
    if (s[2] != sep || s[5] != sep || !AllDigits(part(0, 2)) || !AllDigits(part(3, 2)) || !AllDigits(part(6, 4))) {
      return Status::InvalidArgument("expected a date " + std::string(format) + ", got " + shown);
    }
    std::string_view dd = month_first ? part(3, 2) : part(0, 2), mm = month_first ? part(0, 2) : part(3, 2);
    iso = std::string(part(6, 4)) + "-" + std::string(mm) + "-" + std::string(dd);
  } else {
    return Status::InvalidArgument("expected a date " + std::string(format) + ", got " + shown);
  }
  Status ok = CheckDate(iso);
  if (!ok.ok()) return Status::InvalidArgument("expected a real date " + std::string(format) + ", got " + shown);
  return iso;
}

// ---- Layouts ----

Layout LayoutA() {
  Layout l;
  l.name = "A";
  l.page = {"PageId"};
  l.date = {"TNXDate"};
  l.doc = {"DocNo"};
  l.debit = {"Debit"};
  l.credit = {"Credit"};
  l.balance = {"Balance"};
  l.details = {"TransactionDetails"};
  l.thousands = '.';
  l.find_header = true;
  return l;
}

Layout LayoutB() {
  Layout l;
  l.name = "B";
  l.page = {"PageId"};
  l.date = {"Date"};
  l.time = {"Time"};
  l.doc = {"DocumentNumber"};
  l.ref = {"ReferenceNumber"};
  l.details = {"TransactionDetails"};
  l.debit = {"DebitAmount"};
  l.credit = {"CreditAmount"};
  l.balance = {"Balance"};
  l.offset_account = {"OffsetAccount"};
  l.offset_account.optional = true;
  l.thousands = ',';
  l.find_header = true;
  return l;
}

Result<Layout> LayoutFromMapping(std::string_view json_text) {
  using nlohmann::json;
  if (json_text.size() > kMappingBytesMax) return Status::InvalidArgument("mapping file is larger than 64 KiB");
  json j;
  try {
    j = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("mapping: malformed JSON: ") + e.what());
  }
  if (!j.is_object()) return Status::InvalidArgument("mapping: expected a JSON object");
  Layout l;
  l.name = "generic";
  static const char* kTop[] = {"columns", "date_format", "thousands_separator", "header_rows", "delimiter"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(std::begin(kTop), std::end(kTop), it.key()) == std::end(kTop)) {
      return Status::InvalidArgument("mapping: unknown field '" + it.key() +
                                     "' (allowed: columns, date_format, thousands_separator, header_rows, delimiter)");
    }
  }
  auto cols = j.find("columns");
  if (cols == j.end() || !cols->is_object()) return Status::InvalidArgument("mapping: field 'columns': expected an object");
  struct Slot {
    const char* name;
    Column* col;
  } slots[] = {{"date", &l.date},     {"time", &l.time},         {"doc", &l.doc},       {"ref", &l.ref},
               {"details", &l.details}, {"debit", &l.debit}, {"credit", &l.credit}, {"balance", &l.balance},
               {"page", &l.page},       {"offset_account", &l.offset_account}};
  for (auto it = cols->begin(); it != cols->end(); ++it) {
    Slot* slot = nullptr;
    for (auto& s : slots) {
      if (it.key() == s.name) slot = &s;
    }
    if (!slot) {
      return Status::InvalidArgument("mapping: field 'columns." + it.key() +
                                     "': unknown column (allowed: date, time, doc, ref, details, debit, credit, balance, page, "
                                     "offset_account)");
    }
    if (it->is_string() && !it->get<std::string>().empty()) {
      slot->col->name = it->get<std::string>();
    } else if (it->is_number_unsigned() && it->get<uint64_t>() < kCsvFieldsMax) {
      slot->col->index = static_cast<int>(it->get<uint64_t>());
    } else if (!it->is_null()) {
      return Status::InvalidArgument("mapping: field 'columns." + it.key() +
                                     "': expected a column name or a 0-based column index below 256");
    }
  }
  for (const char* req : {"date", "details", "debit", "credit"}) {
    for (auto& s : slots) {
      if (std::string_view(s.name) == req && !s.col->present()) {
        return Status::InvalidArgument(std::string("mapping: field 'columns.") + req + "': required");
      }
    }
  }
  if (auto f = j.find("date_format"); f != j.end()) {
    static const char* kFormats[] = {"dd/mm/yyyy", "dd-mm-yyyy", "dd.mm.yyyy", "yyyy-mm-dd", "mm/dd/yyyy"};
    if (!f->is_string() || std::find(std::begin(kFormats), std::end(kFormats), f->get<std::string>()) == std::end(kFormats)) {
      return Status::InvalidArgument(
          "mapping: field 'date_format': expected one of dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd, mm/dd/yyyy");
    }
    l.date_format = f->get<std::string>();
  }
  if (auto f = j.find("thousands_separator"); f != j.end()) {
    std::string v = f->is_string() ? f->get<std::string>() : "?";
    if (v != "." && v != "," && v != " " && !v.empty()) {
      return Status::InvalidArgument("mapping: field 'thousands_separator': expected \".\", \",\", \" \" or \"\"");
    }
    l.thousands = v.empty() ? 0 : v[0];
  }
  if (auto f = j.find("header_rows"); f != j.end()) {
    if (!f->is_number_unsigned() || f->get<uint64_t>() > kHeaderSearchRecordsMax) {
      return Status::InvalidArgument("mapping: field 'header_rows': expected an integer 0..30");
    }
    l.header_rows = f->get<size_t>();
  }
  if (auto f = j.find("delimiter"); f != j.end()) {
    std::string v = f->is_string() ? f->get<std::string>() : "";
    if (v != "," && v != ";" && v != "\t" && v != "|") {
      return Status::InvalidArgument("mapping: field 'delimiter': expected \",\", \";\", \"\\t\" or \"|\"");
    }
    l.delimiter = v[0];
  }
  if (l.header_rows == 0) {
    for (auto& s : slots) {
      if (!s.col->name.empty()) {
        return Status::InvalidArgument(std::string("mapping: field 'columns.") + s.name +
                                       "': a name needs a header row (header_rows is 0): give a column index");
      }
    }
  }
  return l;
}

// ---- Line digest ----

std::string NormalizedLine(const StatementRow& r) {
  std::string s = "minhbach-statement-line/1";
  for (const std::string* f : {&r.date, &r.time, &r.doc, &r.ref}) {
    s += '\x1f';
    s += *f;
  }
  s += '\x1f';
  s += std::to_string(r.debit);
  s += '\x1f';
  s += std::to_string(r.credit);
  s += '\x1f';
  s += r.details;
  return s;
}

Hash LineDigest(const StatementRow& r, const Vault& vault) { return vault.KeyedDigest("statement-line", NormalizedLine(r)); }

// ---- Statement rows ----

namespace {

// The ledger's rules for a text (UTF-8, a length limit), checked here because a sealed text (details,
// OffsetAccount) never passes the ledger's checks of a payload.
Status TextRules(std::string_view t, bool multiline) {
  const size_t max = multiline ? kLongTextBytesMax : kLineTextBytesMax;
  if (t.size() > max) {
    return Status::InvalidArgument("text of " + std::to_string(t.size()) + " bytes is longer than the " +
                                   std::to_string(max) + " bytes a " + (multiline ? "" : "one-line ") + "text may hold");
  }
  if (!IsCleanUtf8(t, multiline)) return Status::InvalidArgument("text is not valid UTF-8");
  return Status::Ok();
}

// One-line text: trimmed; no control characters.
Result<std::string> OneLine(std::string_view cell) {
  std::string_view t = Trim(cell);
  for (unsigned char c : t) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("expected one line of text, got a control character or a line break");
  }
  MB_RETURN_IF_ERROR(TextRules(t, false));
  return std::string(t);
}

// Details: CRLF and CR become LF, tabs become spaces, then trimmed; other control characters are refused.
Result<std::string> Details(std::string_view cell) {
  std::string out;
  out.reserve(cell.size());
  for (size_t i = 0; i < cell.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(cell[i]);
    if (c == '\r') {
      out += '\n';
      if (i + 1 < cell.size() && cell[i + 1] == '\n') ++i;
    } else if (c == '\t') {
      out += ' ';
    } else if ((c < 0x20 && c != '\n') || c == 0x7f) {
      return Status::InvalidArgument("control character 0x" + HexEncode(std::string_view(&cell[i], 1)) + " in the text");
    } else {
      out += static_cast<char>(c);
    }
  }
  std::string_view t = Trim(out);
  MB_RETURN_IF_ERROR(TextRules(t, true));
  return std::string(t);
}

bool IsSummaryText(const std::string& cell) {
  static const char* kMarkers[] = {"tổng cộng", "tỔng cỘng", "cộng phát sinh", "cỘng phÁt sinh", "tong cong",
                                   "cong phat sinh", "total"};
  std::string low = LowerAscii(cell);
  for (const char* m : kMarkers) {
    if (low.find(m) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<StatementReader>> StatementReader::Open(const std::string& csv_path, const Layout& layout) {
  std::unique_ptr<StatementReader> r(new StatementReader());
  r->layout_ = layout;
  MB_ASSIGN_OR_RETURN(r->csv_, CsvReader::Open(csv_path, layout.delimiter));
  MB_RETURN_IF_ERROR(r->FindHeader());
  return r;
}

Status StatementReader::FindHeader() {
  struct Want {
    const Column* col;
    int* idx;
  } want[] = {{&layout_.date, &idx_.date},       {&layout_.time, &idx_.time},       {&layout_.doc, &idx_.doc},
              {&layout_.ref, &idx_.ref},         {&layout_.details, &idx_.details}, {&layout_.debit, &idx_.debit},
              {&layout_.credit, &idx_.credit},   {&layout_.balance, &idx_.balance}, {&layout_.page, &idx_.page},
              {&layout_.offset_account, &idx_.offset_account}};
  for (auto& w : want) {
    if (w.col->index >= 0) *w.idx = w.col->index;
  }
  auto match = [&](const std::vector<std::string>& cells, std::string* missing) {
    for (auto& w : want) {
      if (w.col->name.empty()) continue;
      *w.idx = -1;
      for (size_t i = 0; i < cells.size(); ++i) {
        if (LowerAscii(Trim(cells[i])) == LowerAscii(w.col->name)) *w.idx = static_cast<int>(i);
      }
      if (*w.idx < 0 && !w.col->optional) {
        *missing = w.col->name;
        return false;
      }
    }
    return true;
  };
  std::string missing;
  if (layout_.find_header) {
    for (size_t n = 0; n < kHeaderSearchRecordsMax; ++n) {
      MB_ASSIGN_OR_RETURN(bool more, csv_->Next(&cells_));
      if (!more) break;
      if (match(cells_, &missing)) {
        columns_ = cells_.size();
        return Status::Ok();
      }
    }
    return Status::InvalidArgument("layout " + layout_.name + ": no header row naming every column (" +
                                   (layout_.name == "A" ? "PageId, TNXDate, DocNo, Debit, Credit, Balance, TransactionDetails"
                                                        : "PageId, Date, Time, DocumentNumber, ReferenceNumber, "
                                                          "TransactionDetails, DebitAmount, CreditAmount, Balance; "
                                                          "OffsetAccount when present") +
                                   ") among the first " + std::to_string(kHeaderSearchRecordsMax) + " records; '" +
                                   missing + "' is missing");
  }
  for (size_t n = 0; n < layout_.header_rows; ++n) {
    MB_ASSIGN_OR_RETURN(bool more, csv_->Next(&cells_));
    if (!more) return Status::InvalidArgument("the file ends inside its " + std::to_string(layout_.header_rows) + " header rows");
  }
  if (layout_.header_rows > 0) {
    if (!match(cells_, &missing)) {
      return Status::InvalidArgument("mapping: column '" + missing + "' is not in the header row (record " +
                                     std::to_string(csv_->record()) + ")");
    }
    columns_ = cells_.size();
  }
  return Status::Ok();
}

std::string StatementReader::Cell(const std::vector<std::string>& cells, int index) const {
  if (index < 0 || static_cast<size_t>(index) >= cells.size()) return std::string();
  return cells[index];
}

Status StatementReader::CheckSummary(const std::vector<std::string>& cells) {
  summary_seen_ = true;
  struct Total {
    int idx;
    const Column* col;
    Amount sum;
  } totals[] = {{idx_.debit, &layout_.debit, debit_sum_}, {idx_.credit, &layout_.credit, credit_sum_}};
  for (const auto& t : totals) {
    auto v = ParseStatementAmount(Cell(cells, t.idx), layout_.thousands);
    std::string col = t.col->name.empty() ? "#" + std::to_string(t.idx) : t.col->name;
    if (!v.ok()) return Status::InvalidArgument("summary row: column '" + col + "': " + v.status().message());
    if (*v != 0 && *v != t.sum) {
      return Status::InvalidArgument("summary row: column '" + col + "' total " + std::to_string(*v) +
                                     " differs from the sum of the rows, " + std::to_string(t.sum));
    }
  }
  return Status::Ok();
}

Result<bool> StatementReader::Next(StatementRow* row, Status* row_error) {
  *row_error = Status::Ok();
  while (true) {
    MB_ASSIGN_OR_RETURN(bool more, csv_->Next(&cells_));
    if (!more) return false;
    std::string date_cell(Trim(Cell(cells_, idx_.date)));
    if (date_cell.empty()) {
      bool summary = false;
      for (const auto& c : cells_) summary = summary || IsSummaryText(c);
      if (summary && !summary_seen_) {
        Status s = CheckSummary(cells_);
        if (s.ok()) continue;
        *row_error = s;
        row->row = 0;
        return true;
      }
      bool amounts = !Trim(Cell(cells_, idx_.debit)).empty() || !Trim(Cell(cells_, idx_.credit)).empty();
      if (summary_seen_ && !amounts) continue;  // footer lines after the totals (signatures, printing date)
    }
    if (summary_seen_) {
      *row_error = Status::InvalidArgument("record " + std::to_string(csv_->record()) +
                                           ": a transaction after the summary row (the summary row must be last)");
      row->row = 0;
      return true;
    }
    *row_error = ParseRecord(cells_, row);
    return true;
  }
}

Status StatementReader::ParseRecord(const std::vector<std::string>& cells, StatementRow* row) {
  *row = StatementRow();
  row->row = ++rows_;
  if (rows_ > kStatementRowsMax) {
    return Status::InvalidArgument("row " + std::to_string(rows_) + ": a statement may have at most " +
                                   std::to_string(kStatementRowsMax) + " rows (one atomic batch)");
  }
  row->page = std::string(Trim(Cell(cells, idx_.page)));
  std::string where = "row " + std::to_string(row->row) + (row->page.empty() ? "" : " (page " + row->page + ")");
  auto bad = [&](const Column& c, int idx, const Status& s) {
    std::string col = c.name.empty() ? "#" + std::to_string(idx) : c.name;
    return Status::InvalidArgument(where + ": column '" + col + "': " + s.message());
  };
  for (size_t i = columns_; i < cells.size(); ++i) {
    if (!Trim(cells[i]).empty()) {
      return Status::InvalidArgument(where + ": " + std::to_string(cells.size()) + " cells, the header has " +
                                     std::to_string(columns_) + " (cell " + std::to_string(i + 1) + " is not empty)");
    }
  }
  auto date = ParseStatementDate(Cell(cells, idx_.date), layout_.date_format, &row->time);
  if (!date.ok()) return bad(layout_.date, idx_.date, date.status());
  row->date = *date;
  if (idx_.time >= 0) {
    auto t = ParseStatementTime(Cell(cells, idx_.time));
    if (!t.ok()) return bad(layout_.time, idx_.time, t.status());
    if (!t->empty()) row->time = *t;
  }
  struct Text {
    const Column* col;
    int idx;
    std::string* out;
  } texts[] = {{&layout_.doc, idx_.doc, &row->doc}, {&layout_.ref, idx_.ref, &row->ref},
               {&layout_.offset_account, idx_.offset_account, &row->offset_account}};
  for (const auto& t : texts) {
    auto v = OneLine(Cell(cells, t.idx));
    if (!v.ok()) return bad(*t.col, t.idx, v.status());
    *t.out = *v;
  }
  auto details = Details(Cell(cells, idx_.details));
  if (!details.ok()) return bad(layout_.details, idx_.details, details.status());
  row->details = *details;
  auto debit = ParseStatementAmount(Cell(cells, idx_.debit), layout_.thousands);
  if (!debit.ok()) return bad(layout_.debit, idx_.debit, debit.status());
  auto credit = ParseStatementAmount(Cell(cells, idx_.credit), layout_.thousands);
  if (!credit.ok()) return bad(layout_.credit, idx_.credit, credit.status());
  if ((*debit == 0) == (*credit == 0)) {
    return Status::InvalidArgument(where + ": expected exactly one of debit and credit, got " +
                                   (*debit == 0 ? "neither" : "both"));
  }
  row->debit = *debit;
  row->credit = *credit;
  if (idx_.balance >= 0 && !Trim(Cell(cells, idx_.balance)).empty()) {
    auto b = ParseStatementAmount(Cell(cells, idx_.balance), layout_.thousands, /*allow_negative=*/true);
    if (!b.ok()) return bad(layout_.balance, idx_.balance, b.status());
    row->balance = *b;
  }
  auto ds = CheckedAdd(debit_sum_, row->debit);
  auto cs = CheckedAdd(credit_sum_, row->credit);
  if (!ds.ok() || !cs.ok()) return Status::InvalidArgument(where + ": the sum of the statement's amounts overflows");
  debit_sum_ = *ds;
  credit_sum_ = *cs;
  return Status::Ok();
}

}  // namespace minhbach::import
