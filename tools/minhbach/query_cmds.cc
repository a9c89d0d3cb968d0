// The read-side commands. Each prints a table for people, or everything with --json; unknown ids exit 2.
#include <chrono>
#include <iostream>
#include <optional>

#include "cli.h"
#include "cli_util.h"
#include "minhbach/entry.h"
#include "minhbach/money.h"

namespace minhbach::app {
namespace {

using nlohmann::json;

std::string Vnd(Amount a) { return FormatVnd(a); }

// The log prefix a --as-of / --as-of-seq asks for: entries [0, n).
Result<uint64_t> PrefixFor(const Ledger& l, std::optional<uint64_t> as_of_seq, const std::string& as_of_date) {
  if (as_of_seq) {
    if (*as_of_seq >= l.size()) {
      return Status::InvalidArgument("--as-of-seq " + std::to_string(*as_of_seq) + " is beyond the log (size " +
                                     std::to_string(l.size()) + ")");
    }
    return *as_of_seq + 1;
  }
  MB_RETURN_IF_ERROR(CheckDate(as_of_date).WithContext("--as-of"));
  // The log is in recording order: the prefix ends before the first entry recorded after that day.
  uint64_t n = 0;
  Status inner;
  MB_RETURN_IF_ERROR(l.ScanEntries(0, l.size(), [&](uint64_t seq, std::string_view bytes) {
    auto r = EntryReader::Open(bytes);
    if (!r.ok()) {
      inner = r.status();
      return false;
    }
    auto root = r->root();
    if (FormatTimestamp(root.getRecordedAtMicros(), root.getTzOffsetMinutes()).substr(0, 10) > as_of_date) return false;
    n = seq + 1;
    return true;
  }));
  MB_RETURN_IF_ERROR(inner);
  return n;
}

int Balance(const Globals& g, const std::string& fund, std::optional<uint64_t> as_of_seq, const std::string& as_of) {
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  std::unique_ptr<Projections> p;
  MemoryKv past;
  std::unique_ptr<ReadModels> past_models;
  const ReadModels* models = nullptr;
  uint64_t position = 0;
  if (as_of_seq || !as_of.empty()) {
    auto n = PrefixFor(**l, as_of_seq, as_of);
    if (!n.ok()) return Fail(g, n.status());
    cli::Progress progress("replay", !g.json);
    Status s = ReplayInto(**l, *n, past, [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
    progress.Finish();
    if (!s.ok()) return Fail(g, s);
    past_models = std::make_unique<ReadModels>(past, [&](uint64_t seq) { return (*l)->GetEntry(seq); });
    models = past_models.get();
    position = *n;
  } else {
    auto opened = OpenReadModels(g, **l);
    if (!opened.ok()) return Fail(g, opened.status());
    p = std::move(*opened);
    models = &p->models();
    position = p->position();
  }
  auto rows = models->Balances(fund);
  if (!rows.ok()) return Fail(g, rows.status());
  if (g.json) {
    json a = json::array();
    for (const auto& r : *rows) a.push_back(ToJson(r));
    std::cout << Dump(json{{"ok", true}, {"entries", position}, {"balances", a}}) << "\n";
    return 0;
  }
  cli::Table t({"fund", "sub-account", "received", "allocated in", "allocated out", "disbursed", "expensed", "balance"},
               {false, false, true, true, true, true, true, true});
  for (const auto& r : *rows) {
    t.Row({r.fund, r.subaccount, Vnd(r.received), Vnd(r.allocated_in), Vnd(r.allocated_out), Vnd(r.disbursed),
           Vnd(r.expensed), Vnd(r.balance)});
  }
  std::cout << t.Render() << "(sub-accounts: u = unrestricted, p:<programme>, c:<child>; after the first "
            << cli::Grouped(position) << " entries)\n";
  return 0;
}

int Child(const Globals& g, const std::string& child) {
  auto side = OpenReadSide(g);
  if (!side.ok()) return Fail(g, side.status());
  const auto& p = side->projections;
  auto rows = p->models().ChildHistory(child);
  if (!rows.ok()) return Fail(g, rows.status());
  auto totals_or = TotalsOf(*rows);
  if (!totals_or.ok()) return Fail(g, totals_or.status());
  const ChildTotals& totals = *totals_or;
  if (g.json) {
    json a = json::array();
    for (const auto& r : *rows) a.push_back(ToJson(r));
    std::cout << Dump(json{{"ok", true}, {"child", child}, {"history", a}, {"totals", ToJson(totals)}}) << "\n";
    return 0;
  }
  cli::Table t({"seq", "date", "event", "kind", "month", "amount", "goods", "from / note", "status"},
               {true, false, false, false, false, true, false, false, false});
  for (const auto& r : *rows) {
    std::string status = r.reversed_by ? "reversed by " + std::to_string(r.reversed_by)
                                       : r.reverses ? "reverses " + std::to_string(r.reverses) : "";
    std::string goods = r.item.empty() ? "" : std::to_string(r.quantity) + " x " + r.item;
    t.Row({std::to_string(r.seq), r.recorded_at.substr(0, 10), r.type, r.kind, r.month, r.amount ? Vnd(r.amount) : "",
           goods, cli::Truncate(r.from, 40), status});
  }
  std::cout << "child " << child << "\n" << t.Render();
  cli::Table by({"programme", "paid"}, {false, true});
  for (const auto& [prog, a] : totals.by_programme) by.Row({prog.empty() ? "(no programme)" : prog, Vnd(a)});
  cli::Table years({"year", "paid"}, {false, true});
  for (const auto& [y, a] : totals.by_year) years.Row({y, Vnd(a)});
  std::cout << "\nby programme\n" << by.Render() << "\nby year\n" << years.Render()
            << "total paid to or for the child (after reversals): " << Vnd(totals.total) << "\n";
  return 0;
}

int Sponsorships(const Globals& g, const std::string& child, bool arrears_only, std::string as_of) {
  if (as_of.empty()) as_of = CurrentMonth();
  if (auto m = ParseMonth(as_of); !m.ok()) return Fail(g, m.status().WithContext("--as-of"));
  auto side = OpenReadSide(g);
  if (!side.ok()) return Fail(g, side.status());
  const auto& p = side->projections;
  auto rows = p->models().Sponsorships(child, as_of);
  if (!rows.ok()) return Fail(g, rows.status());
  auto compliance = ComplianceOf(*rows, as_of);
  if (!compliance.ok()) return Fail(g, compliance.status());
  const Compliance& c = *compliance;
  if (g.json) {
    json a = json::array();
    for (const auto& r : *rows) {
      if (!arrears_only || !r.missing.empty()) a.push_back(ToJson(r));
    }
    json j = ToJson(c);
    j["ok"] = true;
    j["rows"] = a;
    std::cout << Dump(j) << "\n";
    return 0;
  }
  cli::Table t({"sponsorship", "child", "sponsor", "months", "due", "paid", "missing", "owed", "still committed"},
               {false, false, false, false, true, true, false, true, true});
  for (const auto& r : *rows) {
    if (arrears_only && r.missing.empty()) continue;
    std::string missing = r.missing.size() <= 3 ? "" : std::to_string(r.missing.size()) + ": ";
    for (size_t i = 0; i < r.missing.size() && i < 3; ++i) missing += (i ? " " : "") + r.missing[i];
    if (r.missing.size() > 3) missing += " ...";
    t.Row({r.id, r.child, cli::Truncate(r.sponsor, 24), r.first_month + ".." + r.last_month + (r.ended ? " (ended)" : ""),
           std::to_string(r.months_due), std::to_string(r.months_paid), missing, Vnd(r.owed), Vnd(r.committed)});
  }
  std::cout << t.Render() << "as of " << as_of << ": " << c.sponsorships << " sponsorships, "
            << c.sponsorships - c.in_arrears << " fully paid, " << c.in_arrears << " in arrears (" << c.months_missing
            << " months, " << Vnd(c.owed) << ")\n";
  return 0;
}

int Donor(const Globals& g, const std::string& donor) {
  auto side = OpenReadSide(g);
  if (!side.ok()) return Fail(g, side.status());
  const auto& p = side->projections;
  auto t = p->models().Donor(donor);
  if (!t.ok()) return Fail(g, t.status());
  if (g.json) {
    json j = ToJson(*t);
    j["ok"] = true;
    std::cout << Dump(j) << "\n";
    return 0;
  }
  std::cout << "donor " << t->donor << " (" << t->display_name << ", " << t->kind << ")\n";
  cli::Table table({"donation", "value date", "fund", "for", "given", "", "used by", "kind", "to", "amount", "status"},
                   {true, false, false, false, true, false, true, false, false, true, false});
  for (const auto& d : t->donations) {
    std::string given = d.kind == "cash" ? Vnd(d.amount) : std::to_string(d.quantity) + " x " + d.item;
    std::string status = d.reversed_by ? "reversed by " + std::to_string(d.reversed_by) : "";
    table.Row({std::to_string(d.seq), d.date, d.fund, d.subaccount, given, "", "", "", "", "", status});
    for (const auto& u : d.uses) {
      std::string to = !u.child.empty() ? "child " + u.child : !u.programme.empty() ? "programme " + u.programme : u.fund;
      table.Row({"", "", "", "", "", "->", std::to_string(u.seq), u.kind, to, Vnd(u.amount),
                 u.reversed_by ? "reversed by " + std::to_string(u.reversed_by) : ""});
    }
    if (d.kind == "cash" && !d.reversed_by) {
      table.Row({"", "", "", "", "", "", "", "unspent", "", Vnd(d.unspent), ""});
    }
  }
  std::cout << table.Render() << "given " << Vnd(t->given) << ", used " << Vnd(t->used) << ", unspent "
            << Vnd(t->unspent) << " (unrestricted money is used first in, first out within a fund: docs/projections.md)\n";
  return 0;
}

int Programme(const Globals& g, const std::string& id) {
  auto side = OpenReadSide(g);
  if (!side.ok()) return Fail(g, side.status());
  const auto& p = side->projections;
  const ReadModels& m = p->models();
  std::vector<std::string> ids;
  if (id.empty()) {
    auto all = m.ProgrammeIds();
    if (!all.ok()) return Fail(g, all.status());
    ids = *all;
  } else {
    ids.push_back(id);
  }
  std::vector<ProgrammeReport> reports;
  for (const auto& one : ids) {
    auto r = m.Programme(one);
    if (!r.ok()) return Fail(g, r.status());
    reports.push_back(std::move(*r));
  }
  auto share = [](const ProgrammeReport& r) {
    if (r.share_to_children_permille < 0) return std::string("-");
    return std::to_string(r.share_to_children_permille / 10) + "." + std::to_string(r.share_to_children_permille % 10) + "%";
  };
  if (g.json) {
    json a = json::array();
    for (const auto& r : reports) a.push_back(ToJson(r));
    std::cout << Dump(id.empty() ? json{{"ok", true}, {"programmes", a}} : [&] { json j = a[0]; j["ok"] = true; return j; }())
              << "\n";
    return 0;
  }
  if (id.empty()) {
    cli::Table t({"programme", "fund", "received", "disbursed", "expensed", "children", "goods value", "to children", "status"},
                 {false, false, true, true, true, true, true, true, false});
    for (const auto& r : reports) {
      t.Row({r.programme, r.fund, Vnd(r.received + r.allocated_in - r.allocated_out), Vnd(r.disbursed), Vnd(r.expensed),
             std::to_string(r.children_reached), Vnd(r.in_kind_value), share(r), r.closed ? "closed" : "open"});
    }
    std::cout << t.Render();
    return 0;
  }
  const ProgrammeReport& r = reports[0];
  std::cout << "programme " << r.programme << ": " << r.name << " (fund " << r.fund << (r.closed ? ", closed" : "")
            << ")\nreceived " << Vnd(r.received) << ", allocated in " << Vnd(r.allocated_in) << ", out "
            << Vnd(r.allocated_out) << "\ndisbursed " << Vnd(r.disbursed) << " in " << r.disbursements
            << " payments to " << r.children_reached << " children; expenses " << Vnd(r.expensed)
            << "; share that reached children " << share(r) << "\n\n";
  cli::Table months({"month", "kind", "payments", "amount"}, {false, false, true, true});
  for (const auto& m2 : r.months) months.Row({m2.month, m2.kind, std::to_string(m2.count), Vnd(m2.amount)});
  std::cout << months.Render();
  if (!r.items.empty()) {
    cli::Table items({"goods distributed", "quantity", "declared value"}, {false, true, true});
    for (const auto& i : r.items) items.Row({i.item, std::to_string(i.quantity), Vnd(i.value)});
    std::cout << "\n" << items.Render();
  }
  return 0;
}

int PrintStatementRows(const std::vector<StatementRow>& rows, const std::string& fund_column) {
  cli::Table t({"seq", "date", fund_column, "channel", "bank ref", "credit", "debit", "counterparty", "description"},
               {true, false, false, false, false, true, true, false, false});
  for (const auto& r : rows) {
    t.Row({std::to_string(r.seq), r.date, r.type, r.channel, r.bank_ref, r.side == "credit" ? Vnd(r.amount) : "",
           r.side == "debit" ? Vnd(r.amount) : "", cli::Truncate(r.counterparty, 30), cli::Truncate(r.description, 40)});
  }
  std::cout << t.Render();
  return 0;
}

int StatementCmd(const Globals& g, const std::string& fund, const std::string& from, const std::string& to,
                 const std::string& ref) {
  auto side = OpenReadSide(g);
  if (!side.ok()) return Fail(g, side.status());
  const auto& p = side->projections;
  auto s = p->models().FundStatement(fund, from, to, ref);
  if (!s.ok()) return Fail(g, s.status());
  if (g.json) {
    json j = ToJson(*s);
    j["ok"] = true;
    std::cout << Dump(j) << "\n";
    return 0;
  }
  std::cout << "statement of fund " << fund << " from " << (from.empty() ? "the start" : from) << " to "
            << (to.empty() ? "now" : to) << (ref.empty() ? "" : ", rows whose bank reference contains '" + ref + "'")
            << "\nopening balance " << Vnd(s->opening) << "\n";
  PrintStatementRows(s->rows, "type");
  std::cout << "credits " << Vnd(s->credits) << ", debits " << Vnd(s->debits) << ", closing balance " << Vnd(s->closing)
            << "\n(account numbers in names and descriptions are masked)\n";
  return 0;
}

int FindRef(const Globals& g, const std::string& ref) {
  auto side = OpenReadSide(g);
  if (!side.ok()) return Fail(g, side.status());
  const auto& p = side->projections;
  auto rows = p->models().FindReference(ref);
  if (!rows.ok()) return Fail(g, rows.status());
  if (g.json) {
    Statement found;
    found.rows = *rows;
    json a = ToJson(found).at("rows");
    std::cout << Dump(json{{"ok", true}, {"ref", ref}, {"rows", a}}) << "\n";
    return 0;
  }
  PrintStatementRows(*rows, "type");
  std::cout << rows->size() << " credit(s) with bank reference " << ref
            << " (a reference is not unique in bank statements: check date and amount)\n";
  return 0;
}

int Rebuild(const Globals& g) {
  auto side = OpenReadSide(g);
  if (!side.ok()) return Fail(g, side.status());
  const auto& l = side->ledger;
  const auto& p = side->projections;
  cli::Progress progress("rebuild", !g.json);
  auto t0 = std::chrono::steady_clock::now();
  Status s = p->Rebuild(*l, [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
  progress.Finish();
  if (!s.ok()) return Fail(g, s);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"entries", l->size()}, {"seconds", secs}}) << "\n";
  } else {
    std::cout << "rebuilt the read models from " << cli::Grouped(l->size()) << " entries in " << secs << " s\n";
  }
  return 0;
}

struct Options {
  std::string fund, child, as_of_date, sp_child, sp_as_of, donor, programme, from, to, ref, find_ref;
  std::optional<uint64_t> as_of_seq;
  bool arrears_only = false;
};

}  // namespace

void RegisterQueryCommands(CLI::App& app, const Globals& g, std::vector<Command>& out) {
  auto o = std::make_shared<Options>();
  auto* balance = app.add_subcommand("balance", "Fund balances per sub-account, from the read models");
  balance->add_option("--fund", o->fund, "Only this fund");
  auto* seq_opt = balance->add_option("--as-of-seq", o->as_of_seq, "As of entry N (replays the log up to and including N)");
  balance->add_option("--as-of", o->as_of_date, "As of the end of a day, YYYY-MM-DD (replays the log up to it)")
      ->excludes(seq_opt);
  out.push_back({balance, [&g, o] { return Balance(g, o->fund, o->as_of_seq, o->as_of_date); }});

  auto* child = app.add_subcommand("child", "A child's support history by pseudonymous id, with totals");
  child->add_option("id", o->child, "Child id, e.g. C-0001")->required();
  out.push_back({child, [&g, o] { return Child(g, o->child); }});

  auto* sp = app.add_subcommand("sponsorships", "Sponsorship schedules: months due, paid, missing (arrears)");
  sp->add_option("--child", o->sp_child, "Only this child's sponsorships");
  sp->add_flag("--arrears", o->arrears_only, "Only sponsorships with unpaid months");
  sp->add_option("--as-of", o->sp_as_of, "Month to count dues up to, YYYY-MM (default: this month)");
  out.push_back({sp, [&g, o] { return Sponsorships(g, o->sp_child, o->arrears_only, o->sp_as_of); }});

  auto* donor = app.add_subcommand("donor", "What a donor's money did: each donation and what it paid for");
  donor->add_option("id", o->donor, "Donor id")->required();
  out.push_back({donor, [&g, o] { return Donor(g, o->donor); }});

  auto* prog = app.add_subcommand("programme", "Programme (campaign) report; without an id, all programmes");
  prog->add_option("id", o->programme, "Programme id");
  out.push_back({prog, [&g, o] { return Programme(g, o->programme); }});

  auto* st = app.add_subcommand("statement", "A fund's statement (sao ke): credits, debits, opening and closing balance");
  st->add_option("--fund", o->fund, "Fund id")->required();
  st->add_option("--from", o->from, "First day, YYYY-MM-DD (default: the start)");
  st->add_option("--to", o->to, "Last day, YYYY-MM-DD (default: now)");
  st->add_option("--ref", o->ref, "Only rows whose bank reference contains this");
  out.push_back({st, [&g, o] { return StatementCmd(g, o->fund, o->from, o->to, o->ref); }});

  auto* fr = app.add_subcommand("find-ref", "Find credits by bank reference across all funds and channels");
  fr->add_option("ref", o->find_ref, "Bank reference (case and spaces ignored)")->required();
  out.push_back({fr, [&g, o] { return FindRef(g, o->find_ref); }});

  auto* rebuild = app.add_subcommand("rebuild", "Drop the read models and rebuild them from the log");
  out.push_back({rebuild, [&g] { return Rebuild(g); }});
}

}  // namespace minhbach::app
