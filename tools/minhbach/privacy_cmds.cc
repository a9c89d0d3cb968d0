// Personal data (docs/threat-model.md "Privacy"): `erase`, `vault show`, `vault extract` and `journal`.
// Every read of vault data here is written to the access journal first (minhbach/journal.h).
#include <iostream>

#include "cli.h"
#include "cli_util.h"
#include "minhbach/entry.h"
#include "minhbach/journal.h"
#include "minhbach/privacy.h"
#include "minhbach/vault.h"

namespace minhbach::app {
namespace {

using nlohmann::json;

std::string Who(const Globals& g) {
  auto ctx = Context(g);
  return ctx.ok() ? ctx->actor : "cli";
}

int RunErase(const Globals& g, const std::string& subject, const std::string& reason) {
  auto l = OpenLedger(g, false);
  if (!l.ok()) return Fail(g, l.status());
  auto ctx = Context(g);
  if (!ctx.ok()) return Fail(g, ctx.status());
  auto r = (*l)->Erase(subject, reason, *ctx);
  if (!r.ok()) return Fail(g, r.status());
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"subject", subject}, {"seq", r->first_seq}, {"parts", r->parts},
                           {"commitments", r->commitments}, {"records_deleted", r->records}, {"size", (*l)->size()}})
              << "\n";
  } else if (r->parts == 0) {
    std::cout << "completed the interrupted erasure of " << subject << " (entry " << r->first_seq << "): "
              << r->records << " vault records deleted\n";
  } else {
    std::cout << "erased " << subject << ": entry " << r->first_seq << " names " << r->commitments
              << " commitments; " << r->records << " vault records overwritten with zeros (log size "
              << (*l)->size() << ")\n";
  }
  return 0;
}

json RecordJson(const VaultRecord& r) {
  return {{"seq", r.seq}, {"subject", r.subject}, {"field", r.field}, {"value", r.value},
          {"commitment", HexEncode(r.commitment)}};
}

int RunShow(const Globals& g, const std::string& subject, const std::string& why) {
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  Status logged = JournalAppend(g.ledger_dir, {0, "", Who(g), "administrator", subject, "vault show", why});
  if (!logged.ok()) return Fail(g, logged);
  auto recs = (*l)->vault().ForSubject(subject);
  if (!recs.ok()) return Fail(g, recs.status());
  if (g.json) {
    json a = json::array();
    for (const auto& r : *recs) a.push_back(RecordJson(r));
    std::cout << Dump(json{{"ok", true}, {"subject", subject}, {"records", a}}) << "\n";
    return 0;
  }
  if (recs->empty()) std::cout << "no vault records for " << subject << " (never any, or erased)\n";
  for (const auto& r : *recs) std::cout << "#" << r.seq << "  " << r.field << ": " << r.value << "\n";
  return 0;
}

struct ExtractArgs {
  std::vector<std::string> subjects;
  uint64_t from_seq = 0, to_seq = UINT64_MAX;
  std::string why, out;
};

