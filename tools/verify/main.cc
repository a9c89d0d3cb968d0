// minhbach-verify: checks an audit bundle (or a child proof) offline. Links only OpenSSL, Cap'n Proto and the
// pure hashing, proof, domain and read-model code: never RocksDB (the ctest verify_has_no_rocksdb checks it).
//
//   minhbach-verify BUNDLE [--key VKEY] [--trusted-checkpoint FILE] [--witness VKEY]... [--min-witnesses K]
//                          [--base OLD_BUNDLE] [--json]
//   minhbach-verify --proof FILE [--key VKEY] [--json]
//
// Exit codes: 0 passed; 1 verification failed (the first problem is named); 2 bad usage or input; 3 I/O error.

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "minhbach/entry.h"
#include "minhbach/privacy.h"
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "minhbach/audit.h"
#include "minhbach/bundle.h"

namespace mb = minhbach;
using nlohmann::json;

namespace {

bool g_json = false;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int Fail(const mb::Status& s, const std::string& what) {
  // Corruption means the bundle or proof failed a check: exit 1, "FAILED".
  int code = s.ExitCode();
  if (g_json) std::cout << Dump(json{{"ok", false}, {"error", s.message()}, {"code", code}}) << "\n";
  std::cerr << "minhbach-verify: " << (code == 1 ? what + " FAILED: " : "") << s.message() << "\n";
  return code;
}

int VerifyProof(const std::string& file, const std::string& key) {
  auto text = mb::cli::ReadTextFile(file, "--proof");
  if (!text.ok()) return Fail(text.status(), "proof");
  std::optional<mb::Verifier> v;
  if (!key.empty()) {
    auto k = mb::cli::VerifierArg(key, "--key");
    if (!k.ok()) return Fail(k.status(), "proof");
    v = *k;
  }
  auto r = mb::VerifyChildProof(*text, v);
  if (!r.ok()) return Fail(r.status(), "proof");
  if (g_json) {
    std::cout << Dump(json{{"ok", true}, {"child", r->child}, {"origin", r->origin}, {"tree_size", r->size},
                           {"entries", r->entries}, {"key_from_proof", r->key_from_proof}})
              << "\n";
  } else {
    std::cout << "proof OK: " << r->entries << " entries about child " << r->child << " are in the log " << r->origin
              << " of " << r->size << " entries, whose checkpoint is signed\n";
    if (r->key_from_proof) {
      std::cout << "WARNING: checked with the key named inside the proof; pass --key with the fund's published key\n";
    }
  }
  return 0;
}

}  // namespace

int Main(int argc, char** argv);

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {  // never abort on hostile input: report it
    return Fail(mb::Status::Corruption(std::string("unexpected error: ") + e.what()), "bundle");
  }
}

