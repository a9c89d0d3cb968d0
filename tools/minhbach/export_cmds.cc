// Exports for administrators and publishers (`export csv|xlsx|iati|360giving`) and the printable transparency
// report (`report`). Each is computed from the latest signed checkpoint (docs/exports.md).
#include <algorithm>
#include <iostream>

#include "cli.h"
#include "cli_util.h"
#include "minhbach/exports.h"

namespace minhbach::app {
namespace {

using nlohmann::json;

struct Options {
  std::string what, fund, from, to, out, org_ref, org_type = "15", format = "html", chromium = "/usr/bin/chromium";
};

// The snapshot at the latest signed checkpoint: the stored read models when they reflect exactly that prefix,
// else a replay of it into memory.
Result<std::unique_ptr<exports::Snapshot>> OpenSnapshot(const Globals& g, ReadSide& side) {
  MB_ASSIGN_OR_RETURN(side, OpenReadSide(g));
  cli::Progress progress("replay to the checkpoint", !g.json);
  auto s = exports::Snapshot::Open(*side.ledger, &side.projections->models(), side.projections->position(),
                                   [&](uint64_t d, uint64_t t) { progress.Update(d, t); });
  progress.Finish();
  return s;
}

int Done(const Globals& g, const exports::Snapshot& s, const std::string& what, const std::string& file, size_t bytes) {
  uint64_t later = s.ledger().size() - s.size();
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"export", what}, {"file", file}, {"bytes", bytes}, {"tree_size", s.size()},
                           {"root", s.root_b64()}, {"as_of", s.as_of_time()}, {"not_yet_checkpointed", later}})
              << "\n";
    return 0;
  }
  std::cout << "wrote " << what << " to " << file << " (" << cli::Grouped(bytes) << " bytes) from the signed checkpoint of size "
            << cli::Grouped(s.size()) << ", root " << s.root_b64() << "\n";
  if (later) {
    std::cout << "  " << later << " newer entries are not in a signed checkpoint yet and were left out (run `minhbach "
              << "checkpoint` first to include them)\n";
  }
  return 0;
}

// Runs `make` (which produces the file's bytes) on the snapshot and writes them atomically to o.out.
int WriteExport(const Globals& g, const Options& o, const std::string& what,
                const std::function<Result<std::string>(const exports::Snapshot&)>& make) {
  if (o.out.empty()) return Fail(g, Status::InvalidArgument("--out is required"));
  ReadSide side;
  auto s = OpenSnapshot(g, side);
  if (!s.ok()) return Fail(g, s.status());
  auto data = make(**s);
  if (!data.ok()) return Fail(g, data.status());
  if (Status w = cli::WriteFileAtomically(o.out, *data, 0644); !w.ok()) return Fail(g, w);
  return Done(g, **s, what, o.out, data->size());
}

int Xlsx(const Globals& g, const Options& o) {
  if (o.out.empty()) return Fail(g, Status::InvalidArgument("--out is required"));
  ReadSide side;
  auto s = OpenSnapshot(g, side);
  if (!s.ok()) return Fail(g, s.status());
  if (Status w = exports::WriteXlsx(**s, {o.fund, o.from, o.to}, o.out); !w.ok()) return Fail(g, w);
  std::error_code ec;
  return Done(g, **s, "xlsx", o.out, static_cast<size_t>(std::filesystem::file_size(o.out, ec)));
}

int Report(const Globals& g, const Options& o) {
  if (o.format != "html" && o.format != "pdf") {
    return Fail(g, Status::InvalidArgument("--format must be html or pdf, got '" + o.format + "'"));
  }
  if (o.out.empty()) return Fail(g, Status::InvalidArgument("--out is required"));
  ReadSide side;
  auto s = OpenSnapshot(g, side);
  if (!s.ok()) return Fail(g, s.status());
  auto html = exports::ReportHtml(**s, {o.fund, o.from, o.to});
  if (!html.ok()) return Fail(g, html.status());
  Status w = o.format == "html" ? cli::WriteFileAtomically(o.out, *html, 0644)
                                : exports::HtmlToPdf(*html, o.out, {o.chromium, 120}, g.log);
  if (!w.ok()) return Fail(g, w);
  std::error_code ec;
  return Done(g, **s, "report (" + o.format + ")", o.out, static_cast<size_t>(std::filesystem::file_size(o.out, ec)));
}

