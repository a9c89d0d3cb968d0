// `minhbach serve` (the HTTP API and portal, docs/api.md) and `minhbach token add|list|revoke` (administrators'
// write tokens).
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "cli_util.h"
#include "minhbach/note.h"
#include "minhbach/serve.h"
#include "minhbach/tokens.h"

namespace minhbach::app {
namespace {

using nlohmann::json;

std::string TokensPath(const Globals& g) { return g.ledger_dir + "/" + serve::kTokensFile; }

Status ParseListen(const std::string& listen, serve::ServeOptions* o) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("--listen '" + listen + "': expected HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return Status::InvalidArgument("--listen '" + listen + "': the port must be 0..65535");
  }
  o->host = listen.substr(0, colon);
  if (o->host.size() > 2 && o->host.front() == '[' && o->host.back() == ']') o->host = o->host.substr(1, o->host.size() - 2);
  o->port = std::stoi(port);
  return Status::Ok();
}

int Serve(const Globals& g, const std::string& listen, serve::ServeOptions o) {
  if (Status s = ParseListen(listen, &o); !s.ok()) return Fail(g, s);
  if (o.threads < 1 || o.threads > 256) return Fail(g, Status::InvalidArgument("--threads: expected 1..256"));
  if (o.max_connections < static_cast<size_t>(o.threads) || o.max_connections > 100'000) {
    return Fail(g, Status::InvalidArgument("--max-connections: expected --threads..100000"));
  }
  if (o.global_rate < 0 || o.global_burst < 0 || o.read_rate < 0 || o.write_rate < 0) {
    return Fail(g, Status::InvalidArgument("--read-rate, --write-rate, --global-rate and their bursts must not be negative"));
  }
  for (const auto& p : o.trusted_proxies) {
    if (!serve::IsIpAddress(p)) {
      return Fail(g, Status::InvalidArgument("--trusted-proxy '" + p + "': expected an IPv4 or IPv6 address, e.g. 127.0.0.1"));
    }
  }
  auto ctx = Context(g);  // --tz / $TZ: the time zone appends through the server are recorded in
  if (!ctx.ok()) return Fail(g, ctx.status());
  o.context = *ctx;
  // SIGINT and SIGTERM are blocked before any thread exists (RocksDB's included), and taken by one thread below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto l = OpenLedger(g, false);
  if (!l.ok()) return Fail(g, l.status());
  auto p = OpenReadModels(g, **l);
  if (!p.ok()) return Fail(g, p.status());
  // The portal and the tlog-tiles clients check against a signed checkpoint: make sure one covers the whole log.
  auto cps = (*l)->Checkpoints();
  if (!cps.ok()) return Fail(g, cps.status());
  bool covered = false;
  if (!cps->empty()) {
    auto note = ParseNote(cps->back().note);
    auto body = note.ok() ? Checkpoint::Parse(note->text) : Result<Checkpoint>(note.status());
    covered = body.ok() && body->size == (*l)->size();
  }
  if (!covered) {
    auto signed_note = (*l)->SignCheckpoint();
    if (!signed_note.ok()) return Fail(g, signed_note.status());
  }

  serve::Server server(**l, **p, TokensPath(g), o, g.log);
  if (Status s = server.Bind(); !s.ok()) return Fail(g, s);
  const std::string url = "http://" + (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" +
                          std::to_string(server.port()) + "/";
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"url", url}, {"port", server.port()}, {"entries", (*l)->size()},
                           {"origin", (*l)->origin()}})
              << std::endl;
  } else {
    std::cout << "minhbach portal: " << url << "\n"
              << "  ledger " << g.ledger_dir << ": " << cli::Grouped((*l)->size()) << " entries, origin "
              << (*l)->origin() << "\n"
              << "  API: " << url << "api/v1/log   tlog-tiles: " << url << "checkpoint\n"
              << "  stop with Ctrl-C (requests in flight finish; every acknowledged append is already on disk)"
              << std::endl;
  }
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    g.log->warn("signal {}: stopping", sig);
    server.Stop();
  });
  Status s = server.Run();
  // Wake the waiter if the server stopped on its own.
  if (waiter.joinable()) {
    server.Stop();
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  }
  if (!s.ok()) return Fail(g, s);
  if (!g.json) std::cout << "stopped; log size " << cli::Grouped((*l)->size()) << "\n";
  return 0;
}

int TokenAdd(const Globals& g, const std::string& name, const std::string& fund, const std::string& role) {
  auto token = serve::AddToken(TokensPath(g), name, fund, role);
  if (!token.ok()) return Fail(g, token.status());
  if (g.json) {
    std::cout << Dump(json{{"ok", true}, {"name", name}, {"fund", fund}, {"role", role}, {"token", *token},
                           {"actor", "admin:" + name}})
              << "\n";
  } else {
    std::cout << *token << "\n";
    std::cerr << "token for " << role << " '" << name << "' (fund " << fund
              << "): shown once; only its SHA-256 is kept in " << TokensPath(g) << "\n";
  }
  return 0;
}

