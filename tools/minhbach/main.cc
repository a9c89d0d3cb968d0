// minhbach: the command-line interface to the ledger. See docs/cli.md.
//
// Exit codes: 0 success; 1 verification failed / tampered; 2 bad usage or bad input; 3 I/O or internal error.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <chrono>
#include <ctime>
#include <sstream>

#include "cli_util.h"
#include "cli.h"
#include "demo.h"
#include "minhbach/ledger.h"
#include "minhbach/money.h"
#include "minhbach/projections.h"

namespace mb = minhbach;
using nlohmann::json;

using mb::app::Globals;
using mb::app::Fail;
using mb::app::Dump;
using mb::app::OpenLedger;
using mb::app::Context;

namespace {

constexpr size_t kInputBytesMax = size_t{1} << 30;  // 1 GiB of JSON Lines per append

std::string DefaultLedger() {
  const char* env = std::getenv("MINHBACH_LEDGER");
  return env && *env ? env : "./minhbach-data";
}



mb::Result<std::string> ReadInput(const std::string& path) {
  std::string data;
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    data = ss.str();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return mb::Status::InvalidArgument("cannot open input file '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    data = ss.str();
  }
  if (data.size() > kInputBytesMax) {
    return mb::Status::InvalidArgument("input is larger than " + std::to_string(kInputBytesMax) + " bytes");
  }
  return data;
}

void PrintAppend(const Globals& g, const mb::AppendResult& r) {
  if (g.json) {
    json dups = json::array();
    for (const auto& d : r.duplicates) dups.push_back({{"line", d.line}, {"existing_seq", d.existing_seq}});
    json j = {{"ok", true}, {"appended", r.appended}, {"size", r.size}, {"duplicates", dups}};
    if (r.appended) {
      j["first_seq"] = r.first_seq;
      j["last_seq"] = r.first_seq + r.appended - 1;
    }
    std::cout << Dump(j) << "\n";
    return;
  }
  if (r.appended) {
    std::cout << "appended " << mb::cli::Grouped(r.appended) << " entries: seq " << r.first_seq << ".."
              << r.first_seq + r.appended - 1 << " (log size " << mb::cli::Grouped(r.size) << ")\n";
  } else {
    std::cout << "appended nothing (log size " << mb::cli::Grouped(r.size) << ")\n";
  }
  for (const auto& d : r.duplicates) {
    std::cout << "  duplicate: " << (d.line ? "line " + std::to_string(d.line) : "event " + std::to_string(d.index + 1))
              << " is already entry " << d.existing_seq << "\n";
  }
}

int CmdInit(const Globals& g, const std::string& origin) {
  auto l = mb::Ledger::Create(g.ledger_dir, origin, g.log);
  if (!l.ok()) return Fail(g, l.status());
  std::string vkey = (*l)->verifier().ToString();
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"ledger", g.ledger_dir}, {"origin", origin}, {"verifier_key", vkey}}) << "\n";
  } else {
    std::cerr << "created ledger in " << g.ledger_dir << "; signing key in " << g.ledger_dir << "/"
              << mb::kSigningKeyFile << " (mode 0600). Verifier key:\n";
    std::cout << vkey << "\n";
  }
  return 0;
}

int CmdKeygen(const Globals& g, const std::string& name, const std::string& out) {
  auto key = mb::SigningKey::Generate(name);
  if (!key.ok()) return Fail(g, key.status());
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(g, mb::Status::IOError("creating " + out + ": " + std::strerror(errno)));
  std::string text = key->ToString() + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Fail(g, mb::Status::IOError("writing " + out));
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"private_key_file", out}, {"verifier_key", key->verifier().ToString()}}) << "\n";
  } else {
    std::cerr << "private key written to " << out << " (mode 0600). Verifier key:\n";
    std::cout << key->verifier().ToString() << "\n";
  }
  return 0;
}

int CmdAppend(const Globals& g, const std::string& file) {
  auto ctx = Context(g);
  if (!ctx.ok()) return Fail(g, ctx.status());
  auto input = ReadInput(file);
  if (!input.ok()) return Fail(g, input.status());
  auto events = mb::ParseJsonLines(*input);
  if (!events.ok()) return Fail(g, events.status());
  auto l = OpenLedger(g, false);
  if (!l.ok()) return Fail(g, l.status());
  auto r = (*l)->Append(*events, *ctx);
  if (!r.ok()) return Fail(g, r.status());
  PrintAppend(g, *r);
  return 0;
}

