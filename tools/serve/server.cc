#include "minhbach/serve.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "minhbach/entry.h"
#include "minhbach/export.h"
#include "minhbach/hash.h"
#include "minhbach/money.h"
#include "minhbach/tile_path.h"
#include "minhbach/note.h"
#include "minhbach/read_models.h"
#include "minhbach/journal.h"
#include "minhbach/privacy.h"
#include "minhbach/text.h"
#include "minhbach/tokens.h"
#include "minhbach/vault.h"
#include "front.h"
#include "portal_assets.h"

namespace minhbach::serve {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// ---- rate limits: a token bucket per client address (reads) or per administrator (appends) ----

class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst < 1 ? 1 : burst) {}
  // True when the request may go ahead; else `retry_after` is the seconds to wait.
  bool Allow(const std::string& who, double* retry_after) {
    if (rate_ <= 0) return true;
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    std::lock_guard lk(mu_);
    if (buckets_.size() > kBucketsMax) Sweep(now);
    auto [it, fresh] = buckets_.try_emplace(who, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) {
      b.tokens = std::min(burst_, b.tokens + (now - b.at) * rate_);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    *retry_after = (1 - b.tokens) / rate_;
    return false;
  }

 private:
  struct Bucket {
    double tokens, at;
  };
  static constexpr size_t kBucketsMax = 100'000;  // addresses remembered (bounded memory under many addresses)

  // Forgets the buckets that have refilled (a new one would start full alike); if that is not enough, all of them.
  // Many addresses cannot reset each other's buckets for nothing, and the global limit holds regardless.
  void Sweep(double now) {
    std::erase_if(buckets_, [&](const auto& kv) { return kv.second.tokens + (now - kv.second.at) * rate_ >= burst_; });
    if (buckets_.size() > kBucketsMax) buckets_.clear();
  }

  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// ---- what an event's payload says about which fund it touches (token scopes) ----

struct Scope {
  enum Kind { kAnyToken, kFund, kAllFunds } kind = kAnyToken;
  std::string fund;
};

std::string ContentType(const std::string& name) {
  auto ends = [&](const char* s) { return name.size() >= std::strlen(s) && name.ends_with(s); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  if (ends(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

bool SafeAssetName(const std::string& n) {
  if (n.empty() || n.size() > 100 || n[0] == '.') return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
  }
  return true;
}

// Parses a non-negative decimal query parameter.
constexpr size_t kNameMatchesMax = 50;  // donors whose vaulted name equals a searched name

std::optional<uint64_t> U64(const std::string& s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(s);
}

// "300000000", "300.000.000", "300,000,000", "300 000 000" -> 300000000; nullopt for anything else (a group after
// a separator must have exactly three digits, and one kind of separator is used throughout).
std::optional<Amount> ParseSearchAmount(const std::string& q) {
  if (q.empty() || !std::isdigit(static_cast<unsigned char>(q[0]))) return std::nullopt;
  char sep = 0;
  std::string digits;
  size_t group = 0;
  bool grouped = false;
  for (char c : q) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
      ++group;
      continue;
    }
    if (c != '.' && c != ',' && c != ' ') return std::nullopt;
    if (sep && c != sep) return std::nullopt;
    if ((grouped && group != 3) || (!grouped && (group < 1 || group > 3))) return std::nullopt;
    sep = c;
    grouped = true;
    group = 0;
  }
  if (grouped && group != 3) return std::nullopt;
  if (digits.size() > 18) return std::nullopt;
  Amount a = std::stoll(digits);
  if (a <= 0) return std::nullopt;
  return a;
}

std::string Num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

class Server::Impl {
 public:
  Impl(Ledger& ledger, Projections& projections, std::string tokens_path, ServeOptions options,
       std::shared_ptr<spdlog::logger> log)
      : ledger_(ledger),
        projections_(projections),
        ledger_dir_(std::filesystem::path(tokens_path).parent_path().string()),
        auth_(std::move(tokens_path)),
        opt_(std::move(options)),
        log_(std::move(log)),
        read_limit_(opt_.read_rate, opt_.read_burst),
        write_limit_(opt_.write_rate, opt_.write_burst),
        global_limit_(opt_.global_rate, opt_.global_burst),
        svr_(FrontLimitsOf(opt_), log_),
        committed_(ledger_.size()),
        caught_up_(projections_.position()) {
    Routes();
  }

  static FrontLimits FrontLimitsOf(const ServeOptions& o) {
    FrontLimits l;
    l.workers = o.threads;
    l.connections_max = o.max_connections;
    l.request_line_bytes_max = o.max_request_line_bytes;
    l.head_bytes_max = o.max_head_bytes;
    l.header_lines_max = o.max_header_lines;
    l.head_timeout_ms = o.head_timeout_ms;
    l.keep_alive_ms = o.keep_alive_ms;
    l.io_timeout_ms = o.io_timeout_ms;
    l.min_rate_bytes_per_s = o.min_rate_bytes_per_s;
    l.trusted_proxies = o.trusted_proxies;
    return l;
  }

  Status Bind() {
    if (opt_.port == 0) {
      port_ = svr_.bind_to_any_port(opt_.host);
      if (port_ <= 0) return Status::IOError("cannot listen on " + opt_.host + " (any port)");
    } else {
      if (!svr_.bind_to_port(opt_.host, opt_.port)) {
        return Status::IOError("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port) +
                               " (address in use, or not an address of this machine)");
      }
      port_ = opt_.port;
    }
    return Status::Ok();
  }

  Status Run() {
    std::atomic<bool> done{false};
    std::thread watcher([&] {
      // Stop() may come before listen_after_bind() is running: keep asking until the server is down.
      while (!done) {
        if (stopping_ && svr_.is_running()) svr_.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    std::thread catch_up([this] { CatchUpLoop(); });
    bool ok = stopping_ ? true : svr_.Serve();
    done = true;
    watcher.join();
    {
      std::lock_guard lk(catch_mu_);
      catch_stop_ = true;
    }
    catch_cv_.notify_all();
    catch_up.join();
    if (!ok && !stopping_) return Status::IOError("the HTTP server stopped with an error");
    return Status::Ok();
  }

  void Stop() {
    stopping_ = true;
    if (svr_.is_running()) svr_.stop();
  }

  int port() const { return port_; }

 private:
  // ---- responses ----

  static void Reply(httplib::Response& res, int status, const json& j) {
    res.status = status;
    res.set_content(Dump(j) + "\n", "application/json");
  }

  static void Error(httplib::Response& res, int status, const std::string& code, const std::string& message,
                    json extra = json::object()) {
    json e = {{"status", status}, {"code", code}, {"message", message}};
    for (auto& [k, v] : extra.items()) e[k] = v;
    Reply(res, status, json{{"error", e}});
  }

  // A query's failure: unknown ids are 404, bad arguments 400, the rest 500.
  void Fail(httplib::Response& res, const Status& s) {
    if (s.IsNotFound()) return Error(res, 404, "not_found", Public(s.message()));
    if (s.code() == Status::Code::kInvalidArgument) return Error(res, 400, "bad_request", Public(s.message()));
    Internal(res, 500, "internal", s.ToString());
  }

  // A 5xx: the details (a RocksDB message names files of the ledger's folder) go to the log only; the client gets
  // a reference to find them there.
  void Internal(httplib::Response& res, int status, const std::string& code, const std::string& details) {
    const std::string ref = "E" + std::to_string(started_s_) + "-" + std::to_string(++incidents_);
    log_->error("{} {}: {}", status, ref, details);
    Error(res, status, code,
          (status == 503 ? "the ledger could not take the batch (an I/O failure such as a full disk); nothing was "
                           "written. The server's log has the details under "
                         : "internal error; the server's log has the details under ") + ref,
          json{{"reference", ref}});
  }

  // A 4xx message built from a Status: the ledger's folder, should a message name it, is not shown.
  std::string Public(std::string m) const {
    for (const std::string& dir : {ledger_dir_, AbsoluteDir()}) {
      if (dir.size() < 2) continue;
      for (size_t p = m.find(dir); p != std::string::npos; p = m.find(dir, p)) m.replace(p, dir.size(), "LEDGER");
    }
    return m;
  }
  std::string AbsoluteDir() const {
    std::error_code ec;
    auto a = fs::absolute(ledger_dir_, ec);
    return ec ? std::string() : a.lexically_normal().string();
  }

  // Two locks, so that a heavy query of the read models never holds an append back (docs/api.md "Concurrency"):
  //  - ledger_lock_: the ledger (entries, tree, checkpoints, domain state, vault). Shared by reads, exclusive for
  //    Ledger::Append only. A query of the read models takes it briefly, for each vault or state lookup.
  //  - models_lock_: the read models. Shared by their queries, exclusive for the catch-up after an append, which
  //    CatchUpLoop runs on its own thread: the append is answered without waiting for the queries in flight.
  // Order: models_lock_ before ledger_lock_ (the catch-up reads the ledger). Neither is taken twice by one thread.
  class RwLock {
   public:
    // A waiting writer holds the turnstile, so readers that come after it wait behind it: a steady stream of
    // reads cannot starve an append or a catch-up.
    std::shared_lock<std::shared_mutex> Shared() {
      std::unique_lock t(turnstile_);
      return std::shared_lock<std::shared_mutex>(mu_);
    }
    std::unique_lock<std::shared_mutex> Exclusive() {
      std::unique_lock t(turnstile_);
      return std::unique_lock<std::shared_mutex>(mu_);
    }

   private:
    std::shared_mutex mu_;
    std::mutex turnstile_;
  };

  // Reads of the ledger only (tiles, entries, proofs, checkpoints, personal data).
  template <typename F>
  void Read(httplib::Response& res, F&& fn) {
    Status s;
    {
      auto lk = ledger_lock_.Shared();
      s = fn();
    }
    if (!s.ok()) Fail(res, s);
  }

  // Waits until the read models hold every acknowledged append (a query after an append's 200 sees the batch).
  void AwaitCatchUp() {
    std::unique_lock lk(catch_mu_);
    catch_cv_.wait(lk, [&] { return caught_up_ >= committed_ || catch_stop_; });
  }

  // Queries of the read models; `fn` takes ledger_lock_ itself, briefly, where it looks up the ledger.
  template <typename F>
  void Query(httplib::Response& res, F&& fn) {
    AwaitCatchUp();
    Status s;
    {
      auto lk = models_lock_.Shared();
      s = fn();
    }
    if (!s.ok()) Fail(res, s);
  }

  // The same for answers that scan (dashboards, text searches): kept per request target until the log grows, so
  // repeated requests between appends cost a lookup.
  template <typename F>
  void CachedRead(const httplib::Request& req, httplib::Response& res, F&& fn) {
    std::string key = req.path;
    for (const auto& [k, v] : req.params) key += "\x1f" + k + "=" + v;
    AwaitCatchUp();
    auto lk = models_lock_.Shared();
    const uint64_t pos = projections_.position();
    {
      std::lock_guard c(cache_mu_);
      if (cache_pos_ != pos) {
        cache_.clear();
        cache_pos_ = pos;
      }
      if (auto it = cache_.find(key); it != cache_.end()) {
        res.status = 200;
        res.set_content(it->second, "application/json");
        return;
      }
    }
    Status s = fn();
    lk.unlock();
    if (!s.ok()) return Fail(res, s);
    std::lock_guard c(cache_mu_);
    if (cache_pos_ == pos && res.status == 200) {
      if (cache_.size() >= 1024) cache_.clear();
      cache_[key] = res.body;
    }
  }

  // Applies each acknowledged append to the read models, on its own thread, until Run() ends (and once more
  // then if an append is still pending). A failure is logged; the next append, or the next start, retries.
  void CatchUpLoop() {
    std::unique_lock lk(catch_mu_);
    for (;;) {
      catch_cv_.wait(lk, [&] { return catch_stop_ || committed_ > caught_up_; });
      if (committed_ <= caught_up_) return;  // stopping, nothing pending
      const uint64_t target = committed_;
      lk.unlock();
      Status s;
      uint64_t position = 0;
      {
        auto models_held = models_lock_.Exclusive();
        auto held = ledger_lock_.Shared();
        s = projections_.CatchUp(ledger_);
        position = projections_.position();
      }
      if (!s.ok()) log_->error("read models did not catch up after an append: {}", s.ToString());
      lk.lock();
      caught_up_ = s.ok() ? std::max(position, target) : target;  // on failure, queries go on with what is there
      catch_cv_.notify_all();
    }
  }

  // ---- routes ----

  void Routes() {
    // Connections, heads, keep-alive and timeouts are the front's (front.h); the library reads the body.
    svr_.set_payload_max_length(opt_.max_body_bytes);
    // Only for the Keep-Alive header the library writes: the front enforces both.
    svr_.set_keep_alive_max_count(100);
    svr_.set_keep_alive_timeout(std::max(1, opt_.keep_alive_ms / 1000));
    svr_.set_read_timeout(opt_.io_timeout_ms / 1000, (opt_.io_timeout_ms % 1000) * 1000);
    svr_.set_write_timeout(opt_.io_timeout_ms / 1000, (opt_.io_timeout_ms % 1000) * 1000);
    svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      SecurityHeaders(res);
      return Admit(req, res) ? httplib::Server::HandlerResponse::Unhandled : httplib::Server::HandlerResponse::Handled;
    });
    // Every answer may be compressed (the library gzips or brotlis text and JSON for a client that accepts it),
    // so a cache must key it on Accept-Encoding.
    svr_.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_header("Vary", "Accept-Encoding");
    });
    svr_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) { LibraryError(req, res); });
    svr_.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      Internal(res, 500, "internal", "a handler threw: " + what);
    });
    svr_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      log_->debug("{} {} {} -> {}", req.remote_addr, req.method, req.path, res.status);
    });

    // tlog-tiles
    svr_.Get("/checkpoint", [this](const httplib::Request&, httplib::Response& res) { Checkpoint(res); });
    svr_.Get(R"(/tile/entries/([x0-9/]+(?:\.p/[0-9]+)?))",
             [this](const httplib::Request& req, httplib::Response& res) { EntryBundle(req.matches[1], res); });
    svr_.Get(R"(/tile/([0-9]+)/([x0-9/]+(?:\.p/[0-9]+)?))", [this](const httplib::Request& req, httplib::Response& res) {
      Tile(req.matches[1], req.matches[2], res);
    });

    // the read API
    svr_.Get("/api/v1/log", [this](const httplib::Request&, httplib::Response& res) { LogInfo(res); });
    svr_.Get("/api/v1/entries", [this](const httplib::Request& req, httplib::Response& res) { Entries(req, res); });
    svr_.Get("/api/v1/proof/inclusion", [this](const httplib::Request& req, httplib::Response& res) { Inclusion(req, res); });
    svr_.Get("/api/v1/proof/consistency",
             [this](const httplib::Request& req, httplib::Response& res) { Consistency(req, res); });
    svr_.Get("/api/v1/funds", [this](const httplib::Request&, httplib::Response& res) { Funds(res); });
    svr_.Get("/api/v1/balances", [this](const httplib::Request& req, httplib::Response& res) { Balances(req, res); });
    svr_.Get(R"(/api/v1/funds/([^/]+)/dashboard)",
             [this](const httplib::Request& req, httplib::Response& res) { Dashboard(req, req.matches[1], res); });
    svr_.Get("/api/v1/programmes", [this](const httplib::Request&, httplib::Response& res) { Programmes("", res); });
    svr_.Get(R"(/api/v1/programmes/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) { Programmes(req.matches[1], res); });
    svr_.Get("/api/v1/sponsorships", [this](const httplib::Request& req, httplib::Response& res) {
      Sponsorships(req.get_param_value("child"), req.get_param_value("as_of"), res);
    });
    svr_.Get(R"(/api/v1/children/([^/]+)/proof)",
             [this](const httplib::Request& req, httplib::Response& res) { ChildProof(req.matches[1], res); });
    svr_.Get(R"(/api/v1/children/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) { Child(req.matches[1], res); });
    svr_.Get(R"(/api/v1/donors/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) { Donor(req.matches[1], res); });
    svr_.Get("/api/v1/statement", [this](const httplib::Request& req, httplib::Response& res) { StatementOf(req, res); });
    svr_.Get("/api/v1/search", [this](const httplib::Request& req, httplib::Response& res) { Search(req, res); });

    // personal data, for inspectors and administrators (docs/api.md "Roles"); every read is journaled first
    svr_.Get(R"(/api/v1/vault/subjects/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) { VaultSubject(req, req.matches[1], res); });
    svr_.Get("/api/v1/journal", [this](const httplib::Request& req, httplib::Response& res) { Journal(req, res); });

    // the write API
    // With a content reader the body is read here, under our own limit and whatever its content type (the
    // library's own reader caps form-encoded bodies, curl's default, at 8 KiB).
    svr_.Post("/api/v1/append",
              [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                Append(req, reader, res);
              });

    // the portal
    svr_.Get("/", [this](const httplib::Request&, httplib::Response& res) { Asset("index.html", res); });
    svr_.Get(R"(/static/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      Asset(req.matches[1], res);
    });
  }

  // The checks every request passes before its route: its address's rate, everyone's rate, and no body except on
  // an append (the library would otherwise read up to --max-body into memory for any POST). False after
  // answering.
  bool Admit(const httplib::Request& req, httplib::Response& res) {
    double wait = 0;  // every request counts against its address (appends are limited per token as well)
    if (!read_limit_.Allow(req.remote_addr, &wait)) {
      res.set_header("Retry-After", std::to_string(static_cast<int>(wait) + 1));
      Error(res, 429, "rate_limited",
            "too many requests from " + req.remote_addr + ": the limit is " + Num(opt_.read_rate) +
                " per second (burst " + Num(opt_.read_burst) + ")");
      return false;
    }
    if (!global_limit_.Allow("*", &wait)) {
      res.set_header("Retry-After", std::to_string(static_cast<int>(wait) + 1));
      Error(res, 429, "rate_limited",
            "the server is busy: the limit for all clients together is " + Num(opt_.global_rate) +
                " requests per second (burst " + Num(opt_.global_burst) + ")");
      return false;
    }
    const bool body = req.has_header("Transfer-Encoding") ||
                      (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
    if (body && !(req.method == "POST" && req.path == "/api/v1/append")) {
      res.set_header("Connection", "close");  // the body is not read: the connection cannot carry another request
      Error(res, 413, "too_large", "only POST /api/v1/append takes a request body");
      return false;
    }
    return true;
  }

  // An answer the library made itself (no route, a malformed request, a body over the limit), in our JSON shape.
  void LibraryError(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own JSON error
    if (!res.has_header("Content-Security-Policy")) SecurityHeaders(res);
    if (res.status == 413) {
      return Error(res, 413, "too_large", "the request body is larger than " + std::to_string(opt_.max_body_bytes) + " bytes");
    }
    if (res.status == 404) return Error(res, 404, "not_found", "no such resource: " + req.path);
    if (res.status >= 500) return Internal(res, res.status, "internal", "the HTTP library answered " + std::to_string(res.status));
    Error(res, res.status, "error", "HTTP status " + std::to_string(res.status));
  }

  static void SecurityHeaders(httplib::Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "connect-src 'self'; frame-ancestors 'none'");
  }

  // ---- tlog-tiles ----

  // The latest signed checkpoint with its cosignatures (NotFound when none was signed).
  Result<StoredCheckpoint> Latest() const {
    MB_ASSIGN_OR_RETURN(auto cps, ledger_.Checkpoints());
    if (cps.empty()) return Status::NotFound("the ledger has no signed checkpoint yet");
    return cps.back();
  }

  void Checkpoint(httplib::Response& res) {
    Read(res, [&]() -> Status {
      MB_ASSIGN_OR_RETURN(auto cp, Latest());
      res.set_header("Cache-Control", "no-cache, max-age=0");
      res.set_content(cp.WithCosignatures(), "text/plain; charset=utf-8");
      return Status::Ok();
    });
  }

  void Tile(const std::string& level_s, const std::string& path, httplib::Response& res) {
    auto tile = ParseTilePath(path);
    if (!tile || level_s.size() > 2 || (level_s.size() > 1 && level_s[0] == '0') || std::stoul(level_s) > 63) {
      return Error(res, 404, "not_found", "not a tlog-tiles tile path: /tile/" + level_s + "/" + path);
    }
    const auto level = static_cast<uint32_t>(std::stoul(level_s));
    Read(res, [&]() -> Status {
      if (!TileFirstNode(level, tile->index, tile->width, ledger_.size())) {
        return Status::NotFound("tile " + level_s + "/" + path + " is beyond the tree (size " +
                                std::to_string(ledger_.size()) + ")");
      }
      MB_ASSIGN_OR_RETURN(std::string hashes, ledger_.TileHashes(level, tile->index, tile->width));
      res.set_header("Cache-Control", "public, max-age=31536000, immutable");
      res.set_content(std::move(hashes), "application/octet-stream");
      return Status::Ok();
    });
  }

  void EntryBundle(const std::string& path, httplib::Response& res) {
    auto tile = ParseTilePath(path);
    if (!tile) return Error(res, 404, "not_found", "not a tlog-tiles entry bundle path: /tile/entries/" + path);
    Read(res, [&]() -> Status {
      // Entry bundles are tiles of level 0: the same bounds, checked without a product that could wrap.
      const auto first = TileFirstNode(0, tile->index, tile->width, ledger_.size());
      if (!first) {
        return Status::NotFound("entry bundle " + path + " is beyond the log (size " + std::to_string(ledger_.size()) + ")");
      }
      const uint64_t from = *first, n = tile->width;
      std::string out;
      MB_RETURN_IF_ERROR(ledger_.ScanEntries(from, n, [&](uint64_t, std::string_view bytes) {
        out.push_back(static_cast<char>(bytes.size() >> 8));
        out.push_back(static_cast<char>(bytes.size() & 0xff));
        out.append(bytes);
        return true;
      }));
      res.set_header("Cache-Control", "public, max-age=31536000, immutable");
      res.set_content(std::move(out), "application/octet-stream");
      return Status::Ok();
    });
  }

  // ---- the read API ----

  void LogInfo(httplib::Response& res) {
    Read(res, [&]() -> Status {
      json j = {{"origin", ledger_.origin()}, {"size", ledger_.size()}, {"root", Base64Encode(ledger_.root())},
                {"log_key", ledger_.verifier().ToString()}, {"checkpoint", nullptr}, {"checkpoint_size", 0},
                {"witnesses", json::array()}};
      auto cp = Latest();
      if (cp.ok()) {
        j["checkpoint"] = cp->WithCosignatures();
        MB_ASSIGN_OR_RETURN(auto note, ParseNote(cp->note));
        MB_ASSIGN_OR_RETURN(auto body, ::minhbach::Checkpoint::Parse(note.text));
        j["checkpoint_size"] = body.size;
        for (const auto& line : cp->cosignatures) {
          // "— <name> <base64(key id || signature)>"
          std::istringstream in(line);
          std::string dash, name, b64;
          in >> dash >> name >> b64;
          auto raw = Base64Decode(b64);
          std::string key_id = raw.ok() && raw->size() >= 4 ? HexEncode(raw->substr(0, 4)) : "";
          j["witnesses"].push_back({{"name", name}, {"key_id", key_id}});
        }
      } else if (!cp.status().IsNotFound()) {
        return cp.status();
      }
      Reply(res, 200, j);
      return Status::Ok();
    });
  }

  void Entries(const httplib::Request& req, httplib::Response& res) {
    auto from = U64(req.has_param("from") ? req.get_param_value("from") : "0");
    auto limit = U64(req.has_param("limit") ? req.get_param_value("limit") : "100");
    if (!from || !limit || *limit == 0 || *limit > opt_.max_entries_per_page) {
      return Error(res, 400, "bad_request",
                   "expected from=N (a sequence number) and limit=1.." + std::to_string(opt_.max_entries_per_page));
    }
    // The bytes are fetched under the ledger's lock; decoding and rendering them (the costly part) is not.
    std::vector<std::pair<uint64_t, std::string>> got;
    uint64_t size = 0;
    Status s;
    {
      auto held = ledger_lock_.Shared();
      size = ledger_.size();
      const uint64_t n = *from >= size ? 0 : std::min<uint64_t>(*limit, size - *from);
      s = ledger_.ScanEntries(*from, n, [&](uint64_t seq, std::string_view bytes) {
        got.emplace_back(seq, std::string(bytes));
        return true;
      });
    }
    if (!s.ok()) return Fail(res, s);
    json a = json::array();
    Sha256 sha;
    for (const auto& [seq, bytes] : got) {
      auto e = DecodeEntry(bytes);
      if (!e.ok()) return Fail(res, e.status().WithContext("entry " + std::to_string(seq)));
      a.push_back({{"seq", seq}, {"leaf_hash", Base64Encode(sha.Leaf(bytes))}, {"bytes", Base64Encode(bytes)},
                   {"entry", json::parse(EntryToJson(*e))}});
    }
    Reply(res, 200, json{{"from", *from}, {"size", size}, {"entries", a}});
  }

  // The size proofs default to: the latest signed checkpoint's.
  Result<uint64_t> DefaultSize() const {
    auto cp = Latest();
    if (!cp.ok()) return cp.status();
    MB_ASSIGN_OR_RETURN(auto note, ParseNote(cp->note));
    MB_ASSIGN_OR_RETURN(auto body, ::minhbach::Checkpoint::Parse(note.text));
    return body.size;
  }

  static json Hashes(const std::vector<Hash>& v) {
    json a = json::array();
    for (const auto& h : v) a.push_back(Base64Encode(h));
    return a;
  }

  void Inclusion(const httplib::Request& req, httplib::Response& res) {
    auto seq = U64(req.get_param_value("seq"));
    if (!seq) return Error(res, 400, "bad_request", "expected seq=N");
    Read(res, [&]() -> Status {
      uint64_t size = 0;
      if (req.has_param("size")) {
        auto s = U64(req.get_param_value("size"));
        if (!s) return Status::InvalidArgument("size: expected a tree size");
        size = *s;
      } else {
        MB_ASSIGN_OR_RETURN(size, DefaultSize());
      }
      if (*seq >= size) {
        return Status::NotFound("entry " + std::to_string(*seq) + " is not in the tree of size " + std::to_string(size));
      }
      MB_ASSIGN_OR_RETURN(auto path, ledger_.ProveInclusion(*seq, size));
      MB_ASSIGN_OR_RETURN(Hash leaf, ledger_.LeafHash(*seq));
      MB_ASSIGN_OR_RETURN(Hash root, ledger_.RootAt(size));
      Reply(res, 200, json{{"seq", *seq}, {"size", size}, {"leaf_hash", Base64Encode(leaf)},
                           {"root", Base64Encode(root)}, {"inclusion", Hashes(path)}});
      return Status::Ok();
    });
  }

  void Consistency(const httplib::Request& req, httplib::Response& res) {
    auto from = U64(req.get_param_value("from"));
    if (!from || *from == 0) return Error(res, 400, "bad_request", "expected from=N with N >= 1 (RFC 9162 2.1.4)");
    Read(res, [&]() -> Status {
      uint64_t to = 0;
      if (req.has_param("to")) {
        auto s = U64(req.get_param_value("to"));
        if (!s) return Status::InvalidArgument("to: expected a tree size");
        to = *s;
      } else {
        MB_ASSIGN_OR_RETURN(to, DefaultSize());
      }
      if (*from > to) return Status::InvalidArgument("from must not be larger than to");
      MB_ASSIGN_OR_RETURN(auto proof, ledger_.ProveConsistency(*from, to));
      MB_ASSIGN_OR_RETURN(Hash r1, ledger_.RootAt(*from));
      MB_ASSIGN_OR_RETURN(Hash r2, ledger_.RootAt(to));
      Reply(res, 200, json{{"from", *from}, {"to", to}, {"from_root", Base64Encode(r1)}, {"to_root", Base64Encode(r2)},
                           {"proof", Hashes(proof)}});
      return Status::Ok();
    });
  }

  const ReadModels& M() const { return projections_.models(); }

  // NotFound unless `fund` was opened (a fund that has not moved money yet has no balance rows, but exists).
  Status FundExists(const std::string& fund) const {
    MB_ASSIGN_OR_RETURN(auto funds, M().Funds());
    if (!funds.count(fund)) return Status::NotFound("fund '" + fund + "' is not opened in this ledger");
    return Status::Ok();
  }

  void Funds(httplib::Response& res) {
    Query(res, [&]() -> Status {
      MB_ASSIGN_OR_RETURN(auto funds, M().Funds());
      json ids = json::array(), names = json::object();
      for (const auto& [id, name] : funds) {
        ids.push_back(id);
        names[id] = name;
      }
      Reply(res, 200, json{{"funds", ids}, {"names", names}});
      return Status::Ok();
    });
  }

  void Balances(const httplib::Request& req, httplib::Response& res) {
    Query(res, [&]() -> Status {
      const std::string fund = req.get_param_value("fund");
      if (!fund.empty()) {
        MB_RETURN_IF_ERROR(FundExists(fund));
      }
      MB_ASSIGN_OR_RETURN(auto rows, M().Balances(fund));
      json a = json::array();
      for (const auto& r : rows) a.push_back(ToJson(r));
      Reply(res, 200, json{{"ok", true}, {"entries", projections_.position()}, {"balances", a}});
      return Status::Ok();
    });
  }

  // Balances, money in and out by month (from the fund's statement) and the share that reached children.
  void Dashboard(const httplib::Request& req, const std::string& fund, httplib::Response& res) {
    CachedRead(req, res, [&]() -> Status {
      MB_RETURN_IF_ERROR(FundExists(fund));
      MB_ASSIGN_OR_RETURN(auto rows, M().Balances(fund));
      MB_ASSIGN_OR_RETURN(Statement st, M().FundStatement(fund, "", "", ""));
      struct Month {
        Amount received = 0, disbursed = 0, expensed = 0, allocated_in = 0, allocated_out = 0;
      };
      std::map<std::string, Month> months;
      for (const auto& r : st.rows) {
        // A contra row (a reversal) has the original's type with the side flipped: it counts negative.
        const bool contra = r.reverses != 0;
        const std::string side = contra ? (r.side == "credit" ? "debit" : "credit") : r.side;
        const Amount a = contra ? -r.amount : r.amount;
        Month& m = months[r.date.substr(0, 7)];
        Amount* bucket = nullptr;
        if (r.type == "donation_received") bucket = &m.received;
        else if (r.type == "disbursement") bucket = &m.disbursed;
        else if (r.type == "expense") bucket = &m.expensed;
        else if (r.type == "allocation") bucket = side == "credit" ? &m.allocated_in : &m.allocated_out;
        if (bucket) {
          MB_ASSIGN_OR_RETURN(*bucket, CheckedAdd(*bucket, a));
        }
      }
      json ms = json::array();
      for (const auto& [month, m] : months) {
        ms.push_back({{"month", month}, {"received", m.received}, {"disbursed", m.disbursed},
                      {"expensed", m.expensed}, {"allocated_in", m.allocated_in}, {"allocated_out", m.allocated_out}});
      }
      Amount received = 0, disbursed = 0, expensed = 0, balance = 0;
      json a = json::array();
      for (const auto& r : rows) {
        a.push_back(ToJson(r));
        MB_ASSIGN_OR_RETURN(received, CheckedAdd(received, r.received));
        MB_ASSIGN_OR_RETURN(disbursed, CheckedAdd(disbursed, r.disbursed));
        MB_ASSIGN_OR_RETURN(expensed, CheckedAdd(expensed, r.expensed));
        MB_ASSIGN_OR_RETURN(balance, CheckedAdd(balance, r.balance));
      }
      // Per mille, floor, in integers (never floating point for money): -1 when nothing was spent.
      int64_t share = -1;
      if (disbursed + expensed > 0) share = static_cast<int64_t>((static_cast<__int128>(disbursed) * 1000) / (disbursed + expensed));
      Reply(res, 200, json{{"fund", fund}, {"balances", a}, {"months", ms}, {"received", received},
                           {"disbursed", disbursed}, {"expensed", expensed}, {"balance", balance},
                           {"share_to_children_permille", share}, {"entries", projections_.position()}});
      return Status::Ok();
    });
  }

  void Programmes(const std::string& id, httplib::Response& res) {
    Query(res, [&]() -> Status {
      std::vector<std::string> ids{id};
      if (id.empty()) {
        MB_ASSIGN_OR_RETURN(ids, M().ProgrammeIds());
      }
      json a = json::array();
      for (const auto& p : ids) {
        MB_ASSIGN_OR_RETURN(auto r, M().Programme(p));
        json pj = ToJson(r);
        // The small-count rule of public outputs: 1..4 children are shown as "< 5".
        if (r.children_reached > 0 && r.children_reached < kSmallCountMin) pj["children_reached"] = PublicCount(r.children_reached);
        a.push_back(std::move(pj));
      }
      if (!id.empty()) {
        json j = a.at(0);
        j["ok"] = true;
        Reply(res, 200, j);
      } else {
        Reply(res, 200, json{{"ok", true}, {"programmes", a}});
      }
      return Status::Ok();
    });
  }

  static std::string ThisMonth() {
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
    return FormatTimestamp(now.count(), 7 * 60).substr(0, 7);  // the funds' time zone, Asia/Ho_Chi_Minh
  }

  Result<json> SponsorshipsJson(const std::string& child, std::string as_of) const {
    if (as_of.empty()) as_of = ThisMonth();
    MB_RETURN_IF_ERROR(ParseMonth(as_of).status().WithContext("as_of"));
    MB_ASSIGN_OR_RETURN(auto rows, M().Sponsorships(child, as_of));
    json a = json::array();
    for (const auto& r : rows) a.push_back(ToJson(r));
    MB_ASSIGN_OR_RETURN(Compliance compliance, ComplianceOf(rows, as_of));
    json j = ToJson(compliance);
    j["ok"] = true;
    j["rows"] = a;
    return j;
  }

  void Sponsorships(const std::string& child, const std::string& as_of, httplib::Response& res) {
    Query(res, [&]() -> Status {
      MB_ASSIGN_OR_RETURN(json j, SponsorshipsJson(child, as_of));
      Reply(res, 200, j);
      return Status::Ok();
    });
  }

  void Child(const std::string& child, httplib::Response& res) {
    Query(res, [&]() -> Status {
      MB_ASSIGN_OR_RETURN(auto rows, M().ChildHistory(child));
      json a = json::array();
      for (const auto& r : rows) a.push_back(ToJson(r));
      // The same shape with or without sponsorships: a child with none has zero counts and no rows.
      MB_ASSIGN_OR_RETURN(Compliance none, ComplianceOf({}, ThisMonth()));
      json sp = ToJson(none);
      sp["ok"] = true;
      sp["rows"] = json::array();
      auto s = SponsorshipsJson(child, "");
      if (s.ok()) sp = *s;
      else if (!s.status().IsNotFound()) return s.status();
      MB_ASSIGN_OR_RETURN(ChildTotals totals, TotalsOf(rows));
      Reply(res, 200, json{{"ok", true}, {"child", child}, {"history", a}, {"totals", ToJson(totals)},
                           {"sponsorships", sp}});
      return Status::Ok();
    });
  }

  void ChildProof(const std::string& child, httplib::Response& res) {
    Query(res, [&]() -> Status {
      auto held = ledger_lock_.Shared();  // the proofs come from the ledger
      MB_ASSIGN_OR_RETURN(std::string doc, ChildProofJson(ledger_, M(), child));
      res.set_content(doc, "application/json");
      return Status::Ok();
    });
  }

  void Donor(const std::string& donor, httplib::Response& res) {
    Query(res, [&]() -> Status {
      MB_ASSIGN_OR_RETURN(auto t, M().Donor(donor));
      json j = ToJson(t);
      // A donor's page spans funds: the strictest of their policies applies.
      ReadModels::PublicationPolicy strictest;
      MB_ASSIGN_OR_RETURN(auto funds, M().Funds());
      auto rank = [](const std::string& d) { return d == "anonymous" ? 2 : d == "initials" ? 1 : 0; };
      for (const auto& [fund, name] : funds) {
        MB_ASSIGN_OR_RETURN(auto p, M().Policy(fund));
        if (rank(p.organisations) > rank(strictest.organisations)) strictest.organisations = p.organisations;
        if (rank(p.individuals) > rank(strictest.individuals)) strictest.individuals = p.individuals;
      }
      const std::string listed = j.value("display_name", "");
      if (listed != "erased") {
        MB_ASSIGN_OR_RETURN(std::string shown, Published(donor, listed.empty() ? "anonymous" : listed, strictest));
        j["display_name"] = shown;
      }
      j["ok"] = true;
      Reply(res, 200, j);
      return Status::Ok();
    });
  }

  static Status CheckDateParam(const httplib::Request& req, const char* name) {
    if (!req.has_param(name)) return Status::Ok();
    return CheckDate(req.get_param_value(name)).WithContext(name);
  }

  void StatementOf(const httplib::Request& req, httplib::Response& res) {
    Query(res, [&]() -> Status {
      const std::string fund = req.get_param_value("fund");
      if (fund.empty()) return Status::InvalidArgument("fund: required");
      MB_RETURN_IF_ERROR(CheckDateParam(req, "from"));
      MB_RETURN_IF_ERROR(CheckDateParam(req, "to"));
      MB_RETURN_IF_ERROR(FundExists(fund));
      MB_ASSIGN_OR_RETURN(Statement st, M().FundStatement(fund, req.get_param_value("from"), req.get_param_value("to"),
                                                          req.get_param_value("ref")));
      json j = ToJson(st);
      MB_RETURN_IF_ERROR(PublishDonors(&j["rows"]));
      j["ok"] = true;
      Reply(res, 200, j);
      return Status::Ok();
    });
  }

  // One box: a bank reference, an amount ("300000000", "300.000.000", "300,000,000") or a donor's name. References
  // and amounts are looked up in the read models' indexes; a text that is not a known reference scans the credits
  // of every fund's statement (cached until the log grows).
  void Search(const httplib::Request& req, httplib::Response& res) {
    std::string q = req.get_param_value("q");
    while (!q.empty() && std::isspace(static_cast<unsigned char>(q.back()))) q.pop_back();
    while (!q.empty() && std::isspace(static_cast<unsigned char>(q.front()))) q.erase(q.begin());
    if (q.empty() || q.size() > 200) return Error(res, 400, "bad_request", "q: expected 1..200 characters");
    CachedRead(req, res, [&]() -> Status {
      MB_RETURN_IF_ERROR(CheckDateParam(req, "from"));
      MB_RETURN_IF_ERROR(CheckDateParam(req, "to"));
      const std::string only_fund = req.get_param_value("fund");
      size_t limit = opt_.max_search_rows;
      if (req.has_param("limit")) {
        auto l = U64(req.get_param_value("limit"));
        if (!l || *l == 0) return Status::InvalidArgument("limit: expected a positive number");
        limit = std::min<size_t>(limit, *l);
      }
      if (!only_fund.empty()) {
        MB_ASSIGN_OR_RETURN(auto funds, M().Funds());
        if (!funds.count(only_fund)) return Status::NotFound("fund '" + only_fund + "' is not opened in this ledger");
      }
      const std::optional<Amount> amount = ParseSearchAmount(q);
      const std::string needle = FoldForSearch(q);
      std::set<std::pair<uint64_t, std::string>> seen;
      bool truncated = false;
      const std::string from = req.get_param_value("from"), to = req.get_param_value("to");
      Statement found;  // rendered with the statement's own row JSON
      auto add = [&](const StatementRow& r) {
        if (!only_fund.empty() && r.fund != only_fund) return;
        if ((!from.empty() && r.date < from) || (!to.empty() && r.date > to)) return;
        if (!seen.insert({r.seq, r.fund}).second) return;
        if (found.rows.size() >= limit) {
          truncated = true;
          return;
        }
        found.rows.push_back(r);
      };
      MB_ASSIGN_OR_RETURN(auto by_ref, M().FindReference(q));
      for (const auto& r : by_ref) add(r);
      if (amount) {
        MB_ASSIGN_OR_RETURN(auto by_amount, M().FindAmount(*amount));
        for (const auto& r : by_amount) add(r);
      } else if (by_ref.empty()) {
        // A donor typing their own name: matched inside the vault, answered with the masked name only.
        auto own_list = [&] {
          auto held = ledger_lock_.Shared();
          return ledger_.vault().FindByName(NormalizeName(q), kNameMatchesMax);
        }();
        if (!own_list.ok()) return own_list.status();
        const std::set<std::string> own(own_list->begin(), own_list->end());
        MB_ASSIGN_OR_RETURN(auto funds, M().Funds());
        for (const auto& [fund, name] : funds) {
          if (!only_fund.empty() && fund != only_fund) continue;
          MB_ASSIGN_OR_RETURN(Statement st, M().FundStatement(fund, from, to, ""));
          for (const auto& r : st.rows) {
            if (r.side != "credit" || r.reverses != 0) continue;
            if (own.count(r.donor) || FoldForSearch(r.counterparty).find(needle) != std::string::npos ||
                FoldForSearch(r.description).find(needle) != std::string::npos ||
                (!r.bank_ref.empty() && FoldForSearch(r.bank_ref).find(needle) != std::string::npos)) {
              add(r);
            }
          }
        }
      }
      json rows = ToJson(found)["rows"];
      MB_RETURN_IF_ERROR(PublishDonors(&rows));
      Reply(res, 200, json{{"ok", true}, {"q", q}, {"kind", amount ? "amount" : "text"}, {"rows", rows},
                           {"truncated", truncated}});
      return Status::Ok();
    });
  }

  // An individual donor as the publication policy shows them (docs/threat-model.md "Privacy"): the family name
  // and initials of the name in the vault, "erased" once erased, "anonymous" without a name. Organisations keep
  // their public display name. Account and phone numbers are never shown.
  Status PublishDonors(json* rows) const {
    std::map<std::string, std::string> shown;  // fund '\0' donor -> as shown
    std::map<std::string, ReadModels::PublicationPolicy> policies;
    for (auto& row : *rows) {
      const std::string donor = row.value("donor", ""), fund = row.value("fund", "");
      if (donor.empty()) continue;
      auto pol = policies.find(fund);
      if (pol == policies.end()) {
        MB_ASSIGN_OR_RETURN(auto p, M().Policy(fund));
        pol = policies.emplace(fund, p).first;
      }
      const std::string key = fund + '\0' + donor;
      auto it = shown.find(key);
      if (it == shown.end()) {
        MB_ASSIGN_OR_RETURN(std::string display, Published(donor, row.value("counterparty", ""), pol->second));
        it = shown.emplace(key, display).first;
      }
      row["counterparty"] = it->second;
    }
    return Status::Ok();
  }
  // A donor as a fund's policy shows them: `listed` is the read model's name ("anonymous" when there is no public
  // name: an individual, whose name is only in the vault).
  Result<std::string> Published(const std::string& donor, const std::string& listed,
                                const ReadModels::PublicationPolicy& policy) const {
    if (listed != "anonymous") {  // an organisation or the state budget
      if (policy.organisations == "anonymous") return std::string("anonymous");
      return policy.organisations == "initials" ? MaskedInitials(listed) : listed;
    }
    if (policy.individuals == "anonymous") return std::string("anonymous");
    return DonorDisplay(donor);
  }
  // Takes ledger_lock_ for its two lookups: called by queries of the read models, under models_lock_ only.
  Result<std::string> DonorDisplay(const std::string& donor) const {
    auto held = ledger_lock_.Shared();
    MB_ASSIGN_OR_RETURN(std::string erased, ledger_.DomainRecord("x/" + donor));
    if (!erased.empty()) return std::string("erased");
    std::string shown = "anonymous";
    MB_RETURN_IF_ERROR(ledger_.vault().VisitSubject(donor, [&](VaultRecord&& r) {
      if (r.field != "donor_registered.name") return true;
      shown = MaskedInitials(r.value);
      return false;
    }));
    return shown;
  }

  // ---- personal data (roles) ----

  // The token of a non-public role allowed here, or nullopt after answering 401 / 403.
  std::optional<TokenRecord> Role(const httplib::Request& req, httplib::Response& res, bool inspector_only) {
    auto who = Authenticate(req, res);
    if (!who) return std::nullopt;
    if (inspector_only && who->role != kRoleInspector) {
      Error(res, 403, "forbidden", "only an inspector's token may read the access journal");
      return std::nullopt;
    }
    return who;
  }

  void VaultSubject(const httplib::Request& req, const std::string& subject, httplib::Response& res) {
    auto who = Role(req, res, false);
    if (!who) return;
    const std::string why = req.get_param_value("why");
    if (why.empty()) return Error(res, 400, "bad_request", "why: required (the reason is recorded in the access journal)");
    Read(res, [&]() -> Status {
      bool known = false;
      for (const char* kind : {"d/", "c/", "g/"}) {
        MB_ASSIGN_OR_RETURN(std::string rec, ledger_.DomainRecord(kind + subject));
        known = known || !rec.empty();
      }
      if (!known) return Status::NotFound("subject '" + subject + "' is not a registered donor, child or guardian");
      MB_RETURN_IF_ERROR(JournalAppend(ledger_dir_, {0, "", "token:" + who->name, who->role, subject,
                                                     "GET /api/v1/vault/subjects/" + subject, why}));
      MB_ASSIGN_OR_RETURN(auto recs, ledger_.vault().ForSubject(subject));
      MB_ASSIGN_OR_RETURN(std::string erased, ledger_.DomainRecord("x/" + subject));
      json a = json::array();
      for (const auto& r : recs) {
        a.push_back({{"seq", r.seq}, {"field", r.field}, {"value", r.value}, {"commitment", HexEncode(r.commitment)}});
      }
      Reply(res, 200, json{{"ok", true}, {"subject", subject}, {"erased", !erased.empty()}, {"records", a}});
      return Status::Ok();
    });
  }

  void Journal(const httplib::Request& req, httplib::Response& res) {
    auto who = Role(req, res, true);
    if (!who) return;
    Read(res, [&]() -> Status {
      size_t limit = 100;
      if (req.has_param("limit")) {
        auto l = U64(req.get_param_value("limit"));
        if (!l || *l == 0 || *l > 1000) return Status::InvalidArgument("limit: expected 1..1000");
        limit = *l;
      }
      MB_ASSIGN_OR_RETURN(auto recs, JournalRead(ledger_dir_));
      json a = json::array();
      for (size_t i = recs.size() > limit ? recs.size() - limit : 0; i < recs.size(); ++i) {
        const auto& r = recs[i];
        a.push_back({{"n", r.n}, {"at", r.at}, {"who", r.who}, {"role", r.role}, {"subject", r.subject},
                     {"what", r.what}, {"why", r.why}});
      }
      Reply(res, 200, json{{"ok", true}, {"verified", true}, {"total", recs.size()}, {"records", a}});
      return Status::Ok();
    });
  }

  // ---- the write API ----

  // Which fund an event spends or changes, for the token's scope. Registrations of pseudonymous donors and
  // children touch no fund; province-wide rules (allowance rates, entitlements) and notes need a token for every fund.
  Result<Scope> ScopeOf(schema::Entry::Payload::Reader p, const std::map<std::string, std::string>& batch_owner,
                        int depth) const {
    using P = schema::Entry::Payload;
    auto fund = [](const auto& t) { return Scope{Scope::kFund, std::string(t.cStr())}; };
    auto owner = [&](const std::string& prefix, const std::string& id) -> Result<Scope> {
      if (auto it = batch_owner.find(prefix + id); it != batch_owner.end()) return Scope{Scope::kFund, it->second};
      MB_ASSIGN_OR_RETURN(std::string rec, ledger_.DomainRecord(prefix + id));
      if (rec.empty()) return Scope{};  // unknown: the append itself refuses it with the ledger's message
      json j = json::parse(rec, nullptr, false);
      if (j.is_discarded() || !j.contains("fund")) return Status::Corruption("state record " + prefix + id);
      return Scope{Scope::kFund, j["fund"].get<std::string>()};
    };
    switch (p.which()) {
      case P::FUND_OPENED: return fund(p.getFundOpened().getFund());
      case P::PROGRAMME_OPENED: return fund(p.getProgrammeOpened().getFund());
      case P::PROGRAMME_CLOSED: return owner("p/", p.getProgrammeClosed().getProgramme().cStr());
      case P::DONOR_REGISTERED:
      case P::CHILD_REGISTERED:
      case P::GUARDIAN_REGISTERED: return Scope{};
      case P::PUBLICATION_POLICY_SET: return fund(p.getPublicationPolicySet().getFund());
      case P::ERASURE: return Scope{Scope::kAllFunds, ""};  // never from JSON input; `minhbach erase` only
      case P::DONATION_RECEIVED: return fund(p.getDonationReceived().getFund());
      case P::SPONSORSHIP_AGREED: return fund(p.getSponsorshipAgreed().getFund());
      case P::SPONSORSHIP_AMENDED: return owner("s/", p.getSponsorshipAmended().getSponsorship().cStr());
      case P::SPONSORSHIP_ENDED: return owner("s/", p.getSponsorshipEnded().getSponsorship().cStr());
      case P::ALLOCATION: return fund(p.getAllocation().getFromFund());
      case P::DISBURSEMENT: return fund(p.getDisbursement().getFund());
      case P::EXPENSE: return fund(p.getExpense().getFund());
      case P::REVERSAL: {
        if (depth > 0) return Scope{Scope::kAllFunds, ""};
        const uint64_t target = p.getReversal().getSeq();
        if (target >= ledger_.size()) return Scope{};
        MB_ASSIGN_OR_RETURN(std::string bytes, ledger_.GetEntry(target));
        MB_ASSIGN_OR_RETURN(auto r, EntryReader::Open(bytes));
        return ScopeOf(r.payload(), batch_owner, depth + 1);
      }
      case P::NOTE:
      case P::ALLOWANCE_RATE_SET:
      case P::ENTITLEMENT_DETERMINED: return Scope{Scope::kAllFunds, ""};
    }
    return Scope{Scope::kAllFunds, ""};
  }

  // The lines of the batch the token may not write (empty: all allowed).
  Result<json> OutOfScope(const std::vector<EventDraft>& drafts, const TokenRecord& token) const {
    json bad = json::array();
    if (token.fund == "*") return bad;
    std::map<std::string, std::string> batch_owner;  // programmes and sponsorships created in this batch
    for (const auto& d : drafts) {
      MB_ASSIGN_OR_RETURN(auto r, EntryReader::OpenDraft(d.payload));
      auto p = r.payload();
      if (p.isProgrammeOpened()) {
        batch_owner["p/" + std::string(p.getProgrammeOpened().getProgramme().cStr())] = p.getProgrammeOpened().getFund().cStr();
      }
      if (p.isSponsorshipAgreed()) {
        batch_owner["s/" + std::string(p.getSponsorshipAgreed().getSponsorship().cStr())] =
            p.getSponsorshipAgreed().getFund().cStr();
      }
      MB_ASSIGN_OR_RETURN(Scope s, ScopeOf(p, batch_owner, 0));
      if (s.kind == Scope::kAllFunds) {
        bad.push_back({{"line", d.line}, {"message", PayloadTypeName(p) + " needs a token for every fund ('*')"}});
      } else if (s.kind == Scope::kFund && s.fund != token.fund) {
        bad.push_back({{"line", d.line},
                       {"message", "fund '" + s.fund + "' is outside this token's fund '" + token.fund + "'"}});
      }
    }
    return bad;
  }

  // The request's administrator, or nullopt after answering 401 (nothing read from the body yet).
  std::optional<TokenRecord> Authenticate(const httplib::Request& req, httplib::Response& res) {
    const std::string auth = req.get_header_value("Authorization");
    if (auth.size() < 7 || FoldForSearch(auth.substr(0, 7)) != "bearer ") {
      res.set_header("WWW-Authenticate", "Bearer");
      Error(res, 401, "unauthorized",
            auth.empty() ? "missing 'Authorization: Bearer <token>' header" : "expected 'Authorization: Bearer <token>'");
      return std::nullopt;
    }
    auto token = auth_.Check(std::string_view(auth).substr(7));
    if (!token.ok()) {
      Fail(res, token.status());
      return std::nullopt;
    }
    if (!token->has_value()) {
      res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      Error(res, 401, "unauthorized", "unknown or revoked token");
    }
    return *token;
  }

  // The body, read under max_body_bytes whatever its content type, or nullopt after answering 413 / 400.
  std::optional<std::string> ReadBody(const httplib::Request& req, const httplib::ContentReader& reader,
                                      httplib::Response& res) {
    auto too_large = [&] {
      res.set_header("Connection", "close");
      Error(res, 413, "too_large", "the request body is larger than " + std::to_string(opt_.max_body_bytes) + " bytes");
      return std::nullopt;
    };
    if (req.has_header("Content-Length")) {
      const auto declared = U64(req.get_header_value("Content-Length"));
      if (!declared || *declared > opt_.max_body_bytes) return too_large();
    }
    std::string body;
    bool over = false;
    const bool read_ok = reader([&](const char* data, size_t n) {
      over = body.size() + n > opt_.max_body_bytes;
      if (!over) body.append(data, n);
      return !over;
    });
    if (over) return too_large();
    if (!read_ok) {
      Error(res, 400, "bad_request", "the request body could not be read (connection cut short?)");
      return std::nullopt;
    }
    return body;
  }

  // The batch's events, or nullopt after answering 400 (malformed or empty) / 413 (too many events).
  std::optional<std::vector<EventDraft>> ParseBatch(const std::string& body, httplib::Response& res) {
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
      Error(res, 400, "bad_batch", "the batch is empty: send JSON Lines, one event a line");
      return std::nullopt;
    }
    auto drafts = ParseJsonLines(body);
    if (!drafts.ok()) {
      Error(res, 400, "bad_batch", drafts.status().message());
      return std::nullopt;
    }
    if (drafts->size() > opt_.max_batch_events) {
      Error(res, 413, "too_large",
            "the batch has " + std::to_string(drafts->size()) + " events; the limit is " +
                std::to_string(opt_.max_batch_events) + " per request");
      return std::nullopt;
    }
    return std::move(drafts).value();
  }

  // Checks in the order docs/api.md gives: token, rate, body size, batch, scope, then the ledger's own rules.
  void Append(const httplib::Request& req, const httplib::ContentReader& reader, httplib::Response& res) {
    auto who_or = Authenticate(req, res);
    if (!who_or) return;
    const TokenRecord& who = *who_or;
    if (who.role != kRoleAdministrator) return Error(res, 403, "forbidden", "an inspector's token cannot append");
    double wait = 0;
    if (!write_limit_.Allow(who.name, &wait)) {
      res.set_header("Retry-After", std::to_string(static_cast<int>(wait) + 1));
      return Error(res, 429, "rate_limited",
                   "too many appends by '" + who.name + "': the limit is " + Num(opt_.write_rate) +
                       " per second (burst " + Num(opt_.write_burst) + ")");
    }
    // A multipart form has no JSON Lines in it, and the library's plain reader cannot read one (it would throw
    // bad_function_call): refused before reading.
    if (req.is_multipart_form_data()) {
      res.set_header("Connection", "close");
      return Error(res, 415, "unsupported_media_type",
                   "send the batch as the raw body (JSON Lines, e.g. Content-Type: application/x-ndjson), not as a "
                   "multipart form");
    }
    auto body = ReadBody(req, reader, res);
    if (!body) return;
    auto drafts_or = ParseBatch(*body, res);
    if (!drafts_or) return;
    Commit(who, *drafts_or, res);
  }

  // Scope check, the atomic append and a new checkpoint; the read models' catch-up follows on its own thread
  // (CatchUpLoop), so the answer never waits for a query of the read models in flight.
  void Commit(const TokenRecord& who, const std::vector<EventDraft>& drafts, httplib::Response& res) {
    AppendContext ctx = opt_.context;
    ctx.actor = "admin:" + who.name;
    std::lock_guard one_writer(write_mu_);
    auto lk = ledger_lock_.Exclusive();
    auto bad = OutOfScope(drafts, who);
    if (!bad.ok()) return Fail(res, bad.status());
    if (!bad->empty()) {
      return Error(res, 403, "forbidden", "the token of '" + who.name + "' may not write some of these events",
                   json{{"lines", *bad}});
    }
    auto r = ledger_.Append(drafts, ctx);
    if (!r.ok()) {
      if (r.status().code() == Status::Code::kInvalidArgument) return Error(res, 422, "rejected", Public(r.status().message()));
      return Internal(res, 503, "unavailable", "append by " + who.name + " failed: " + r.status().ToString());
    }
    // Durable from here on. The read models and the checkpoint follow; if they fail, the write still stands (the
    // read models catch up at the next append or start, a checkpoint is signed at the next append or start).
    json dup = json::array();
    for (const auto& d : r->duplicates) dup.push_back({{"index", d.index}, {"line", d.line}, {"existing_seq", d.existing_seq}});
    json out = {{"ok", true}, {"appended", r->appended}, {"first_seq", r->first_seq}, {"size", r->size},
                {"duplicates", dup}, {"actor", ctx.actor}};
    if (r->appended > 0) {
      {
        std::lock_guard c(catch_mu_);
        committed_ = r->size;
      }
      catch_cv_.notify_all();
      // Readers may go on while the checkpoint is signed: it only adds a record (one writer at a time holds
      // write_mu_), and until it is stored they see the previous checkpoint, as a tlog client expects.
      lk.unlock();
      auto shared = ledger_lock_.Shared();
      auto note = ledger_.SignCheckpoint();
      if (note.ok()) out["checkpoint"] = *note;
      else log_->error("signing a checkpoint after an append failed: {}", note.status().ToString());
    }
    log_->info("append by {}: {} new, {} duplicates, size {}", who.name, r->appended, r->duplicates.size(), r->size);
    Reply(res, 200, out);
  }

  // ---- the portal ----

  void Asset(const std::string& name, httplib::Response& res) {
    if (!SafeAssetName(name)) return Error(res, 404, "not_found", "no such file");
    if (!opt_.portal_dir.empty()) {
      std::ifstream in(fs::path(opt_.portal_dir) / name, std::ios::binary);
      if (!in) return Error(res, 404, "not_found", "no such file: " + name);
      std::ostringstream ss;
      ss << in.rdbuf();
      res.set_header("Cache-Control", "no-cache");
      res.set_content(ss.str(), ContentType(name));
      return;
    }
    for (const auto& a : PortalAssets()) {
      if (a.name == name) {
        res.set_header("Cache-Control", "public, max-age=300");
        res.set_content(std::string(a.data), ContentType(name));
        return;
      }
    }
    Error(res, 404, "not_found", "no such file: " + name);
  }

  Ledger& ledger_;
  Projections& projections_;
  std::string ledger_dir_;  // where the access journal is (the token file's folder: the ledger's)
  TokenAuth auth_;
  ServeOptions opt_;
  std::shared_ptr<spdlog::logger> log_;
  RateLimiter read_limit_, write_limit_, global_limit_;
  Front svr_;
  mutable RwLock ledger_lock_;  // see RwLock: shared by reads, exclusive for Ledger::Append
  mutable RwLock models_lock_;  // shared by queries of the read models, exclusive for their catch-up
  std::mutex write_mu_;         // one append (with its checkpoint) at a time
  std::mutex catch_mu_;         // guards committed_, caught_up_, catch_stop_
  std::condition_variable catch_cv_;
  uint64_t committed_;          // the log's size after the last acknowledged append
  uint64_t caught_up_;          // the read models' position after the last catch-up
  bool catch_stop_ = false;
  const int64_t started_s_ = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
  std::atomic<uint64_t> incidents_{0};  // 5xx answers, numbered for their reference
  std::mutex cache_mu_;
  uint64_t cache_pos_ = UINT64_MAX;
  std::unordered_map<std::string, std::string> cache_;  // request target -> JSON body, at log position cache_pos_
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

Server::Server(Ledger& ledger, Projections& projections, std::string tokens_path, ServeOptions options,
               std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(ledger, projections, std::move(tokens_path), std::move(options), std::move(log))) {}
Server::~Server() = default;
Status Server::Bind() { return impl_->Bind(); }
int Server::port() const { return impl_->port(); }
Status Server::Run() { return impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace minhbach::serve
