#include <ctime>
#include <iostream>

#include "cli.h"
#include "cli_util.h"

namespace minhbach::app {

using nlohmann::json;

std::string Dump(const json& j, int indent) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

int Fail(const Globals& g, const Status& s) {
  if (g.json) {
    json j = {{"ok", false}, {"error", s.message()}, {"code", s.ExitCode()}};
    std::cout << Dump(j) << "\n";
  }
  std::cerr << "minhbach: " << s.ToString() << "\n";
  return s.ExitCode();
}

Result<std::unique_ptr<Ledger>> OpenLedger(const Globals& g, bool read_only) {
  LedgerOptions o;
  o.read_only = read_only;
  return Ledger::Open(g.ledger_dir, g.log, o);
}

Result<std::unique_ptr<Projections>> OpenReadModels(const Globals& g, const Ledger& l) {
  cli::Progress progress("read models", !g.json);
  auto p = Projections::Open(l, g.ledger_dir + "/projections", g.log,
                             [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
  progress.Finish();
  return p;
}

Result<ReadSide> OpenReadSide(const Globals& g) {
  ReadSide side;
  MB_ASSIGN_OR_RETURN(side.ledger, OpenLedger(g, true));
  MB_ASSIGN_OR_RETURN(side.projections, OpenReadModels(g, *side.ledger));
  return side;
}

std::string CurrentMonth() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d", local.tm_year + 1900, local.tm_mon + 1);
  return buf;
}

}  // namespace minhbach::app