int TokenList(const Globals& g) {
  auto tokens = serve::LoadTokens(TokensPath(g));
  if (!tokens.ok()) return Fail(g, tokens.status());
  if (g.json) {
    json a = json::array();
    for (const auto& t : *tokens) {
      a.push_back({{"name", t.name}, {"fund", t.fund}, {"role", t.role}, {"sha256", t.sha256}, {"created", t.created},
                   {"revoked", t.revoked}});
    }
    std::cout << Dump(json{{"ok", true}, {"tokens", a}}) << "\n";
    return 0;
  }
  cli::Table t({"name", "role", "fund", "token sha256", "created", "revoked"}, {false, false, false, false, false, false});
  for (const auto& r : *tokens) t.Row({r.name, r.role, r.fund, r.sha256.substr(0, 16) + "…", r.created, r.revoked});
  std::cout << t.Render();
  return 0;
}

int TokenRevoke(const Globals& g, const std::string& name) {
  if (Status s = serve::RevokeToken(TokensPath(g), name); !s.ok()) return Fail(g, s);
  if (g.json) std::cout << Dump(json{{"ok", true}, {"name", name}, {"revoked", true}}) << "\n";
  else std::cout << "revoked the token of '" << name << "' (a running server refuses it from its next request)\n";
  return 0;
}

}  // namespace

void RegisterServeCommands(CLI::App& app, const Globals& g, std::vector<Command>& out) {
  auto listen = std::make_shared<std::string>("127.0.0.1:8080");
  auto o = std::make_shared<serve::ServeOptions>();
  auto* sv = app.add_subcommand("serve", "Serve the HTTP API, the tlog-tiles log and the public portal (docs/api.md)");
  sv->add_option("--listen", *listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 = any free port)");
  sv->add_option("--portal-dir", o->portal_dir, "Serve the portal's files from this folder (default: built in)");
  sv->add_option("--threads", o->threads, "Worker threads: requests served at once; a waiting connection holds none (default 32)");
  sv->add_option("--max-connections", o->max_connections,
                 "Open connections; beyond, the one waiting longest for its request head is closed (default 512)");
  sv->add_option("--max-body", o->max_body_bytes, "Largest request body in bytes (default 4194304)");
  sv->add_option("--max-batch", o->max_batch_events, "Most events in one append (default 10000)");
  sv->add_option("--read-rate", o->read_rate, "Requests per second per client address, 0 = no limit (default 100)");
  sv->add_option("--read-burst", o->read_burst, "Burst of requests per client address (default 200)");
  sv->add_option("--write-rate", o->write_rate, "Appends per second per token, 0 = no limit (default 2)");
  sv->add_option("--write-burst", o->write_burst, "Burst of appends per token (default 10)");
  sv->add_option("--global-rate", o->global_rate, "Requests per second from all addresses together, 0 = no limit (default 1000)");
  sv->add_option("--global-burst", o->global_burst, "Burst of requests from all addresses together (default 2000)");
  sv->add_option("--trusted-proxy", o->trusted_proxies,
                 "A reverse proxy's address (repeatable): from it, X-Real-IP or X-Forwarded-For name the client (docs/deploy.md)");
  out.push_back({sv, [&g, listen, o] { return Serve(g, *listen, *o); }});

  auto* tk = app.add_subcommand("token", "Administrators' write tokens for `serve` (stored hashed in LEDGER/tokens.json)");
  tk->require_subcommand(1);
  tk->fallthrough();
  auto name = std::make_shared<std::string>();
  auto fund = std::make_shared<std::string>();
  auto role = std::make_shared<std::string>(serve::kRoleAdministrator);
  auto* add = tk->add_subcommand("add", "Create a token for an administrator, scoped to one fund (or '*'); prints it once");
  add->add_option("name", *name, "Administrator id (recorded as the actor 'admin:<name>')")->required();
  add->add_option("--fund", *fund, "The fund it may write for, or '*' for every fund")->required();
  add->add_option("--role", *role, "administrator (appends, reads of personal data) or inspector (reads of personal "
                                   "data and the access journal; no appends). Default administrator");
  out.push_back({add, [&g, name, fund, role] { return TokenAdd(g, *name, *fund, *role); }});
  auto* list = tk->add_subcommand("list", "List the tokens (names, scopes, hashes, revocations)");
  out.push_back({list, [&g] { return TokenList(g); }});
  auto* rv = tk->add_subcommand("revoke", "Revoke an administrator's token");
  rv->add_option("name", *name, "Administrator id")->required();
  out.push_back({rv, [&g, name] { return TokenRevoke(g, *name); }});
}

}  // namespace minhbach::app
