// Exports for administrators and publishers, and the printable transparency report (docs/exports.md):
// CSV (statement, disbursements, per-child totals), an XLSX workbook, IATI 2.03 activity XML, 360Giving JSON,
// and an HTML report (PDF through headless Chromium).
//
// Every export is computed from one Snapshot: the log prefix covered by the ledger's latest signed checkpoint,
// never from entries appended after it, so each file can name the checkpoint its numbers come from and an
// inspector can check them against it (`minhbach-verify`, `minhbach prove child`). The same ledger state and
// options give the same bytes: the only time written is the recording time of the checkpoint's last entry.
//
// Money is integer VND (Amount) summed with checked arithmetic. Two places convert to double, both documented
// where they do: XLSX number cells (|amount| <= 2^53, exact) and SVG pixel positions in the report.
//
// Privacy: child ids (pseudonyms) appear only in the administrators' exports (CSV disbursements and children,
// the XLSX workbook). The public ones (IATI, 360Giving, the report) aggregate payments and name no child.
//
// Thread-safety: one thread. A Snapshot keeps a reference to the Ledger it was opened on.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "minhbach/ledger.h"
#include "minhbach/read_models.h"

namespace minhbach::exports {

// ---- facts read from the log prefix (reversed entries keep their row, with reversed_by set) ----

struct FundFact {
  std::string name, organisation, opened_date;
};
struct ProgrammeFact {
  std::string fund, name, legal_basis, opened_date;  // opened_date: recording date (YYYY-MM-DD)
  bool closed = false;
  std::string closed_date;
};
struct DonorFact {
  std::string display_name;  // "" = anonymous
  std::string kind;          // individual | organisation | state_budget
};
struct DonationFact {
  uint64_t seq = 0, reversed_by = 0;
  std::string date, value_date, fund, donor, restriction, restricted_to;
  bool cash = true;
  std::string channel, bank_ref;  // cash
  Amount amount = 0;              // cash amount, or quantity x unit_value for goods
  std::string item, unit;         // goods
  int64_t quantity = 0;
};
struct DisbursementFact {
  uint64_t seq = 0, reversed_by = 0;
  std::string date;  // recording date (local to the entry)
  std::string fund, child, kind, paid_from, programme, sponsorship, month, item, method;
  Amount amount = 0;
  int64_t quantity = 0;
  // The month a programme report files it under: the month covered when stated, else the recording month.
  std::string ReportMonth() const { return month.empty() ? date.substr(0, 7) : month; }
};
struct ExpenseFact {
  uint64_t seq = 0, reversed_by = 0;
  std::string date, value_date, fund, category, paid_from, programme, description, bank_ref;
  Amount amount = 0;
};
struct AllocationFact {
  uint64_t seq = 0, reversed_by = 0;
  std::string date, from_fund, to_fund;
  Amount amount = 0;
};
struct SponsorshipFact {
  uint64_t seq = 0;
  std::string date, sponsorship, sponsor, child, fund;
};

struct LogFacts {
  std::map<std::string, FundFact> funds;
  std::map<std::string, ProgrammeFact> programmes;
  std::map<std::string, DonorFact> donors;
  std::vector<DonationFact> donations;
  std::vector<DisbursementFact> disbursements;
  std::vector<ExpenseFact> expenses;
  std::vector<AllocationFact> allocations;
  std::vector<SponsorshipFact> sponsorships;
  std::vector<std::string> children;  // every registered child id (for privacy checks)
};

// The state every export is computed from: the prefix [0, size) of the latest signed checkpoint.
class Snapshot {
 public:
  // Opens the snapshot at `ledger`'s latest checkpoint. When `stored` (the read models kept beside the ledger)
  // reflects exactly that prefix (`stored_position` == checkpoint size) they are used; otherwise the prefix is
  // replayed into memory (one pass over it). InvalidArgument when the ledger has no signed checkpoint.
  static Result<std::unique_ptr<Snapshot>> Open(const Ledger& ledger, const ReadModels* stored, uint64_t stored_position,
                                                const std::function<void(uint64_t, uint64_t)>& progress = {});
  ~Snapshot();

