// What the minhbach CLI's command files share: global options, error reporting, opening the ledger and its
// read models, and how a command file registers its subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "minhbach/ledger.h"
#include "minhbach/projections.h"

namespace minhbach::app {

struct Globals {
  std::string ledger_dir;
  bool json = false;
  std::string actor;
  std::string tz;
  int verbose = 0;
  std::shared_ptr<spdlog::logger> log;
};

// JSON output never aborts on text that is not UTF-8 (it is replaced with U+FFFD).
std::string Dump(const nlohmann::json& j, int indent = -1);

// Reports `s` on stderr (and as JSON on stdout with --json); returns its exit code.
int Fail(const Globals& g, const Status& s);

Result<std::unique_ptr<Ledger>> OpenLedger(const Globals& g, bool read_only);

// Opens the read models beside the ledger (dir/projections) and catches them up, with progress.
Result<std::unique_ptr<Projections>> OpenReadModels(const Globals& g, const Ledger& l);

// The ledger opened read-only with its read models caught up: what every read command starts with.
struct ReadSide {
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<Projections> projections;
};
Result<ReadSide> OpenReadSide(const Globals& g);

// Who records an append and in which time zone: --actor / $MINHBACH_ACTOR / cli:$USER, --tz / $TZ /
// /etc/timezone. Sets the process's TZ.
Result<AppendContext> Context(const Globals& g);

// "YYYY-MM" of today in the local time zone.
std::string CurrentMonth();

// A subcommand and what runs it once the command line is parsed.
struct Command {
  CLI::App* sub;
  std::function<int()> run;
};

// Read-side commands: balance, child, sponsorships, donor, programme, statement, find-ref, rebuild.
void RegisterQueryCommands(CLI::App& app, const Globals& g, std::vector<Command>& out);
// The HTTP API and portal (`serve`) and administrators' tokens (`token add|list|revoke`).
void RegisterServeCommands(CLI::App& app, const Globals& g, std::vector<Command>& out);
// Importers: import statement (bank statements), import payments (payment lists). See docs/import.md.
void RegisterImportCommands(CLI::App& app, const Globals& g, std::vector<Command>& out);
// The inspector's kit: export, prove child (under `prove`), witness init|cosign, cosignature add.
void RegisterAuditCommands(CLI::App& app, const Globals& g, CLI::App* prove, std::vector<Command>& out);
// Personal data: erase, vault show|extract, journal (docs/threat-model.md "Privacy").
void RegisterPrivacyCommands(CLI::App& app, const Globals& g, std::vector<Command>& out);
// Exports under `export` (csv, xlsx, iati, 360giving) and the `report` command (docs/exports.md). Call after
// RegisterAuditCommands, which makes `export`.
void RegisterExportCommands(CLI::App& app, const Globals& g, std::vector<Command>& out);

}  // namespace minhbach::app
