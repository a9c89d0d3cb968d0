// The inspector's kit on the fund's side: export an audit bundle, prove a child's entries, witness
// (cosign) checkpoints, store cosignatures. minhbach-verify (tools/verify) checks what these produce.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "cli_util.h"
#include "minhbach/audit.h"
#include "minhbach/bundle.h"
#include "minhbach/export.h"

namespace minhbach::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Writes `data` to `path` atomically: a temporary file, fsync, rename, fsync of the folder.
// ---- export ----

int Export(const Globals& g, const std::string& to, uint64_t from_size) {
  auto l = OpenLedger(g, true);
  if (!l.ok()) return Fail(g, l.status());
  cli::Progress progress("export", !g.json);
  ExportSummary sum;
  auto t0 = std::chrono::steady_clock::now();
  Status s = ExportBundle(**l, to, from_size, [&](uint64_t d, uint64_t t) { progress.Update(d, t); }, &sum);
  progress.Finish();
  if (!s.ok()) return Fail(g, s);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"bundle", to}, {"from_size", sum.from_size}, {"size", sum.size},
                           {"entries", sum.entries}, {"checkpoints", sum.checkpoints}, {"root", sum.root},
                           {"reports_as_of", sum.reports_as_of}, {"unsigned_entries", sum.unsigned_entries},
                           {"seconds", secs}})
              << "\n";
    return 0;
  }
  std::cout << "exported entries " << sum.from_size << ".." << sum.size << " (" << cli::Grouped(sum.entries)
            << " entries), " << sum.checkpoints << " checkpoints and the reports (as of " << sum.reports_as_of
            << ") to " << to << " in " << secs << " s\n  root " << sum.root << "\n";
  if (sum.unsigned_entries) {
    std::cout << "  " << sum.unsigned_entries << " newer entries are not in a signed checkpoint yet and were left out "
              << "(run `minhbach checkpoint` first to include them)\n";
  }
  std::cout << "Check it with: minhbach-verify " << to << " --key '" << (*l)->verifier().ToString() << "'\n";
  return 0;
}

// ---- prove child ----

int ProveChild(const Globals& g, const std::string& child, const std::string& out) {
  auto side = OpenReadSide(g);
  if (!side.ok()) return Fail(g, side.status());
  const auto& l = side->ledger;
  uint64_t later = 0, covered = 0, tree_size = 0;
  auto doc_or = ChildProofJson(*l, side->projections->models(), child, &later, &covered, &tree_size);
  if (!doc_or.ok()) return Fail(g, doc_or.status());
  const std::string& doc = *doc_or;
  if (out.empty()) {
    std::cout << doc;
    return 0;
  }
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f << doc;
  f.close();
  if (!f) return Fail(g, Status::IOError("cannot write " + out));
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"child", child}, {"entries", covered}, {"tree_size", tree_size},
                           {"not_yet_checkpointed", later}, {"file", out}})
              << "\n";
  } else {
    std::cout << "wrote inclusion proofs of " << covered << " entries about child " << child
              << " against the checkpoint of size " << tree_size << " to " << out << "\n";
    if (later) std::cout << "  " << later << " newer entries are not in a signed checkpoint yet\n";
    std::cout << "Check it with: minhbach-verify --proof " << out << " --key '" << l->verifier().ToString() << "'\n";
  }
  return 0;
}

// ---- witness ----

struct WitnessState {
  std::string log_key;     // the log's verifier key the witness trusts ("" until the first cosign)
  std::string checkpoint;  // the last checkpoint cosigned (the log-signed note text), "" if none
};

constexpr const char* kWitnessKey = "witness.key";
constexpr const char* kWitnessVkey = "witness.vkey";
constexpr const char* kWitnessState = "state.json";

Result<WitnessState> LoadState(const fs::path& dir) {
  MB_ASSIGN_OR_RETURN(std::string text, cli::ReadTextFile(dir / kWitnessState, "witness state"));
  try {
    json j = json::parse(text);
    return WitnessState{j.at("log_key"), j.at("checkpoint")};
  } catch (const json::exception& e) {
    return Status::Corruption("witness state " + (dir / kWitnessState).string() + " is damaged: " + e.what());
  }
}

