// The importers: `import statement` (bank statements, sao kê) and `import payments` (payment lists). Each plans
// the whole file first, then appends it as ONE atomic batch: a refused import leaves the ledger as it was.
// See docs/import.md.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli.h"
#include "cli_util.h"
#include "minhbach/import.h"
#include "minhbach/money.h"

namespace minhbach::app {
namespace {

using nlohmann::json;
namespace imp = minhbach::import;

struct StatementArgs {
  std::string file, layout, mapping, fund, campaign, donor, quarantine;
  std::optional<int64_t> opening;
  bool dry_run = false;
};

struct PaymentsArgs {
  std::string file, fund;
  bool dry_run = false;
};

// strftime format for xlsx2csv's date cells, matching the layout's date format.
std::string StrftimeFor(const std::string& date_format) {
  if (date_format == "yyyy-mm-dd") return "%Y-%m-%d";
  if (date_format == "mm/dd/yyyy") return "%m/%d/%Y";
  std::string sep(1, date_format.size() > 2 ? date_format[2] : '/');
  return "%d" + sep + "%m" + sep + "%Y";
}

// The file to parse: the input itself, or a CSV converted from a spreadsheet.
Result<std::string> CsvOf(const std::string& file, const std::string& date_format, std::optional<imp::TempFile>* temp) {
  if (!imp::IsXlsx(file)) return file;
  MB_ASSIGN_OR_RETURN(imp::TempFile t, imp::XlsxToCsv(file, StrftimeFor(date_format)));
  temp->emplace(std::move(t));
  return (*temp)->path();
}

// Invariant failures of every draft (a dry run against the log), as "row N: ..." errors.
Status ListInvariantFailures(const Ledger& l, const std::vector<EventDraft>& events, std::vector<imp::RowError> errors) {
  MB_ASSIGN_OR_RETURN(auto failures, imp::CheckInvariants(l, events, imp::kImportErrorsMax));
  for (const auto& [i, s] : failures) errors.push_back({events[i].line, imp::ToRowStatus(s).message()});
  if (errors.empty()) return Status::Ok();
  return imp::RowErrors(std::move(errors));
}

json SummaryJson(const imp::StatementPlan& p, const std::optional<AppendResult>& r) {
  const imp::StatementSummary& s = p.summary;
  json j = {{"ok", true},
            {"file_sha256", s.file_sha256_hex},
            {"rows", s.rows},
            {"credits", s.credits},
            {"debits", s.debits},
            {"credit_sum", s.credit_sum},
            {"debit_sum", s.debit_sum},
            {"balances_printed", s.balances_printed},
            {"balances_agreed", s.balances_agreed},
            {"gaps", p.gaps.size()},
            {"overlap_rows", s.overlap_rows},
            {"quarantined", s.quarantined},
            {"opening", s.balances_printed || s.opening ? json(s.opening) : json()},
            {"opening_derived", s.opening_derived},
            {"closing", s.balances_printed || s.opening ? json(s.closing) : json()},
            {"summary_row", s.summary_row},
            {"donor", s.donor},
            {"donor_registered", s.donor_registered},
            {"donors_new", s.donors_new},
            {"donors_recognised", s.donors_recognised},
            {"public_credits", s.public_credits},
            {"events", p.events.size()}};
  j["dry_run"] = !r.has_value();
  if (r) {
    j["appended"] = r->appended;
    j["duplicates"] = r->duplicates.size();
    j["size"] = r->size;
    if (r->appended) {
      j["first_seq"] = r->first_seq;
      j["last_seq"] = r->first_seq + r->appended - 1;
    }
  }
  return j;
}

void PrintSummary(const imp::StatementPlan& p, const std::optional<AppendResult>& r, const StatementArgs& a) {
  const imp::StatementSummary& s = p.summary;
  auto vnd = [](Amount v) { return (v < 0 ? "-" : "") + cli::Grouped(static_cast<uint64_t>(v < 0 ? -v : v)); };
  cli::Table t({"statement " + a.file, ""}, {false, true});
  t.Row({"file sha256", s.file_sha256_hex});
  t.Row({"rows", cli::Grouped(s.rows)});
  t.Row({"credits -> donation_received", cli::Grouped(s.credits) + " rows, " + vnd(s.credit_sum) + " VND"});
  t.Row({"debits -> expense", cli::Grouped(s.debits) + " rows, " + vnd(s.debit_sum) + " VND"});
  t.Row({"printed balances reconciled", cli::Grouped(s.balances_agreed) + " of " + cli::Grouped(s.balances_printed)});
  t.Row({"overlap rows (already imported)", cli::Grouped(s.overlap_rows)});
  t.Row({"quarantined", cli::Grouped(s.quarantined) + (a.quarantine.empty() ? "" : " (" + a.quarantine + ")")});
  if (s.balances_printed || s.opening) {
    t.Row({"opening balance", vnd(s.opening) + (s.opening_derived ? " (from the first printed balance)" : "")});
    t.Row({"closing balance", vnd(s.closing)});
  }
  t.Row({"summary row", s.summary_row ? "totals agree" : "none"});
  if (a.donor.empty()) {
    t.Row({"senders: new donors (pseudonyms)", cli::Grouped(s.donors_new) + " registered now"});
    t.Row({"senders: donors recognised", cli::Grouped(s.donors_recognised) + " already in the ledger"});
    t.Row({"sender not found -> public donor", cli::Grouped(s.public_credits) + " credits to " + s.donor +
                                                   (s.donor_registered ? " (registered now)" : "")});
  } else {
    t.Row({"donor (--donor)", s.donor + ": every credit"});
  }
  if (r) {
    t.Row({"duplicates (already imported)", cli::Grouped(r->duplicates.size())});
    t.Row({"appended", r->appended ? cli::Grouped(r->appended) + " entries: seq " + std::to_string(r->first_seq) + ".." +
                                         std::to_string(r->first_seq + r->appended - 1)
                                   : "nothing"});
    t.Row({"log size", cli::Grouped(r->size)});
  } else {
    t.Row({"dry run", cli::Grouped(p.events.size()) + " events would be appended"});
  }
  std::cout << t.Render();
}

Result<imp::Layout> LayoutOf(const StatementArgs& a) {
  if (a.layout == "A") return imp::LayoutA();
  if (a.layout == "B") return imp::LayoutB();
  if (a.mapping.empty()) return Status::InvalidArgument("--layout generic needs --mapping MAP.json (docs/import.md)");
  MB_ASSIGN_OR_RETURN(std::string text, cli::ReadTextFile(a.mapping, "mapping file"));
  return imp::LayoutFromMapping(text);
}

int ImportStatement(const Globals& g, const StatementArgs& a) {
  auto layout = LayoutOf(a);
  if (!layout.ok()) return Fail(g, layout.status());
  if (a.layout != "generic" && !a.mapping.empty()) {
    return Fail(g, Status::InvalidArgument("--mapping goes with --layout generic"));
  }
  auto ctx = Context(g);
  if (!ctx.ok()) return Fail(g, ctx.status());
  auto digest = imp::FileSha256(a.file);
  if (!digest.ok()) return Fail(g, digest.status());
  std::optional<imp::TempFile> temp;
  auto csv = CsvOf(a.file, layout->date_format, &temp);
  if (!csv.ok()) return Fail(g, csv.status());
  // Writers take the ledger's lock before planning: nothing can be appended between the scan and the append.
  auto l = OpenLedger(g, a.dry_run);
  if (!l.ok()) return Fail(g, l.status());

  imp::StatementOptions o;
  o.fund = a.fund;
  o.campaign = a.campaign;
  o.donor = a.donor;
  o.opening_balance = a.opening;
  o.quarantine = !a.quarantine.empty();
  o.vault = &(*l)->vault();
  const std::string hex = HexEncode(*digest);
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  Result<imp::PriorLines> prior = Status::Internal("not scanned");
  {
    cli::Progress progress("scan ledger", !g.json);
    prior = imp::ScanPriorLines(**l, o.fund, hex, o.donor.empty() ? imp::PublicDonorId(o.fund) : o.donor,
                                [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
  }
  if (!prior.ok()) return Fail(g, prior.status());
  const double scan_s = since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  Result<imp::StatementPlan> plan = Status::Internal("not planned");
  {
    cli::Progress progress("read statement (bytes)", !g.json);
    plan = imp::PlanStatement(*csv, *digest, *layout, o, *prior,
                              [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
  }
  if (!plan.ok()) return Fail(g, plan.status());
  const double plan_s = since(t1);
  g.log->info("statement {}: {} rows, {} events, {} overlap, {} quarantined", a.file, plan->summary.rows,
              plan->events.size(), plan->summary.overlap_rows, plan->summary.quarantined);
  const auto t2 = std::chrono::steady_clock::now();

  std::optional<AppendResult> appended;
  if (a.dry_run) {
    Status s = ListInvariantFailures(**l, plan->events, {});
    if (!s.ok()) return Fail(g, s);
  } else if (!plan->events.empty()) {
    auto r = (*l)->Append(plan->events, *ctx);
    if (!r.ok()) {
      // The batch was refused whole; list every row the ledger refuses, not only the first.
      Status listed = r.status().IsInvalidArgument() ? ListInvariantFailures(**l, plan->events, {}) : Status::Ok();
      return Fail(g, listed.ok() ? imp::ToRowStatus(r.status()) : listed);
    }
    appended = std::move(*r);
  } else {
    appended = AppendResult{(*l)->size(), 0, (*l)->size(), {}};
  }
  g.log->info("time: scan of the log {:.3f} s, read and plan {:.3f} s, {} {:.3f} s", scan_s, plan_s,
              a.dry_run ? "invariant check" : "append", since(t2));
  if (!a.quarantine.empty()) {
    Status s = imp::WriteQuarantineReport(a.quarantine, *plan);
    if (!s.ok()) return Fail(g, s.WithContext(appended && appended->appended ? "the rows were appended, but" : "report"));
  }
  if (g.json) {
    json j = SummaryJson(*plan, appended);
    if (!a.quarantine.empty()) j["quarantine_report"] = a.quarantine;
    std::cout << Dump(j) << "\n";
  } else {
    PrintSummary(*plan, appended, a);
  }
  return 0;
}

int ImportPayments(const Globals& g, const PaymentsArgs& a) {
  auto ctx = Context(g);
  if (!ctx.ok()) return Fail(g, ctx.status());
  auto digest = imp::FileSha256(a.file);
  if (!digest.ok()) return Fail(g, digest.status());
  std::optional<imp::TempFile> temp;
  auto csv = CsvOf(a.file, "yyyy-mm-dd", &temp);
  if (!csv.ok()) return Fail(g, csv.status());
  auto plan = imp::PlanPayments(*csv, *digest, a.fund);
  if (!plan.ok()) return Fail(g, plan.status());
  auto l = OpenLedger(g, a.dry_run);
  if (!l.ok()) return Fail(g, l.status());
  std::optional<AppendResult> appended;
  if (a.dry_run || !plan->errors.empty()) {
    Status s = ListInvariantFailures(**l, plan->events, plan->errors);
    if (!s.ok()) return Fail(g, s);
  } else {
    auto r = (*l)->Append(plan->events, *ctx);
    if (!r.ok()) {
      Status listed = r.status().IsInvalidArgument() ? ListInvariantFailures(**l, plan->events, {}) : Status::Ok();
      return Fail(g, listed.ok() ? imp::ToRowStatus(r.status()) : listed);
    }
    appended = std::move(*r);
  }
  if (g.json) {
    json j = {{"ok", true}, {"file_sha256", plan->file_sha256_hex}, {"rows", plan->rows}, {"total", plan->total},
              {"dry_run", a.dry_run}};
    if (appended) {
      j["appended"] = appended->appended;
      j["duplicates"] = appended->duplicates.size();
      j["size"] = appended->size;
      if (appended->appended) {
        j["first_seq"] = appended->first_seq;
        j["last_seq"] = appended->first_seq + appended->appended - 1;
      }
    }
    std::cout << Dump(j) << "\n";
    return 0;
  }
  std::cout << "payments " << a.file << " (sha256 " << plan->file_sha256_hex << "): " << cli::Grouped(plan->rows)
            << " rows, " << cli::Grouped(static_cast<uint64_t>(plan->total)) << " VND\n";
  if (!appended) {
    std::cout << "dry run: every row passes the field rules and the ledger's invariants; nothing appended\n";
  } else if (appended->appended) {
    std::cout << "appended " << cli::Grouped(appended->appended) << " disbursements: seq " << appended->first_seq << ".."
              << appended->first_seq + appended->appended - 1 << " (log size " << cli::Grouped(appended->size) << ")\n";
  } else {
    std::cout << "appended nothing (log size " << cli::Grouped(appended->size) << ")\n";
  }
  if (appended && !appended->duplicates.empty()) {
    std::cout << "  " << cli::Grouped(appended->duplicates.size()) << " row(s) were already imported (duplicates)\n";
  }
  return 0;
}

}  // namespace

void RegisterImportCommands(CLI::App& app, const Globals& g, std::vector<Command>& out) {
  auto* imp_cmd = app.add_subcommand("import", "Import a bank statement or a payments list as one atomic batch");
  imp_cmd->require_subcommand(1);
  imp_cmd->fallthrough();

  auto sa = std::make_shared<StatementArgs>();
  auto* st = imp_cmd->add_subcommand("statement", "Import a bank statement (CSV or XLSX): credits become donations, "
                                                  "debits expenses; printed balances reconciled (docs/import.md)");
  st->add_option("file", sa->file, "Statement file (.csv or .xlsx)")->required();
  st->add_option("--layout", sa->layout, "Column layout: A, B or generic")->required()->check(CLI::IsMember({"A", "B", "generic"}));
  st->add_option("--mapping", sa->mapping, "Column mapping JSON for --layout generic");
  st->add_option("--fund", sa->fund, "Fund the bank account belongs to")->required();
  st->add_option("--campaign", sa->campaign, "Programme the credits are restricted to (and debits paid from)");
  st->add_option("--donor", sa->donor, "Registered donor to credit (default: the fund's public donor D-PUBLIC-<fund>)");
  st->add_option("--quarantine", sa->quarantine, "Import the rows that reconcile; write the others to this report (.csv or .json)");
  st->add_option("--opening-balance", sa->opening, "Balance before the first row (default: from the first printed balance)");
  st->add_flag("--dry-run", sa->dry_run, "Check everything (including the ledger's invariants); append nothing");
  out.push_back({st, [&g, sa] { return ImportStatement(g, *sa); }});

  auto pa = std::make_shared<PaymentsArgs>();
  auto* pay = imp_cmd->add_subcommand("payments", "Import a payments list (CSV or XLSX): one disbursement per row, "
                                                  "all rows or none (docs/import.md)");
  pay->add_option("file", pa->file, "Payments file (.csv or .xlsx)")->required();
  pay->add_option("--fund", pa->fund, "Paying fund")->required();
  pay->add_flag("--dry-run", pa->dry_run, "Check every row against the field rules and the ledger's invariants; append nothing");
  out.push_back({pay, [&g, pa] { return ImportPayments(g, *pa); }});
}

}  // namespace minhbach::app