int RunExtract(const Globals& g, const ExtractArgs& a) {
  if (a.out.empty()) return Fail(g, Status::InvalidArgument("--out FILE is required"));
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  std::string what = a.subjects.empty() ? "entries " + std::to_string(a.from_seq) + ".." +
                                              (a.to_seq == UINT64_MAX ? std::string("end") : std::to_string(a.to_seq))
                                        : "";
  for (const auto& s : a.subjects) what += (what.empty() ? "" : ",") + s;
  Status logged = JournalAppend(g.ledger_dir, {0, "", Who(g), "inspector", what, "vault extract", a.why});
  if (!logged.ok()) return Fail(g, logged);
  std::vector<OpenedCommitment> out;
  auto take = [&](const VaultRecord& r) {
    if (r.seq >= (*l)->size() || r.seq < a.from_seq || r.seq > a.to_seq) return;  // not (yet) in the log
    out.push_back({r.seq, r.subject, r.field, r.value, r.salt, r.commitment});
  };
  if (a.subjects.empty()) {
    Status s = (*l)->vault().Scan([&](const VaultRecord& r) {
      take(r);
      return true;
    });
    if (!s.ok()) return Fail(g, s);
  } else {
    for (const auto& subject : a.subjects) {
      auto recs = (*l)->vault().ForSubject(subject);
      if (!recs.ok()) return Fail(g, recs.status());
      for (const auto& r : *recs) take(r);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return std::tie(x.seq, x.field) < std::tie(y.seq, y.field); });
  if (Status s = cli::WriteFileAtomically(a.out, VaultExtractToJson((*l)->origin(), out), 0600); !s.ok()) return Fail(g, s);
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"out", a.out}, {"records", out.size()}}) << "\n";
  } else {
    std::cout << "wrote " << out.size() << " opened commitments to " << a.out
              << " (personal data: give it only to whom the law entitles; check it with minhbach-verify --vault-extract)\n";
  }
  return 0;
}

int RunJournal(const Globals& g) {
  auto recs = JournalRead(g.ledger_dir);
  if (!recs.ok()) return Fail(g, recs.status());
  if (g.json) {
    json a = json::array();
    for (const auto& r : *recs) {
      a.push_back({{"n", r.n}, {"at", r.at}, {"who", r.who}, {"role", r.role}, {"subject", r.subject},
                   {"what", r.what}, {"why", r.why}});
    }
    std::cout << Dump(json{{"ok", true}, {"verified", true}, {"records", a}}) << "\n";
    return 0;
  }
  for (const auto& r : *recs) {
    std::cout << r.n << "  " << r.at << "  " << r.who << " (" << r.role << ")  " << r.what << "  " << r.subject
              << "  why: " << r.why << "\n";
  }
  std::cout << recs->size() << " reads recorded; the chain and the head verify\n";
  return 0;
}

}  // namespace

void RegisterPrivacyCommands(CLI::App& app, const Globals& g, std::vector<Command>& out) {
  auto subject = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto* er = app.add_subcommand("erase", "Erase a donor's, child's or guardian's personal data from the vault (the log keeps its commitments)");
  er->add_option("SUBJECT", *subject, "Donor, child or guardian id")->required();
  er->add_option("--reason", *reason, "Why (public: recorded in the log; no names or numbers)")->required();
  out.push_back({er, [&g, subject, reason] { return RunErase(g, *subject, *reason); }});

  auto* vault = app.add_subcommand("vault", "Read the personal-data vault (every read is journaled)");
  vault->require_subcommand(1);
  auto why = std::make_shared<std::string>();
  auto* show = vault->add_subcommand("show", "Show a subject's vault records");
  show->add_option("SUBJECT", *subject, "Donor, child or guardian id")->required();
  show->add_option("--why", *why, "Why you read it (recorded in the access journal)")->required();
  out.push_back({show, [&g, subject, why] { return RunShow(g, *subject, *why); }});

  auto ex = std::make_shared<ExtractArgs>();
  auto* extract = vault->add_subcommand("extract", "Write opened commitments (value + salt) for inspectors");
  extract->add_option("--subject", ex->subjects, "Subjects to extract (repeatable); default: every subject");
  extract->add_option("--from-seq", ex->from_seq, "First entry of the period (default 0)");
  extract->add_option("--to-seq", ex->to_seq, "Last entry of the period (default: the end of the log)");
  extract->add_option("--why", ex->why, "Why (recorded in the access journal)")->required();
  extract->add_option("--out", ex->out, "File to write (mode 0600)")->required();
  out.push_back({extract, [&g, ex] { return RunExtract(g, *ex); }});

  auto* journal = app.add_subcommand("journal", "List the access journal and verify its chain");
  out.push_back({journal, [&g] { return RunJournal(g); }});
}

}  // namespace minhbach::app