Status SaveState(const fs::path& dir, const WitnessState& s) {
  return cli::WriteFileAtomically((dir / kWitnessState).string(), json{{"log_key", s.log_key}, {"checkpoint", s.checkpoint}}.dump(2) + "\n", 0600);
}

int WitnessInit(const Globals& g, const std::string& dir, const std::string& name, const std::string& log_key) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / kWitnessKey, ec)) {
    return Fail(g, Status::InvalidArgument("witness folder " + dir + " already holds a key"));
  }
  WitnessState st;
  if (!log_key.empty()) {
    auto v = cli::VerifierArg(log_key, "--log-key");
    if (!v.ok()) return Fail(g, v.status());
    st.log_key = v->ToString();
  }
  auto key = SigningKey::Generate(name, kSigTypeCosignatureV1);
  if (!key.ok()) return Fail(g, key.status());
  fs::create_directories(dir, ec);
  if (ec) return Fail(g, Status::IOError("cannot create " + dir + ": " + ec.message()));
  Status s = cli::WriteFileAtomically((fs::path(dir) / kWitnessKey).string(), key->ToString() + "\n", 0600);
  if (s.ok()) s = cli::WriteFileAtomically((fs::path(dir) / kWitnessVkey).string(), key->verifier().ToString() + "\n", 0644);
  if (s.ok()) s = SaveState(dir, st);
  if (!s.ok()) return Fail(g, s);
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"witness_key", key->verifier().ToString()}}) << "\n";
  } else {
    std::cout << key->verifier().ToString() << "\n";
  }
  return 0;
}

// Cosigns `source` (a checkpoint note signed by the log) after checking it only extends what was cosigned
// before: same root at the same size, or a verified consistency proof from the last cosigned size.
// Holds an exclusive lock on the witness folder: two cosign runs at once could each extend the same old
// checkpoint differently, the very split view a witness exists to prevent.
class WitnessLock {
 public:
  explicit WitnessLock(const std::string& dir) {
    fd_ = ::open((fs::path(dir) / "lock").c_str(), O_RDWR | O_CREAT, 0600);
    locked_ = fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  }
  ~WitnessLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  bool locked() const { return locked_; }

 private:
  int fd_ = -1;
  bool locked_ = false;
};