  const Ledger& ledger() const { return ledger_; }
  const ReadModels& models() const { return *models_; }
  const LogFacts& facts() const { return facts_; }
  uint64_t size() const { return size_; }
  const std::string& root_b64() const { return root_b64_; }
  const std::string& origin() const { return ledger_.origin(); }
  // The signed checkpoint note (with any witness cosignatures), exactly as stored.
  const std::string& checkpoint_note() const { return note_; }
  // RFC 3339 recording time of the last entry in the checkpoint ("generated at" of every export).
  const std::string& as_of_time() const { return as_of_time_; }
  // InvalidArgument "fund 'X' does not exist" unless the fund was opened within the snapshot.
  Status CheckFund(const std::string& fund) const;

 private:
  explicit Snapshot(const Ledger& ledger) : ledger_(ledger) {}
  const Ledger& ledger_;
  std::unique_ptr<MemoryKv> kv_;
  std::unique_ptr<ReadModels> owned_;
  const ReadModels* models_ = nullptr;
  LogFacts facts_;
  uint64_t size_ = 0;
  std::string root_b64_, note_, as_of_time_;
};

// A fund and an inclusive date range (YYYY-MM-DD; "" = open-ended).
struct Filter {
  std::string fund, from, to;
};
// InvalidArgument for a malformed date, from > to, or an unknown fund.
Status CheckFilter(const Snapshot& s, const Filter& f);

// ---- CSV: RFC 4180, UTF-8 with a byte-order mark, CRLF line ends, amounts as integers ----

enum class CsvKind { kStatement, kDisbursements, kChildren };
Result<CsvKind> ParseCsvKind(const std::string& what);  // statement | disbursements | children
Result<std::string> Csv(const Snapshot& s, CsvKind kind, const Filter& f);
// One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF (quotes doubled).
std::string CsvField(const std::string& v);

// The tables behind the CSV files and the workbook: a header and rows of cells. A cell is text, or an amount
// when `amount_cols` marks its column.
struct Sheet {
  std::string name;
  std::vector<std::string> header;
  std::vector<bool> amount_cols;  // per column: VND amount (a number in XLSX)
  std::vector<std::vector<std::string>> rows;
};
Result<Sheet> StatementSheet(const Snapshot& s, const Filter& f);
Result<Sheet> DisbursementsSheet(const Snapshot& s, const Filter& f);
Result<Sheet> ChildrenSheet(const Snapshot& s, const Filter& f);

// ---- XLSX (libxlsxwriter): Balances, Statement, Disbursements, Children, Programmes, Sponsorships, Info ----

// Writes the workbook to `path` (through `path`.partial, renamed when complete).
Status WriteXlsx(const Snapshot& s, const Filter& f, const std::string& path);

// ---- IATI 2.03 activity XML and 360Giving JSON ----

struct PublishOptions {
  std::string fund;
  std::string org_ref;      // the reporting organisation's identifier, e.g. VN-GOV-QNG-CSF (IATI and 360Giving)
  std::string org_type = "15";  // IATI OrganisationType code (15 Other Public Sector)
};
// InvalidArgument when org_ref is empty or holds characters IATI identifiers may not (only A-Z a-z 0-9 - . _).
Status CheckOrgRef(const std::string& org_ref);
Result<std::string> IatiXml(const Snapshot& s, const PublishOptions& o);
Result<std::string> GivingJson(const Snapshot& s, const PublishOptions& o);

// Text made safe for XML and HTML character data and attribute values (& < > " ').
std::string XmlEscape(const std::string& v);

// ---- the printable transparency report ----

struct ReportOptions {
  std::string fund, from, to;  // from and to required
};
Result<std::string> ReportHtml(const Snapshot& s, const ReportOptions& o);

struct PdfOptions {
  std::string chromium = "/usr/bin/chromium";
  int timeout_seconds = 120;
};
// Renders `html` to `pdf_path` with headless Chromium (a subprocess, in a temporary profile). IOError naming
// what to install when Chromium is absent, and when it fails or times out.
Status HtmlToPdf(const std::string& html, const std::string& pdf_path, const PdfOptions& o,
                 std::shared_ptr<spdlog::logger> log);

// ---- helpers shared by the exports ----

// a += b with overflow checked.
Status AddTo(Amount& a, Amount b);
// "YYYY-MM" -> the last day "YYYY-MM-DD" of that month.
std::string LastDayOf(const std::string& month);

}  // namespace minhbach::exports