int RunVerify(const Globals& g, mb::Ledger& l, mb::VerifyReport* report, std::optional<mb::Verifier> key = {}) {
  mb::cli::Progress progress("verify", !g.json);
  mb::VerifyOptions vo;
  vo.key = std::move(key);
  vo.progress = [&](uint64_t done, uint64_t total) { progress.Update(done, total); };
  mb::Status s = l.Verify(vo, report);
  progress.Finish();
  if (!s.ok()) {
    if (g.json) {
      std::cout << Dump(json{{"ok", false}, {"error", s.message()}, {"code", s.ExitCode()}}) << "\n";
    }
    std::cerr << "minhbach: verification FAILED: " << s.message() << "\n";
    return s.ExitCode();
  }
  return 0;
}

json ReportJson(const mb::Ledger& l, const mb::VerifyReport& r) {
  return {{"ok", true},          {"origin", l.origin()},         {"entries", r.entries},
          {"checkpoints", r.checkpoints}, {"tiles", r.tiles}, {"root", mb::Base64Encode(r.root)},
          {"seconds", r.seconds}, {"entries_per_second", r.seconds > 0 ? r.entries / r.seconds : 0.0}};
}

void PrintReport(const mb::Ledger& l, const mb::VerifyReport& r) {
  std::cout << "verified OK: " << mb::cli::Grouped(r.entries) << " entries, " << r.checkpoints
            << " signed checkpoints, " << mb::cli::Grouped(r.tiles) << " tree tiles\n"
            << "  origin " << l.origin() << "\n  root   " << mb::Base64Encode(r.root) << "\n  time   "
            << r.seconds << " s";
  if (r.seconds > 0) std::cout << " (" << mb::cli::Grouped(static_cast<uint64_t>(r.entries / r.seconds)) << " entries/s)";
  std::cout << "\n";
}

// Replays the log into memory and compares the result with the stored read models, record by record.
// Returns "" when they are identical, else the first difference.
mb::Result<std::string> CompareReadModels(const Globals& g, const mb::Ledger& l, size_t* records) {
  auto p = mb::app::OpenReadModels(g, l);
  if (!p.ok()) return p.status();
  mb::MemoryKv mem;
  mb::cli::Progress progress("rebuild in memory", !g.json);
  mb::Status s = mb::ReplayInto(l, l.size(), mem, [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
  progress.Finish();
  MB_RETURN_IF_ERROR(s);
  auto stored = (*p)->Dump();
  const auto& fresh = mem.records();
  *records = fresh.size();
  auto a = stored.begin();
  auto b = fresh.begin();
  for (; a != stored.end() && b != fresh.end(); ++a, ++b) {
    if (a->first != b->first) {
      return "record '" + std::min(a->first, b->first) + "' is only in the " + (a->first < b->first ? "stored" : "rebuilt") +
             " read models";
    }
    if (a->second != b->second) return "record '" + a->first + "' differs: stored " + a->second + ", rebuilt " + b->second;
  }
  if (a != stored.end()) return "record '" + a->first + "' is only in the stored read models";
  if (b != fresh.end()) return "record '" + b->first + "' is only in the rebuilt read models";
  return std::string();
}

int CmdVerify(const Globals& g, const std::string& key, bool rebuild_compare) {
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  mb::VerifyReport report;
  std::optional<mb::Verifier> verifier;
  if (!key.empty()) {
    auto v = mb::Verifier::Parse(key);
    if (!v.ok()) return Fail(g, v.status());
    verifier = *v;
  }
  int rc = RunVerify(g, **l, &report, verifier);
  if (rc != 0) return rc;
  size_t records = 0;
  if (rebuild_compare) {
    auto diff = CompareReadModels(g, **l, &records);
    if (!diff.ok()) return Fail(g, diff.status());
    if (!diff->empty()) {
      if (g.json) {
        std::cout << Dump(json{{"ok", false}, {"error", "read models differ from a rebuild: " + *diff}, {"code", 1}}) << "\n";
      }
      std::cerr << "minhbach: verification FAILED: read models differ from a rebuild from the log: " << *diff
                << " (run `minhbach rebuild`)\n";
      return 1;
    }
  }
  if (g.json) {
    json j = ReportJson(**l, report);
    if (rebuild_compare) j["read_models_compared"] = records;
    std::cout << Dump(j) << "\n";
  } else {
    PrintReport(**l, report);
    if (rebuild_compare) {
      std::cout << "  read models equal a rebuild from the log: " << mb::cli::Grouped(records) << " records compared\n";
    }
  }
  return 0;
}

int CmdCheckpoint(const Globals& g) {
  auto l = OpenLedger(g, false);
  if (!l.ok()) return Fail(g, l.status());
  auto note = (*l)->SignCheckpoint();
  if (!note.ok()) return Fail(g, note.status());
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"size", (*l)->size()}, {"root", mb::Base64Encode((*l)->root())}, {"note", *note}})
              << "\n";
  } else {
    std::cout << *note;
  }
  return 0;
}