void FundOptions(CLI::App* c, Options& o, bool period) {
  c->add_option("--fund", o.fund, "Fund id")->required();
  if (period) {
    c->add_option("--from", o.from, "First date YYYY-MM-DD (inclusive)");
    c->add_option("--to", o.to, "Last date YYYY-MM-DD (inclusive)");
  }
  c->add_option("--out", o.out, "File to write (replaced atomically)")->required();
}

}  // namespace

void RegisterExportCommands(CLI::App& app, const Globals& g, std::vector<Command>& out) {
  auto o = std::make_shared<Options>();
  CLI::App* ex = app.get_subcommand("export");  // made by RegisterAuditCommands: the audit bundle
  std::vector<Command> mine;

  auto* csv = ex->add_subcommand("csv", "RFC 4180 CSV (UTF-8 with BOM, CRLF) of a fund's statement, disbursements or "
                                        "per-child totals");
  csv->add_option("--what", o->what, "statement | disbursements | children")->required();
  FundOptions(csv, *o, true);
  mine.push_back({csv, [&g, o] {
                    auto kind = exports::ParseCsvKind(o->what);
                    if (!kind.ok()) return Fail(g, kind.status());
                    return WriteExport(g, *o, "csv " + o->what, [&](const exports::Snapshot& s) {
                      return exports::Csv(s, *kind, {o->fund, o->from, o->to});
                    });
                  }});

  auto* xlsx = ex->add_subcommand("xlsx", "Workbook for administrators: balances, statement, disbursements, children, "
                                          "programmes, sponsorships, info");
  FundOptions(xlsx, *o, true);
  mine.push_back({xlsx, [&g, o] { return Xlsx(g, *o); }});

  auto* iati = ex->add_subcommand("iati", "IATI 2.03 activity XML: one activity per programme and one for general work");
  auto* giving = ex->add_subcommand("360giving", "360Giving JSON: the programmes' payments, aggregated by month");
  for (auto* c : {iati, giving}) {
    FundOptions(c, *o, false);
    c->add_option("--org-ref", o->org_ref, "Organisation identifier of the fund, e.g. VN-GOV-QNG-CSF")->required();
  }
  iati->add_option("--org-type", o->org_type, "IATI OrganisationType code of the reporting org (default 15)");
  mine.push_back({iati, [&g, o] {
                    return WriteExport(g, *o, "iati", [&](const exports::Snapshot& s) {
                      return exports::IatiXml(s, {o->fund, o->org_ref, o->org_type});
                    });
                  }});
  mine.push_back({giving, [&g, o] {
                    return WriteExport(g, *o, "360giving", [&](const exports::Snapshot& s) {
                      return exports::GivingJson(s, {o->fund, o->org_ref, o->org_type});
                    });
                  }});

  auto* rep = app.add_subcommand("report", "Printable transparency report of a fund for a period (HTML or PDF)");
  rep->add_option("--fund", o->fund, "Fund id")->required();
  rep->add_option("--from", o->from, "First date YYYY-MM-DD")->required();
  rep->add_option("--to", o->to, "Last date YYYY-MM-DD")->required();
  rep->add_option("--format", o->format, "html (default) or pdf (headless chromium)");
  rep->add_option("--out", o->out, "File to write")->required();
  rep->add_option("--chromium", o->chromium, "Chromium binary for PDF (default /usr/bin/chromium)");
  mine.push_back({rep, [&g, o] { return Report(g, *o); }});

  // The bundle command (`export --to DIR`) runs only when no format was named: keep it after its children.
  auto parent = std::find_if(out.begin(), out.end(), [ex](const Command& c) { return c.sub == ex; });
  out.insert(parent, mine.begin(), mine.end());
}

}  // namespace minhbach::app