int Main(int argc, char** argv) {
  CLI::App app{"minhbach-verify: check a minhbach audit bundle or child proof offline.\n\n"
               "Exit codes: 0 passed, 1 verification failed, 2 bad usage or input, 3 I/O error."};
  std::string bundle, key, trusted, base, proof, vault_extract;
  std::vector<std::string> witnesses;
  size_t min_witnesses = 0;
  app.add_option("bundle", bundle, "Audit bundle folder (from `minhbach export`)");
  app.add_option("--key", key, "The log's verifier key, or a file holding it (default: the bundle's own keys/log.vkey)");
  app.add_option("--trusted-checkpoint", trusted, "A checkpoint note you already trust: the bundle must extend it");
  app.add_option("--witness", witnesses, "A witness's cosignature key (vkey or file); repeat for several");
  app.add_option("--min-witnesses", min_witnesses, "How many of the --witness keys must have cosigned (default 0)");
  app.add_option("--base", base, "For an incremental bundle: the earlier full bundle it continues");
  app.add_option("--proof", proof, "Check a child proof file (from `minhbach prove child`) instead of a bundle");
  app.add_option("--vault-extract", vault_extract,
                 "Also check opened commitments (from `minhbach vault extract`) against the bundle's entries");
  app.add_flag("--json", g_json, "Machine-readable JSON output");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (!proof.empty()) return VerifyProof(proof, key);
  if (bundle.empty()) {
    std::cerr << "minhbach-verify: give a bundle folder or --proof FILE (see --help)\n";
    return 2;
  }
  mb::BundleVerifyOptions o;
  if (!key.empty()) {
    auto k = mb::cli::VerifierArg(key, "--key");
    if (!k.ok()) return Fail(k.status(), "bundle");
    o.log_key = *k;
  }
  if (!trusted.empty()) {
    auto t = mb::cli::ReadTextFile(trusted, "--trusted-checkpoint");
    if (!t.ok()) return Fail(t.status(), "bundle");
    o.trusted_checkpoint = *t;
  }
  for (const auto& w : witnesses) {
    auto k = mb::cli::VerifierArg(w, "--witness");
    if (!k.ok()) return Fail(k.status(), "bundle");
    if (k->type() != mb::kSigTypeCosignatureV1) {
      return Fail(mb::Status::InvalidArgument("--witness " + k->name() + " is not a cosignature key (type 0x04)"), "bundle");
    }
    o.witnesses.push_back(*k);
  }
  if (min_witnesses > o.witnesses.size()) {
    return Fail(mb::Status::InvalidArgument("--min-witnesses " + std::to_string(min_witnesses) + " but only " +
                                            std::to_string(o.witnesses.size()) + " --witness keys"), "bundle");
  }
  o.min_witnesses = min_witnesses;
  o.base_dir = base;
  // Opened commitments: each is checked against the entry it names as the entries stream by.
  std::multimap<uint64_t, mb::OpenedCommitment> opened;
  std::string extract_origin;
  size_t opened_checked = 0;
  std::string opened_errors;
  size_t opened_bad = 0;
  if (!vault_extract.empty()) {
    auto text = mb::cli::ReadTextFile(vault_extract, "--vault-extract");
    if (!text.ok()) return Fail(text.status(), "bundle");
    std::string origin;
    auto recs = mb::ParseVaultExtract(*text, &origin);
    if (!recs.ok()) return Fail(recs.status(), "bundle");
    for (auto& r : *recs) opened.emplace(r.seq, std::move(r));
    extract_origin = origin;
    o.on_entry = [&](uint64_t seq, std::string_view bytes, const mb::Hash&) -> mb::Status {
      auto range = opened.equal_range(seq);
      if (range.first == range.second) return mb::Status::Ok();
      auto reader = mb::EntryReader::Open(bytes);
      if (!reader.ok()) return reader.status();
      for (auto it = range.first; it != range.second; ++it) {
        ++opened_checked;
        mb::Status c = mb::CheckOpenedCommitment(it->second, seq, reader->payload());
        if (!c.ok() && ++opened_bad <= 50) opened_errors += "\n  " + c.message();
      }
      return mb::Status::Ok();
    };
  }
  mb::cli::Progress progress("verify", !g_json);
  o.progress = [&](uint64_t done, uint64_t total) { progress.Update(done, total); };
  auto r = mb::AuditBundle(bundle, o);
  progress.Finish();
  if (!r.ok()) return Fail(r.status(), "bundle");
  const mb::BundleReport& b = r->bundle;
  if (!vault_extract.empty()) {
    if (extract_origin != b.origin) {
      return Fail(mb::Status::Corruption("the vault extract is of log '" + extract_origin + "', the bundle of '" +
                                         b.origin + "'"),
                  "bundle");
    }
    if (opened_checked != opened.size() && opened_bad == 0) {
      opened_bad = opened.size() - opened_checked;
      opened_errors += "\n  " + std::to_string(opened_bad) + " opened commitment(s) name entries beyond the bundle (size " +
                       std::to_string(b.size) + ")";
    }
    if (opened_bad > 0) {
      return Fail(mb::Status::Corruption(std::to_string(opened_bad) + " of " + std::to_string(opened.size()) +
                                         " opened commitments do not match the log:" + opened_errors),
                  "bundle");
    }
  }
  if (g_json) {
    json j = {{"ok", true}, {"origin", b.origin}, {"from_size", b.from_size}, {"size", b.size}, {"root", b.root},
              {"entries_checked", b.entries_checked}, {"checkpoints", b.checkpoints},
              {"domain_checked", b.domain_checked}, {"reports_checked", r->reports_checked},
              {"log_key_from_bundle", b.log_key_from_bundle}, {"witnesses", b.witnesses_ok}, {"checks", b.checks},
              {"seconds", b.seconds}};
    if (b.trusted_size) j["trusted_size"] = *b.trusted_size;
    if (!r->reports_note.empty()) j["note"] = r->reports_note;
    if (!vault_extract.empty()) j["opened_commitments_checked"] = opened.size();
    std::cout << Dump(j) << "\n";
    return 0;
  }
  std::cout << "bundle OK: log " << b.origin << ", " << b.size << " entries, root " << b.root << "\n";
  if (!vault_extract.empty()) std::cout << "  ok  " << opened.size() << " opened commitments match their entries\n";
  for (const auto& c : b.checks) std::cout << "  ok  " << c << "\n";
  if (!r->reports_note.empty()) std::cout << "  --  " << r->reports_note << "\n";
  std::cout << "  " << b.entries_checked << " entries in " << b.seconds << " s";
  if (b.seconds > 0) std::cout << " (" << static_cast<uint64_t>(b.entries_checked / b.seconds) << " entries/s)";
  std::cout << "\n";
  if (b.log_key_from_bundle) {
    std::cout << "WARNING: checked with the key inside the bundle; pass --key with the fund's key as published elsewhere\n";
  }
  if (!b.trusted_size) {
    std::cout << "NOTE: no --trusted-checkpoint: a rewritten history re-signed with the fund's key would also pass; "
                 "keep this bundle's checkpoint.note and pass it next time, or require witnesses\n";
  }
  return 0;
}