int CmdLog(const Globals& g, uint64_t from, uint64_t limit) {
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  mb::Sha256 sha;
  mb::cli::Table table({"seq", "recorded at", "type", "idempotency key", "data"});
  mb::Status inner;
  mb::Status s = (*l)->ScanEntries(from, limit, [&](uint64_t seq, std::string_view bytes) {
    auto e = mb::DecodeEntry(bytes);
    if (!e.ok()) {
      inner = e.status().WithContext("entry " + std::to_string(seq));
      return false;
    }
    json j = json::parse(mb::EntryToJson(*e));
    if (g.json) {
      json out = {{"seq", seq}, {"leaf_hash", mb::Base64Encode(sha.Leaf(bytes))},
                  {"bytes", mb::Base64Encode(bytes)}, {"entry", j}};
      std::cout << Dump(out) << "\n";
    } else {
      std::string data = Dump(j["data"]);
      data = mb::cli::Truncate(data, 90);
      table.Row({std::to_string(seq), mb::FormatTimestamp(e->recorded_at_micros, e->tz_offset_minutes).substr(0, 19),
                 e->type, e->idempotency_key, data});
    }
    return true;
  });
  if (!inner.ok()) return Fail(g, inner);
  if (!s.ok()) return Fail(g, s);
  if (!g.json) std::cout << table.Render();
  return 0;
}

json HashList(const std::vector<mb::Hash>& proof) {
  json a = json::array();
  for (const auto& h : proof) a.push_back(mb::Base64Encode(h));
  return a;
}

int CmdProveInclusion(const Globals& g, uint64_t seq, std::optional<uint64_t> size_opt) {
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  uint64_t size = size_opt.value_or((*l)->size());
  if (seq >= size) {
    return Fail(g, mb::Status::InvalidArgument("entry " + std::to_string(seq) + " is not in a tree of size " +
                                               std::to_string(size)));
  }
  auto leaf = (*l)->LeafHash(seq);
  if (!leaf.ok()) return Fail(g, leaf.status());
  auto root = (*l)->RootAt(size);
  if (!root.ok()) return Fail(g, root.status());
  auto proof = (*l)->ProveInclusion(seq, size);
  if (!proof.ok()) return Fail(g, proof.status());
  mb::Sha256 sha;
  mb::Status check = mb::VerifyInclusion(sha, seq, size, *leaf, *proof, *root);
  if (!check.ok()) return Fail(g, check.WithContext("self-check of the proof"));
  if (g.json) {
    std::cout << Dump(json{{"leafIdx", seq}, {"treeSize", size}, {"leafHash", mb::Base64Encode(*leaf)},
                      {"root", mb::Base64Encode(*root)}, {"proof", HashList(*proof)}}
                     , 2)
              << "\n";
  } else {
    std::cout << "inclusion of entry " << seq << " in the tree of size " << size << "\n  leaf hash "
              << mb::Base64Encode(*leaf) << "\n  root      " << mb::Base64Encode(*root) << "\n";
    for (size_t i = 0; i < proof->size(); ++i) std::cout << "  proof[" << i << "]  " << mb::Base64Encode((*proof)[i]) << "\n";
  }
  return 0;
}

int CmdProveConsistency(const Globals& g, uint64_t size1, uint64_t size2) {
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  if (size1 > size2) return Fail(g, mb::Status::InvalidArgument("OLD must not be larger than NEW"));
  auto r1 = (*l)->RootAt(size1);
  if (!r1.ok()) return Fail(g, r1.status());
  auto r2 = (*l)->RootAt(size2);
  if (!r2.ok()) return Fail(g, r2.status());
  auto proof = (*l)->ProveConsistency(size1, size2);
  if (!proof.ok()) return Fail(g, proof.status());
  mb::Sha256 sha;
  mb::Status check = mb::VerifyConsistency(sha, size1, size2, *proof, *r1, *r2);
  if (!check.ok()) return Fail(g, check.WithContext("self-check of the proof"));
  if (g.json) {
    std::cout << Dump(json{{"size1", size1}, {"size2", size2}, {"root1", mb::Base64Encode(*r1)},
                      {"root2", mb::Base64Encode(*r2)}, {"proof", HashList(*proof)}}
                     , 2)
              << "\n";
  } else {
    std::cout << "consistency of tree size " << size1 << " with tree size " << size2 << "\n  root1 "
              << mb::Base64Encode(*r1) << "\n  root2 " << mb::Base64Encode(*r2) << "\n";
    for (size_t i = 0; i < proof->size(); ++i) std::cout << "  proof[" << i << "]  " << mb::Base64Encode((*proof)[i]) << "\n";
  }
  return 0;
}

