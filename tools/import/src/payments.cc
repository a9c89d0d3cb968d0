// PlanPayments: a payments list (one disbursement per child and row) into drafts. See docs/import.md "Payments".
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "minhbach/import.h"

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

}  // namespace

Status RowErrors(std::vector<RowError> errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const RowError& a, const RowError& b) { return a.row < b.row; });
  std::string text = std::to_string(errors.size()) + " bad row(s), nothing imported:";
  for (size_t i = 0; i < errors.size() && i < kImportErrorsMax; ++i) text += "\n  " + errors[i].message;
  if (errors.size() > kImportErrorsMax) text += "\n  ... and " + std::to_string(errors.size() - kImportErrorsMax) + " more";
  return Status::InvalidArgument(text);
}

Result<PaymentsPlan> PlanPayments(const std::string& csv_path, const Hash& file_sha256, const std::string& fund) {
  PaymentsPlan plan;
  plan.file_sha256_hex = HexEncode(file_sha256);
  MB_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(csv_path));
  std::vector<std::string> cells;
  MB_ASSIGN_OR_RETURN(bool any, csv->Next(&cells));
  if (!any) return Status::InvalidArgument("the payments file is empty (expected a header row: child, amount, kind, evidence_sha256, ...)");
  std::map<std::string, size_t> col;  // column name -> index
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string name = Trimmed(cells[i]);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "evidence") name = "evidence_sha256";
    if (name.empty()) continue;
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
  std::map<std::string, uint64_t> keys;  // idempotency key -> row
  while (true) {
    MB_ASSIGN_OR_RETURN(bool more, csv->Next(&cells));
    if (!more) break;
    const uint64_t row = ++plan.rows;
    if (row > kBatchEventsMax) return Status::InvalidArgument("row " + std::to_string(row) + ": more rows than one batch holds");
    auto cell = [&](const char* name) {
      auto it = col.find(name);
      return it == col.end() || it->second >= cells.size() ? std::string() : Trimmed(cells[it->second]);
    };
    auto bad = [&](const std::string& column, const std::string& msg) {
      plan.errors.push_back({row, "row " + std::to_string(row) + ": column '" + column + "': " + msg});
    };
    if (cells.size() > col.rbegin()->second + 1 && cells.size() > col.size()) {
      bool extra = false;
      for (size_t i = 0; i < cells.size(); ++i) {
        bool named = std::any_of(col.begin(), col.end(), [&](const auto& c) { return c.second == i; });
        extra = extra || (!named && !Trimmed(cells[i]).empty());
      }
      if (extra) {
        plan.errors.push_back({row, "row " + std::to_string(row) + ": a cell outside the header's columns is not empty"});
        continue;
      }
    }
    bool ok = true;
    for (size_t i = 0; i < kRequiredColumns; ++i) {
      if (cell(kColumns[i]).empty()) {
        bad(kColumns[i], "required, the cell is empty");
        ok = false;
      }
    }
    if (!ok) continue;
    auto amount = ParseHumanAmount(cell("amount"));
    if (!amount.ok()) {
      bad("amount", amount.status().message());
      continue;
    }
    json data = {{"fund", fund}, {"child", cell("child")}, {"kind", cell("kind")}, {"amount", *amount},
                 {"method", cell("method").empty() ? "bank" : cell("method")}, {"evidence_sha256", cell("evidence_sha256")}};
    for (const char* opt : {"programme", "month", "sponsorship", "guardian", "override_reason", "paid_from"}) {
      if (!cell(opt).empty()) data[opt] = cell(opt);
    }
    if (!data.contains("paid_from") && data.contains("programme")) data["paid_from"] = "programme";
    std::string key = cell("idempotency_key");
    if (key.empty()) key = "pay:" + plan.file_sha256_hex + ":" + std::to_string(row);
    if (auto [it, fresh] = keys.emplace(key, row); !fresh) {
      bad("idempotency_key", "'" + key + "' is also used by row " + std::to_string(it->second));
      continue;
    }
    json line = {{"type", "disbursement"}, {"idempotency_key", key}, {"data", data}};
    auto draft = ParseJsonLine(line.dump(-1, ' ', false, json::error_handler_t::replace), row);
    if (!draft.ok()) {
      plan.errors.push_back({row, AsRowMessage(draft.status().message(), row)});
      continue;
    }
    auto total = CheckedAdd(plan.total, *amount);
    if (!total.ok()) {
      bad("amount", "the file's total overflows");
      continue;
    }
    plan.total = *total;
    plan.events.push_back(std::move(*draft));
  }
  if (plan.rows == 0) return Status::InvalidArgument("the payments file has a header but no rows");
  return plan;
}

}  // namespace minhbach::import
