// PlanPayments: a payments list (one disbursement per child and row) into drafts. See docs/import.md "Payments".
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "minhbach/import.h"
#include "minhbach/text.h"

namespace minhbach::import {
namespace {

using nlohmann::json;

constexpr const char* kColumns[] = {"child", "amount", "kind", "evidence_sha256", "programme", "month", "sponsorship",
                                    "paid_from", "method", "idempotency_key", "guardian", "override_reason"};
constexpr size_t kRequiredColumns = 4;  // the first four

std::string Trimmed(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// "line N: field 'data.month': ..." (ParseJsonLine) -> "row N: column 'month': ..."
std::string AsRowMessage(const std::string& m, uint64_t row) {
  std::string text = m;
  std::string prefix = "line " + std::to_string(row) + ": ";
  if (text.rfind(prefix, 0) == 0) text = text.substr(prefix.size());
  for (size_t p; (p = text.find("field 'data.")) != std::string::npos;) text.replace(p, 12, "column '");
  return "row " + std::to_string(row) + ": " + text;
}

// Columns that would carry personal data or a private free text into the log (names compared after folding:
// lower case, no diacritics, spaces and hyphens as '_'). A payments list names people by pseudonymous id only.
constexpr const char* kPersonalColumns[] = {
    "name",      "full_name", "guardian_name", "ho_ten",   "ho_va_ten",    "ten",        "ten_nguoi_nhan",
    "phone",     "guardian_phone", "so_dien_thoai", "sdt", "dien_thoai",   "account",    "account_number",
    "bank_account", "so_tai_khoan", "stk",     "tai_khoan", "address",     "dia_chi",    "id_number",
    "cccd",      "cmnd",      "note",          "notes",    "ghi_chu",      "memo",       "description",
    "noi_dung",  "details",   "reason"};

std::string FoldedColumn(const std::string& name) {
  std::string f = FoldForSearch(name);
  for (char& c : f) {
    if (c == ' ' || c == '-') c = '_';
  }
  return f;
}

// The header: column name -> index. Unknown names are refused (typos), personal ones with the reason.
Result<std::map<std::string, size_t>> ReadHeader(const std::vector<std::string>& cells) {
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string name = Trimmed(cells[i]);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "evidence") name = "evidence_sha256";
    if (name.empty()) continue;
    const std::string folded = FoldedColumn(Trimmed(cells[i]));
    if (std::find(std::begin(kPersonalColumns), std::end(kPersonalColumns), folded) != std::end(kPersonalColumns)) {
      return Status::InvalidArgument(
          "header: column '" + Trimmed(cells[i]) +
          "' would carry personal data or a private text, which a payments list may not: register the guardian "
          "with a guardian_registered event (name and phone go to the vault) and give their id in column "
          "'guardian'; a reason for an unusual amount goes in 'override_reason' (sealed into the vault)");
    }
    if (std::find(std::begin(kColumns), std::end(kColumns), name) == std::end(kColumns)) {
      return Status::InvalidArgument("header: unknown column '" + Trimmed(cells[i]) +
                                     "' (known: child, amount, kind, evidence_sha256, programme, month, sponsorship, "
                                     "paid_from, method, idempotency_key, guardian, override_reason)");
    }
    if (!col.emplace(name, i).second) return Status::InvalidArgument("header: column '" + name + "' appears twice");
  }
  for (size_t i = 0; i < kRequiredColumns; ++i) {
    if (!col.count(kColumns[i])) return Status::InvalidArgument(std::string("header: column '") + kColumns[i] + "' is missing");
  }
  return col;
}

// The longest run of consecutive ASCII digits.
size_t DigitRun(const std::string& s) {
  size_t run = 0, longest = 0;
  for (char c : s) {
    run = c >= '0' && c <= '9' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

// The guardian is a pseudonymous id (the log keeps it); a key given in the file is public too. Neither may carry
// a name, an account or a phone number: an id has no spaces, and neither may hold 8 or more digits in a row
// ("C-0001-2024-09" is fine). "" when the cells are fine, else the message.
constexpr size_t kIdDigitRunMax = 7;
std::string PersonalInIds(const std::string& guardian, const std::string& key) {
  if (!guardian.empty()) {
    const bool id = guardian.size() <= 64 && std::all_of(guardian.begin(), guardian.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (!id || DigitRun(guardian) > kIdDigitRunMax) {
      return "column 'guardian': expected the guardian's pseudonymous id (1..64 letters, digits, '-', '_', '.', at most "
             "7 digits in a row); a guardian's name and phone go to the vault through guardian_registered";
    }
  }
  if (const size_t run = DigitRun(key); run > kIdDigitRunMax) {
    return "column 'idempotency_key': holds a run of " + std::to_string(run) +
           " digits (an account or phone number?): the key is public, it may not carry personal data";
  }
  return {};
}

}  // namespace

Status RowErrors(std::vector<RowError> errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const RowError& a, const RowError& b) { return a.row < b.row; });
  std::string text = std::to_string(errors.size()) + " bad row(s), nothing imported:";
  for (size_t i = 0; i < errors.size() && i < kImportErrorsMax; ++i) text += "\n  " + errors[i].message;
  if (errors.size() > kImportErrorsMax) text += "\n  ... and " + std::to_string(errors.size() - kImportErrorsMax) + " more";
  return Status::InvalidArgument(text);
}

namespace {

using Columns = std::map<std::string, size_t>;  // column name -> index

// A cell outside the header's columns is not empty.
bool ExtraCells(const std::vector<std::string>& cells, const Columns& col) {
  if (cells.size() <= col.size()) return false;
  for (size_t i = 0; i < cells.size(); ++i) {
    bool named = std::any_of(col.begin(), col.end(), [&](const auto& c) { return c.second == i; });
    if (!named && !Trimmed(cells[i]).empty()) return true;
  }
  return false;
}

// One data row: its draft in plan->events, or its error in plan->errors.
void PlanRow(const std::vector<std::string>& cells, const Columns& col, uint64_t row, const std::string& fund,
             std::map<std::string, uint64_t>* keys, PaymentsPlan* plan) {
  auto cell = [&](const char* name) {
    auto it = col.find(name);
    return it == col.end() || it->second >= cells.size() ? std::string() : Trimmed(cells[it->second]);
  };
  const std::string where = "row " + std::to_string(row) + ": ";
  auto bad = [&](const std::string& column, const std::string& msg) {
    plan->errors.push_back({row, where + "column '" + column + "': " + msg});
  };
  if (ExtraCells(cells, col)) return plan->errors.push_back({row, where + "a cell outside the header's columns is not empty"});
  bool ok = true;
  for (size_t i = 0; i < kRequiredColumns; ++i) {
    if (cell(kColumns[i]).empty()) {
      bad(kColumns[i], "required, the cell is empty");
      ok = false;
    }
  }
  if (!ok) return;
  auto amount = ParseHumanAmount(cell("amount"));
  if (!amount.ok()) return bad("amount", amount.status().message());
  json data = {{"fund", fund}, {"child", cell("child")}, {"kind", cell("kind")}, {"amount", *amount},
               {"method", cell("method").empty() ? "bank" : cell("method")}, {"evidence_sha256", cell("evidence_sha256")}};
  // override_reason is a private text: not listed in "public", the parser seals it into the vault.
  for (const char* opt : {"programme", "month", "sponsorship", "guardian", "override_reason", "paid_from"}) {
    if (!cell(opt).empty()) data[opt] = cell(opt);
  }
  if (!data.contains("paid_from") && data.contains("programme")) data["paid_from"] = "programme";
  std::string key = cell("idempotency_key");
  if (std::string personal = PersonalInIds(cell("guardian"), key); !personal.empty()) {
    return plan->errors.push_back({row, where + personal});
  }
  if (key.empty()) key = "pay:" + plan->file_sha256_hex + ":" + std::to_string(row);
  if (auto [it, fresh] = keys->emplace(key, row); !fresh) {
    return bad("idempotency_key", "'" + key + "' is also used by row " + std::to_string(it->second));
  }
  json line = {{"type", "disbursement"}, {"idempotency_key", key}, {"data", data}};
  auto draft = ParseJsonLine(line.dump(-1, ' ', false, json::error_handler_t::replace), row);
  if (!draft.ok()) return plan->errors.push_back({row, AsRowMessage(draft.status().message(), row)});
  auto total = CheckedAdd(plan->total, *amount);
  if (!total.ok()) return bad("amount", "the file's total overflows");
  plan->total = *total;
  plan->events.push_back(std::move(*draft));
}

}  // namespace

Result<PaymentsPlan> PlanPayments(const std::string& csv_path, const Hash& file_sha256, const std::string& fund) {
  PaymentsPlan plan;
  plan.file_sha256_hex = HexEncode(file_sha256);
  MB_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(csv_path));
  std::vector<std::string> cells;
  MB_ASSIGN_OR_RETURN(bool any, csv->Next(&cells));
  if (!any) return Status::InvalidArgument("the payments file is empty (expected a header row: child, amount, kind, evidence_sha256, ...)");
  MB_ASSIGN_OR_RETURN(const Columns col, ReadHeader(cells));
  std::map<std::string, uint64_t> keys;  // idempotency key -> row
  while (true) {
    MB_ASSIGN_OR_RETURN(bool more, csv->Next(&cells));
    if (!more) break;
    const uint64_t row = ++plan.rows;
    if (row > kBatchEventsMax) return Status::InvalidArgument("row " + std::to_string(row) + ": more rows than one batch holds");
    PlanRow(cells, col, row, fund, &keys, &plan);
  }
  if (plan.rows == 0) return Status::InvalidArgument("the payments file has a header but no rows");
  return plan;
}

}  // namespace minhbach::import