int CmdStatus(const Globals& g) {
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  auto cps = (*l)->Checkpoints();
  if (!cps.ok()) return Fail(g, cps.status());
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"ledger", g.ledger_dir}, {"origin", (*l)->origin()}, {"size", (*l)->size()},
                      {"root", mb::Base64Encode((*l)->root())}, {"checkpoints", cps->size()},
                      {"verifier_key", (*l)->verifier().ToString()}}
                     )
              << "\n";
  } else {
    std::cout << "ledger       " << g.ledger_dir << "\norigin       " << (*l)->origin() << "\nentries      "
              << mb::cli::Grouped((*l)->size()) << "\nroot         " << mb::Base64Encode((*l)->root())
              << "\ncheckpoints  " << cps->size() << "\nverifier key " << (*l)->verifier().ToString() << "\n";
  }
  return 0;
}


int CmdDemo(const Globals& g, const std::string& origin) {
  namespace fs = std::filesystem;
  auto ctx = Context(g);
  if (!ctx.ok()) return Fail(g, ctx.status());
  if (!fs::exists(fs::path(g.ledger_dir) / mb::kDbDirName)) {
    auto created = mb::Ledger::Create(g.ledger_dir, origin, g.log);
    if (!created.ok()) return Fail(g, created.status());
    if (!g.json) std::cout << "created ledger " << g.ledger_dir << " (origin " << origin << ")\n";
  }
  auto l = OpenLedger(g, false);
  if (!l.ok()) return Fail(g, l.status());
  if ((*l)->size() != 0) {
    return Fail(g, mb::Status::InvalidArgument("demo fills an empty ledger; " + g.ledger_dir + " already has " +
                                               std::to_string((*l)->size()) + " entries"));
  }
  auto events = mb::demo::DemoEvents();
  if (!events.ok()) return Fail(g, events.status());
  uint64_t mistake = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    if ((*events)[i].idempotency_key == mb::demo::kDemoMistakeKey) mistake = i;
  }
  auto r = (*l)->Append(*events, *ctx);
  if (!r.ok()) return Fail(g, r.status());
  auto fix = mb::demo::DemoCorrection(r->first_seq + mistake);
  if (!fix.ok()) return Fail(g, fix.status());
  auto r2 = (*l)->Append(*fix, *ctx);
  if (!r2.ok()) return Fail(g, r2.status());
  auto note = (*l)->SignCheckpoint();
  if (!note.ok()) return Fail(g, note.status());
  mb::VerifyReport report;
  int rc = RunVerify(g, **l, &report);
  if (rc != 0) return rc;
  if (g.json) {
    json j = ReportJson(**l, report);
    j["checkpoint"] = *note;
    std::cout << Dump(j) << "\n";
  } else {
    std::cout << "appended " << mb::cli::Grouped(r->appended + r2->appended)
              << " demo entries (a provincial fund: 24 sponsored Covid-19 orphans, 1,710 children under Resolution "
                 "68/NQ-CP, 400 pupils' gifts, 90 bicycles, 6 savings books, Decree 20 allowances for 10 children, one "
                 "correction by reversal); "
                 "signed checkpoint:\n\n"
              << *note << "\n";
    PrintReport(**l, report);
    std::cout << "\nNext: minhbach --ledger " << g.ledger_dir << " log | prove inclusion 3 | verify\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Globals g;
  CLI::App app{"minhbach: a verifiable, append-only ledger of child-support payments and donations.\n\n"
               "Exit codes: 0 success, 1 verification failed / tampered, 2 bad usage or bad input, "
               "3 I/O or internal error."};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--json, --ledger ...) may follow the subcommand
  g.ledger_dir = DefaultLedger();
  app.add_option("--ledger", g.ledger_dir, "Ledger directory (default: $MINHBACH_LEDGER, else ./minhbach-data)");
  app.add_flag("--json", g.json, "Machine-readable JSON output");
  app.add_option("--actor", g.actor, "Who records appends (default: $MINHBACH_ACTOR, else cli:$USER)");
  app.add_option("--tz", g.tz, "IANA time zone the entry is made in (default: $TZ, else /etc/timezone)");
  app.add_flag("-v,--verbose", g.verbose, "More log output on stderr (repeat for debug)");

  std::string origin;
  auto* init = app.add_subcommand("init", "Create a ledger and its Ed25519 signing key; print the verifier key");
  init->add_option("--origin", origin, "Log origin and key name, e.g. quangngai.example/csf")->required();

  std::string key_name, key_out;
  auto* keygen = app.add_subcommand("keygen", "Generate an Ed25519 signed-note key pair (e.g. for a witness)");
  keygen->add_option("--name", key_name, "Key name, e.g. inspector.example/nguyen")->required();
  keygen->add_option("--out", key_out, "Private key file to create (mode 0600)")->required();

  std::string file;
  auto* append = app.add_subcommand("append", "Append a JSON Lines file atomically (all lines or none)");
  append->add_option("file", file, "JSON Lines file, or - for standard input")->required();

  std::string demo_origin = "demo.minhbach.vn/quangngai-csf";
  auto* demo = app.add_subcommand("demo", "Create (if needed) and fill an empty ledger with demo data, sign, verify");
  demo->add_option("--origin", demo_origin, "Origin for a new demo ledger");

  auto* checkpoint = app.add_subcommand("checkpoint", "Sign a checkpoint of the current tree and print the note");

  std::string vkey;
  auto* verify = app.add_subcommand("verify", "Recompute and check everything from genesis");
  verify->add_option("--key", vkey, "Verifier key to check checkpoints with (default: the ledger's own)");
  bool rebuild_compare = false;
  verify->add_flag("--rebuild-compare", rebuild_compare, "Also rebuild the read models in memory and compare them with the stored ones");

  uint64_t from = 0, limit = 100;
  auto* log = app.add_subcommand("log", "List entries");
  log->add_option("--from", from, "First sequence number (default 0)");
  log->add_option("--limit", limit, "How many entries (default 100)");

  auto* status = app.add_subcommand("status", "Show the ledger's size, root and keys");

  std::vector<mb::app::Command> commands;
  mb::app::RegisterQueryCommands(app, g, commands);
  mb::app::RegisterImportCommands(app, g, commands);

  auto* prove = app.add_subcommand("prove", "Print RFC 9162 proofs");
  prove->require_subcommand(1);
  prove->fallthrough();
  uint64_t seq = 0, size1 = 0, size2 = 0;
  std::optional<uint64_t> tree_size;
  auto* incl = prove->add_subcommand("inclusion", "Inclusion proof of entry SEQ");
  incl->add_option("seq", seq, "Sequence number (= leaf index)")->required();
  incl->add_option("--size", tree_size, "Tree size (default: current)");
  auto* cons = prove->add_subcommand("consistency", "Consistency proof between tree sizes OLD and NEW");
  cons->add_option("old", size1, "Old tree size")->required();
  cons->add_option("new", size2, "New tree size")->required();
  mb::app::RegisterAuditCommands(app, g, prove, commands);
  mb::app::RegisterExportCommands(app, g, commands);
  mb::app::RegisterServeCommands(app, g, commands);
  mb::app::RegisterPrivacyCommands(app, g, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  // The logger is built here and passed down explicitly (never registered globally).
  g.log = std::make_shared<spdlog::logger>("minhbach", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  g.log->set_level(g.verbose >= 2 ? spdlog::level::debug : g.verbose == 1 ? spdlog::level::info : spdlog::level::warn);
  g.log->set_pattern("%^%l%$: %v");

  if (*init) return CmdInit(g, origin);
  if (*keygen) return CmdKeygen(g, key_name, key_out);
  if (*append) return CmdAppend(g, file);
  if (*demo) return CmdDemo(g, demo_origin);
  if (*checkpoint) return CmdCheckpoint(g);
  if (*verify) return CmdVerify(g, vkey, rebuild_compare);
  if (*log) return CmdLog(g, from, limit);
  if (*status) return CmdStatus(g);
  for (const auto& c : commands) {
    if (*c.sub) return c.run();
  }
  if (*incl) return CmdProveInclusion(g, seq, tree_size);
  if (*cons) return CmdProveConsistency(g, size1, size2);
  return 2;
}
