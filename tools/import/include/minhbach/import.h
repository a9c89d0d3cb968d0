// Importers: bank statements (sao kê) and payment lists into ledger batches. See docs/import.md.
//
// The importers read untrusted files and turn them into EventDrafts for ONE atomic Ledger::Append: a refused
// import changes nothing. They never write to the ledger themselves; the caller appends the plan.
//
//   CsvReader         streaming RFC 4180 reader (libcsv): BOM, CRLF, quoted newlines, blank lines.
//   Layout            which column holds what in a bank's statement (layouts A, B, or a JSON mapping).
//   StatementReader   statement rows, with amounts and dates parsed and the trailing summary row checked.
//   PlanStatement     reconciliation of printed balances, overlap with earlier statements, event drafts; each
//                     credit's sender recognised by a pseudonym from the vault (FindSender, docs/import.md §5).
//   PlanPayments      one disbursement per row of a payments list.
//
// Memory: a file is never read whole; a plan holds one compact draft (~0.5 KiB) per row because the import is
// one atomic batch (at most kBatchEventsMax events).
//
// Thread-safety: none of these objects is shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "minhbach/entry.h"
#include "minhbach/hash.h"
#include "minhbach/money.h"
#include "minhbach/status.h"

namespace minhbach {
class Ledger;
class Vault;
}

namespace minhbach::import {

// ---- Limits ----
inline constexpr size_t kCsvFieldBytesMax = 64 * 1024;      // one cell
inline constexpr size_t kCsvFieldsMax = 256;                // cells in one record
inline constexpr size_t kCsvChunkBytes = 256 * 1024;        // read and parsed at a time
inline constexpr size_t kHeaderSearchRecordsMax = 30;       // layouts A and B: the header is among the first 30 records
inline constexpr size_t kImportErrorsMax = 50;              // bad rows listed in one refusal
inline constexpr size_t kStatementRowsMax = kBatchEventsMax - 1;  // one slot for the public donor's registration
inline constexpr size_t kMappingBytesMax = 64 * 1024;       // a --mapping file
static_assert(kStatementRowsMax + 1 <= kBatchEventsMax, "a statement and its donor must fit in one batch");
// Sealed texts follow the ledger's field rules for text (docs/format/jsonl.md): one line up to 256 bytes, a
// multi-line text up to 2048 bytes, UTF-8 in both.
inline constexpr size_t kLineTextBytesMax = 256;
inline constexpr size_t kLongTextBytesMax = 2048;

// ---- CSV ----

// Streams records from a CSV file. Records whose cells are all empty (blank lines, ",,,,") are skipped.
class CsvReader {
 public:
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path, char delimiter = ',');
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The next non-blank record; false at the end of the file. Fails with InvalidArgument on malformed quoting
  // or a record beyond the limits, naming the record.
  Result<bool> Next(std::vector<std::string>* fields);
  uint64_t record() const { return record_; }  // 1-based number of the last record returned (blank ones counted)
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t file_bytes() const { return file_bytes_; }

  struct State;  // libcsv callbacks' view

 private:
  CsvReader() = default;
  Status Fill();
  std::unique_ptr<State> st_;
  int fd_ = -1;
  bool eof_ = false;
  uint64_t record_ = 0, bytes_read_ = 0, file_bytes_ = 0;
};

// SHA-256 of a whole file, streamed.
Result<Hash> FileSha256(const std::string& path);

// ---- Amounts and dates ----

// A statement amount in whole VND. `thousands` is the grouping separator ('.', ',', ' ' or 0 for none): digits
// in groups of three after a first group of 1-3, or no separator at all. A fraction of zeros only (".00" when
// grouping with ',', ",00" when grouping with '.') is accepted; any other fraction, a sign, letters or a value
// above 2^63-1 is refused. An empty cell reads as 0. `allow_negative` admits a leading '-' (balances).
Result<Amount> ParseStatementAmount(std::string_view text, char thousands, bool allow_negative = false);