int WitnessCosign(const Globals& g, const std::string& dir, const std::string& bundle, const std::string& out) {
  WitnessLock lock(dir);
  if (!lock.locked()) {
    return Fail(g, Status::IOError("witness folder " + dir + " is in use by another `witness cosign` (or cannot be locked)"));
  }
  auto st = LoadState(dir);
  if (!st.ok()) return Fail(g, st.status());
  auto key_text = cli::ReadTextFile(fs::path(dir) / kWitnessKey, "witness key");
  if (!key_text.ok()) return Fail(g, key_text.status());
  auto key = SigningKey::Parse(*key_text);
  if (!key.ok()) return Fail(g, key.status());
  std::optional<Checkpoint> old;
  if (!st->checkpoint.empty()) {
    auto n = ParseNote(st->checkpoint);
    if (!n.ok()) return Fail(g, n.status().WithContext("witness state"));
    auto c = Checkpoint::Parse(n->text);
    if (!c.ok()) return Fail(g, c.status().WithContext("witness state"));
    old = *c;
  }
  std::string source;
  std::string trust_note;
  Sha256 sha;
  if (!bundle.empty()) {
    // From an audit bundle: a full audit that must extend the last cosigned checkpoint.
    BundleVerifyOptions o;
    if (!st->log_key.empty()) {
      auto v = Verifier::Parse(st->log_key);
      if (!v.ok()) return Fail(g, v.status());
      o.log_key = *v;
    }
    if (!st->checkpoint.empty()) o.trusted_checkpoint = st->checkpoint;
    cli::Progress progress("verify", !g.json);
    o.progress = [&](uint64_t d, uint64_t t) { progress.Update(d, t); };
    auto r = AuditBundle(bundle, o);
    progress.Finish();
    if (!r.ok()) return Fail(g, r.status().WithContext("refusing to cosign"));
    // Cosign exactly what was audited (the files are not read again: they could have changed meanwhile).
    source = r->bundle.checkpoint_note;
    if (st->log_key.empty()) st->log_key = r->bundle.log_key;
  } else {
    auto l = OpenLedger(g, true);
    if (!l.ok()) return Fail(g, l.status());
    auto cps = (*l)->Checkpoints();
    if (!cps.ok()) return Fail(g, cps.status());
    if (cps->empty()) return Fail(g, Status::InvalidArgument("the ledger has no signed checkpoint"));
    source = cps->back().WithCosignatures();
    if (st->log_key.empty()) {
      st->log_key = (*l)->verifier().ToString();
      g.log->warn("trusting the ledger's own key {} on first use; pass --log-key to `witness init` instead",
                  st->log_key);
    }
    auto note = ParseNote(source);
    if (!note.ok()) return Fail(g, note.status());
    auto cp = Checkpoint::Parse(note->text);
    if (!cp.ok()) return Fail(g, cp.status());
    if (old && cp->size > old->size && old->size > 0) {
      auto proof = (*l)->ProveConsistency(old->size, cp->size);
      if (!proof.ok()) return Fail(g, proof.status());
      Status c = VerifyConsistency(sha, old->size, cp->size, *proof, old->root, cp->root);
      if (!c.ok()) {
        return Fail(g, Status::Corruption("refusing to cosign: checkpoint " + std::to_string(cp->size) +
                                          " is not consistent with the last one cosigned (size " +
                                          std::to_string(old->size) + "): " + c.message()));
      }
    }
  }
  auto verifier = Verifier::Parse(st->log_key);
  if (!verifier.ok()) return Fail(g, verifier.status().WithContext("log key"));
  auto note = ParseNote(source);
  if (!note.ok()) return Fail(g, note.status());
  if (Status s = VerifyNote(*note, *verifier); !s.ok()) {
    return Fail(g, Status::Corruption("refusing to cosign: the checkpoint is not signed by the log key: " + s.message()));
  }
  auto cp = Checkpoint::Parse(note->text);
  if (!cp.ok()) return Fail(g, cp.status());
  if (cp->origin != verifier->name()) {
    return Fail(g, Status::Corruption("refusing to cosign: the checkpoint is of log '" + cp->origin +
                                      "', the log key is named '" + verifier->name() + "'"));
  }
  if (old) {
    if (cp->origin != old->origin) {
      return Fail(g, Status::Corruption("refusing to cosign: origin '" + cp->origin + "', this witness follows '" +
                                        old->origin + "'"));
    }
    if (cp->size < old->size) {
      return Fail(g, Status::Corruption("refusing to cosign: size " + std::to_string(cp->size) +
                                        " is older than the last checkpoint cosigned (" + std::to_string(old->size) + ")"));
    }
    if (cp->size == old->size && cp->root != old->root) {
      return Fail(g, Status::Corruption("refusing to cosign: CONFLICT: a different root for size " +
                                        std::to_string(cp->size) + " than the one cosigned before (" +
                                        Base64Encode(old->root) + "): the log shows different histories"));
    }
  }
  uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::system_clock::now().time_since_epoch()).count());
  auto sig = Cosign(note->text, *key, now);
  if (!sig.ok()) return Fail(g, sig.status());
  // The new state is durable before the cosignature leaves this process.
  SignedNote log_only{note->text, {}};
  for (const auto& s : note->signatures) {
    if (s.name == verifier->name() && s.key_id == verifier->key_id()) log_only.signatures.push_back(s);
  }
  st->checkpoint = log_only.Format();
  if (Status s = SaveState(dir, *st); !s.ok()) return Fail(g, s);
  note->signatures.push_back(*sig);
  std::string cosigned = note->Format();
  if (!out.empty()) {
    if (Status s = cli::WriteFileAtomically(out, cosigned, 0644); !s.ok()) return Fail(g, s);
  }
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"size", cp->size}, {"root", Base64Encode(cp->root)}, {"note", cosigned}}) << "\n";
  } else if (out.empty()) {
    std::cout << cosigned;
  } else {
    std::cout << "cosigned checkpoint " << cp->size << " of " << cp->origin << " as " << key->name() << "; wrote " << out
              << "\n";
  }
  return 0;
}

