#include <ctime>
#include <filesystem>
#include <fstream>
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

Result<AppendContext> Context(const Globals& g) {
  AppendContext ctx;
  if (!g.actor.empty()) {
    ctx.actor = g.actor;
  } else if (const char* a = std::getenv("MINHBACH_ACTOR"); a && *a) {
    ctx.actor = a;
  } else {
    const char* user = std::getenv("USER");
    ctx.actor = std::string("cli:") + (user && *user ? user : "unknown");
  }
  std::string tz = g.tz;
  if (tz.empty()) {
    if (const char* e = std::getenv("TZ"); e && *e) tz = e[0] == ':' ? e + 1 : e;
  }
  if (tz.empty()) {
    std::ifstream f("/etc/timezone");
    std::getline(f, tz);
  }
  if (tz.empty()) tz = "Etc/UTC";
  if (!std::filesystem::exists("/usr/share/zoneinfo/" + tz) && tz != "UTC" && tz != "Etc/UTC") {
    return Status::InvalidArgument("unknown time zone '" + tz + "' (no /usr/share/zoneinfo/" + tz + ")");
  }
  ::setenv("TZ", tz.c_str(), 1);
  ::tzset();
  std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  ctx.tz_name = tz;
  ctx.tz_offset_minutes = static_cast<int16_t>(local.tm_gmtoff / 60);
  MB_RETURN_IF_ERROR(ValidateContext(ctx));
  return ctx;
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