// Date formats of statements: "dd/mm/yyyy", "dd-mm-yyyy", "dd.mm.yyyy", "yyyy-mm-dd", "mm/dd/yyyy".
// Returns YYYY-MM-DD. A date may be followed by a space and a time hh:mm[:ss], returned in *time
// (as hh:mm:ss) when time is not null. ISO "yyyy-mm-dd" is always accepted too (what spreadsheets export).
Result<std::string> ParseStatementDate(std::string_view text, std::string_view format, std::string* time);
// "hh:mm:ss" or "hh:mm" -> "hh:mm:ss"; "" -> "".
Result<std::string> ParseStatementTime(std::string_view text);

// ---- Statement layouts ----

struct Column {
  std::string name;       // header text, matched after trimming, case-insensitively for ASCII
  int index = -1;         // 0-based position; used when >= 0
  bool optional = false;  // a named column the header may lack (layout B's OffsetAccount)
  bool present() const { return index >= 0 || !name.empty(); }
};

struct Layout {
  std::string name;                                                   // "A", "B", "generic"
  Column date, time, doc, ref, details, debit, credit, balance, page;  // date, details and debit/credit required
  Column offset_account;  // the counterparty's account number (personal data: sealed into the vault)
  std::string date_format = "dd/mm/yyyy";
  char thousands = '.';
  char delimiter = ',';
  // Generic: the header is `header_rows` records long and column names are looked up in its last record.
  // Layouts A and B: the header is the first record (among the first kHeaderSearchRecordsMax) that names
  // every column, and what precedes it (the bank's title lines) is skipped.
  size_t header_rows = 1;
  bool find_header = false;
};
Layout LayoutA();
Layout LayoutB();
// Parses a --mapping file (docs/import.md "Generic mapping"); errors name the JSON field.
Result<Layout> LayoutFromMapping(std::string_view json_text);

// One data row of a statement, parsed and normalized (docs/import.md "Line digest").
struct StatementRow {
  uint64_t row = 0;        // 1-based data row number: records after the header, blank records not counted
  std::string page;
  std::string date;        // YYYY-MM-DD
  std::string time;        // hh:mm:ss or ""
  std::string doc, ref;    // one line each, trimmed
  std::string details;     // trimmed; CRLF and CR become LF, tabs become spaces
  std::string offset_account;  // one line, trimmed ("" when the layout has no such column); not in LineDigest
  Amount debit = 0, credit = 0;
  std::optional<Amount> balance;  // printed balance, when the row has one
};

// The row's normalized content:
//   "minhbach-statement-line/1" US date US time US doc US ref US debit US credit US details   (US = 0x1F)
// amounts as decimal integers. Page and printed balance are not part of it (docs/import.md says why).
std::string NormalizedLine(const StatementRow& r);
// The line digest an event carries as line_sha256: HMAC-SHA256 under the vault's secret of
// ("statement-line" 0x00 NormalizedLine): the same line maps to the same digest in this ledger, but nobody
// without the vault can test a guessed line (it holds the sender's name and account).
Hash LineDigest(const StatementRow& r, const Vault& vault);

// Reads statement rows. The trailing summary row (no date, and "Tổng cộng", "Total", "Cộng phát sinh" ... in a
// cell) is skipped and its debit/credit totals, when printed, are checked against the rows' sums.
class StatementReader {
 public:
  static Result<std::unique_ptr<StatementReader>> Open(const std::string& csv_path, const Layout& layout);
  // The next data row; false at the end. A bad row sets *row_error ("row N (page P): column 'X': ...") and
  // returns true: the caller may go on to list every bad row. A returned error (malformed CSV) is final.
  Result<bool> Next(StatementRow* row, Status* row_error);
  const CsvReader& csv() const { return *csv_; }
  bool summary_seen() const { return summary_seen_; }
  Amount debit_sum() const { return debit_sum_; }
  Amount credit_sum() const { return credit_sum_; }