int CosignatureAdd(const Globals& g, const std::string& file, const std::vector<std::string>& witness_keys) {
  auto text = cli::ReadTextFile(file, "cosigned note");
  if (!text.ok()) return Fail(g, text.status());
  std::vector<Verifier> ws;
  for (const auto& w : witness_keys) {
    auto v = cli::VerifierArg(w, "--witness");
    if (!v.ok()) return Fail(g, v.status());
    ws.push_back(*v);
  }
  auto l = OpenLedger(g, false);
  if (!l.ok()) return Fail(g, l.status());
  auto added = (*l)->AddCosignatures(*text, ws);
  if (!added.ok()) return Fail(g, added.status());
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"added", *added}}) << "\n";
  } else {
    std::cout << "stored " << *added << " new cosignature(s)\n";
  }
  return 0;
}

struct Options {
  std::string to, child, out, wdir, wname, log_key, bundle, cosigned;
  uint64_t from_size = 0;
  std::vector<std::string> witnesses;
};

}  // namespace

void RegisterAuditCommands(CLI::App& app, const Globals& g, CLI::App* prove, std::vector<Command>& out) {
  auto o = std::make_shared<Options>();
  auto* ex = app.add_subcommand("export", "Write an audit bundle for inspectors (docs/format/bundle.md), or with a "
                                          "format (csv, xlsx, iati, 360giving) an export of a fund (docs/exports.md)");
  ex->require_subcommand(0, 1);
  ex->fallthrough();
  ex->add_option("--to", o->to, "Folder to create (the audit bundle)");
  ex->add_option("--from-size", o->from_size, "Only entries from this size on (the size of an earlier bundle's checkpoint)");
  out.push_back({ex, [&g, o] {
                   if (o->to.empty()) {
                     return Fail(g, Status::InvalidArgument("export needs --to DIR (an audit bundle) or a format: "
                                                            "csv, xlsx, iati, 360giving"));
                   }
                   return Export(g, o->to, o->from_size);
                 }});

  auto* pc = prove->add_subcommand("child", "Inclusion proofs of all of a child's entries (docs/format/proof.md)");
  pc->add_option("id", o->child, "Child id")->required();
  pc->add_option("--out", o->out, "Write the proof to this file (default: standard output)");
  out.push_back({pc, [&g, o] { return ProveChild(g, o->child, o->out); }});

  auto* w = app.add_subcommand("witness", "An inspector's witness: cosign checkpoints that only extend what it saw");
  w->require_subcommand(1);
  w->fallthrough();
  auto* wi = w->add_subcommand("init", "Create a witness folder with a fresh Ed25519 cosignature key");
  wi->add_option("--dir", o->wdir, "Witness folder")->required();
  wi->add_option("--name", o->wname, "Witness key name, e.g. inspector.example/nguyen")->required();
  wi->add_option("--log-key", o->log_key, "The log's verifier key to trust (default: trusted on first cosign)");
  out.push_back({wi, [&g, o] { return WitnessInit(g, o->wdir, o->wname, o->log_key); }});
  auto* wc = w->add_subcommand("cosign", "Verify and cosign the latest checkpoint of --ledger, or of --bundle");
  wc->add_option("--dir", o->wdir, "Witness folder")->required();
  wc->add_option("--bundle", o->bundle, "Cosign this audit bundle's checkpoint after auditing it in full");
  wc->add_option("--out", o->out, "Write the cosigned note to this file");
  out.push_back({wc, [&g, o] { return WitnessCosign(g, o->wdir, o->bundle, o->out); }});

  auto* cs = app.add_subcommand("cosignature", "Store witnesses' cosignatures with the ledger's checkpoints");
  cs->require_subcommand(1);
  cs->fallthrough();
  auto* ca = cs->add_subcommand("add", "Verify and store the cosignatures in a cosigned checkpoint note");
  ca->add_option("file", o->cosigned, "Cosigned note (from `minhbach witness cosign --out`)")->required();
  ca->add_option("--witness", o->witnesses, "Witness cosignature key (vkey or file); repeat for several")->required();
  out.push_back({ca, [&g, o] { return CosignatureAdd(g, o->cosigned, o->witnesses); }});
}

}  // namespace minhbach::app