 private:
  StatementReader() = default;
  Status FindHeader();
  Status ParseRecord(const std::vector<std::string>& cells, StatementRow* row);
  Status CheckSummary(const std::vector<std::string>& cells);
  std::string Cell(const std::vector<std::string>& cells, int index) const;

  std::unique_ptr<CsvReader> csv_;
  Layout layout_;
  struct Indexes {
    int date = -1, time = -1, doc = -1, ref = -1, details = -1, debit = -1, credit = -1, balance = -1, page = -1,
        offset_account = -1;
  } idx_;
  size_t columns_ = 0;
  uint64_t rows_ = 0;
  bool summary_seen_ = false;
  Amount debit_sum_ = 0, credit_sum_ = 0;
  std::vector<std::string> cells_;
};

// ---- What the ledger already holds ----

struct PriorLines {
  // Line digests of the fund's donation and expense entries imported from OTHER statement files: digest
  // (32 raw bytes) -> sequence numbers, in log order.
  std::unordered_map<std::string, std::vector<uint64_t>> by_digest;
  uint64_t same_file_entries = 0;  // entries already imported from this very file (they come back as duplicates)
  bool donor_exists = false;       // the donor the import would credit is registered
  uint64_t scanned = 0;            // entries read
  std::unordered_set<std::string> donors;  // every registered donor id (a new pseudonym must be none of them)
  // Donations already imported from this very file: data row -> donor. A re-import files each row under the
  // same donor again, so that it is an exact duplicate whatever the vault's indexes say now.
  std::unordered_map<uint64_t, std::string> same_file_donors;
};
// One pass over the whole log (EntryReader::Open per entry). `file_sha256` selects "this file"'s keys.
Result<PriorLines> ScanPriorLines(const Ledger& ledger, const std::string& fund, const std::string& file_sha256_hex,
                                  const std::string& donor, const std::function<void(uint64_t, uint64_t)>& progress);

// Checks drafts against the domain invariants without writing: replays the whole log into memory, then applies
// each draft in order, skipping (and reporting) every one the ledger would refuse. Returns (index, status) pairs.
Result<std::vector<std::pair<size_t, Status>>> CheckInvariants(const Ledger& ledger, const std::vector<EventDraft>& drafts,
                                                               size_t errors_max);

// ---- Statements ----

struct StatementOptions {
  std::string fund;
  std::string campaign;                   // programme the credits are restricted to and debits paid from
  std::string donor;                      // every credit to this registered donor; empty: each sender's pseudonym
  std::optional<Amount> opening_balance;  // empty: derived from the first printed balance
  bool quarantine = false;                // set disagreeing rows aside instead of refusing the import
  const Vault* vault = nullptr;           // the ledger's vault (Ledger::vault()): senders' pseudonyms. Required
                                          // unless `donor` is given
};

std::string PublicDonorId(const std::string& fund);  // "D-PUBLIC-<fund>"
inline constexpr const char* kPublicDonorName = "Công chúng (sao kê ngân hàng)";

// Who sent a credit, as far as the statement line says (docs/import.md "Senders"): an account number (digits
// only) from the OffsetAccount column, else from the details; a name from the details by a few fixed patterns.
// Either may be empty. Used only to find or make the sender's pseudonym; both values go to the vault.
struct Sender {
  std::string account;
  std::string name;  // as written (case and diacritics kept), words joined by single spaces
};
Sender FindSender(std::string_view offset_account, std::string_view details);
// A new pseudonymous donor id: "D-" and 12 upper-case hex digits from OpenSSL's RAND_bytes.
Result<std::string> NewDonorId();

// Debit rule (docs/import.md "Debits"): bank_fee when the details name a fee, else transfer_out.
bool IsBankFee(std::string_view details);

struct Gap {        // a printed balance that disagrees with opening + credits - debits
  uint64_t row = 0;
  std::string page;
  Amount expected = 0, printed = 0;
  uint64_t since_row = 0;  // first row since the last agreeing balance
};

struct QuarantinedRow {
  StatementRow row;
  std::string line_sha256_hex;
  Gap gap;  // the balance check that failed
};

struct StatementSummary {
  std::string file_sha256_hex;
  uint64_t rows = 0, credits = 0, debits = 0, overlap_rows = 0, quarantined = 0;
  Amount credit_sum = 0, debit_sum = 0;          // over all data rows of the file
  uint64_t balances_printed = 0, balances_agreed = 0;
  Amount opening = 0, closing = 0;               // closing: the running balance after the last row
  bool opening_derived = false;
  bool summary_row = false;                      // a trailing totals row was found (and agreed)
  bool donor_registered = false;                 // the batch registers `donor` (the public donor)
  std::string donor;                             // --donor, else the public donor of unrecognised senders
  uint64_t donors_new = 0;                       // senders given a new pseudonym (registered in the batch)
  uint64_t donors_recognised = 0;                // distinct pseudonyms already in the ledger that credits go to
  uint64_t public_credits = 0;                   // credits filed under the public donor (no sender found)
};

struct StatementPlan {
  StatementSummary summary;
  std::vector<EventDraft> events;           // EventDraft::line = statement data row (for a registration: the
                                            // first row of the donor; 0 for the public donor)
  std::vector<QuarantinedRow> quarantined;
  std::vector<Gap> gaps;                    // every disagreement (refused unless options.quarantine)
};

// Reads the statement (csv_path: the CSV to parse; file_sha256: digest of the file as published, e.g. the
// .xlsx), reconciles it and builds the drafts. Fails with InvalidArgument listing every bad row, every
// balance gap (without quarantine), or an overlap violation. Each credit's sender is looked up in
// options.vault; a sender seen for the first time gets a new pseudonym, registered in the same batch before
// its first donation (donor_registered, idempotency key "donor:<id>").
Result<StatementPlan> PlanStatement(const std::string& csv_path, const Hash& file_sha256, const Layout& layout,
                                    const StatementOptions& options, const PriorLines& prior,
                                    const std::function<void(uint64_t, uint64_t)>& progress);

// Writes the quarantine report: JSON when `path` ends in ".json", else CSV (docs/import.md).
Status WriteQuarantineReport(const std::string& path, const StatementPlan& plan);

// "line N: msg" from Ledger::Append -> "row N: msg" (drafts carry the data row as their line).
Status ToRowStatus(const Status& s);

// ---- Payments ----

struct RowError {
  uint64_t row = 0;  // data row (0: the file as a whole)
  std::string message;  // "row N: column 'x': ..."
};
// "N bad row(s), nothing imported:" and one line per error, in row order (at most kImportErrorsMax).
Status RowErrors(std::vector<RowError> errors);

struct PaymentsPlan {
  std::string file_sha256_hex;
  std::vector<EventDraft> events;  // the good rows; line = data row
  std::vector<RowError> errors;    // every bad row (parse and field rules)
  uint64_t rows = 0;
  Amount total = 0;
};
// One disbursement per data row (docs/import.md "Payments"). A bad row goes to plan.errors (every one is
// listed); a returned error concerns the whole file (unreadable, bad header).
Result<PaymentsPlan> PlanPayments(const std::string& csv_path, const Hash& file_sha256, const std::string& fund);

// ---- XLSX ----

// A temporary file removed when the object dies.
class TempFile {
 public:
  TempFile() = default;
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  TempFile(TempFile&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};
bool IsXlsx(const std::string& path);  // by the file's first bytes (a zip archive) and its name
// Converts the first sheet with Debian's xlsx2csv (run as a subprocess, no shell). `date_format` is the
// strftime format xlsx2csv writes date cells in. NotFound-style InvalidArgument when xlsx2csv is absent.
Result<TempFile> XlsxToCsv(const std::string& xlsx_path, const std::string& date_format);

}  // namespace minhbach::import
