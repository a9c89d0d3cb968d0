// `minhbach serve`: the public read API, the C2SP tlog-tiles endpoints, the write API for administrators and the
// transparency portal, in one process over one ledger. See docs/api.md.
//
// Concurrency: requests run on a pool of threads. Reads of the ledger share one lock, which an append takes
// exclusively for the atomic, fsynced Ledger::Append only; reads of the read models share a second lock, which a
// catch-up thread takes exclusively after each append. So a reader sees the log, and the read models, before or
// after a batch, never half of it; an append never waits for a query of the read models; and a query that comes
// after an acknowledged append waits for its catch-up, so it sees the batch. A write is acknowledged (HTTP 200)
// only after it is durable. Stop() stops accepting connections, lets the requests in flight finish and returns
// from Run(); nothing acknowledged can be lost, since it was already synced.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "minhbach/entry.h"
#include "minhbach/ledger.h"
#include "minhbach/projections.h"
#include "minhbach/status.h"

namespace spdlog {
class logger;
}

namespace minhbach::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                         // 0: any free port (see Server::port())
  std::string portal_dir;                  // "" = the portal embedded at build time; else serve these files
  int threads = 32;                        // worker threads: requests served at once (an idle connection holds none)
  size_t max_body_bytes = 4 << 20;         // request body (an append batch): larger -> 413
  size_t max_batch_events = 10'000;        // events in one append: more -> 413
  double read_rate = 100, read_burst = 200;  // requests per second and burst, per client address; 0 = no limit
  double write_rate = 2, write_burst = 10;   // appends per second and burst, per token; 0 = no limit
  double global_rate = 1000, global_burst = 2000;  // requests per second and burst, all addresses together; 0 = none
  // Peers whose X-Real-IP (else the last X-Forwarded-For element) is taken as the client address, e.g. nginx on
  // 127.0.0.1 (docs/deploy.md). From any other peer those headers are ignored.
  std::vector<std::string> trusted_proxies;
  // The connection front (tools/serve/front.h, docs/api.md "Limits"): over a limit the gate answers 414 or 431
  // itself, or closes the connection.
  size_t max_connections = 512;            // open connections; beyond, the one waiting longest for its head is closed
  size_t max_request_line_bytes = 8192;    // request line: longer -> 414
  size_t max_head_bytes = 16384;           // request line and headers: longer -> 431
  size_t max_header_lines = 64;            // header lines: more -> 431
  int head_timeout_ms = 10'000;            // a new connection's request head must arrive whole within this
  int keep_alive_ms = 5'000;               // a kept-alive connection's next head must arrive whole within this
  int io_timeout_ms = 10'000;              // one wait for body bytes or for room to write an answer
  size_t min_rate_bytes_per_s = 16'384;    // after io_timeout_ms, a body or an answer must move this fast on average
  size_t max_entries_per_page = 1000;      // GET /api/v1/entries limit
  size_t max_search_rows = 200;            // GET /api/v1/search rows
  AppendContext context;                   // time zone of appends (the actor is set per token: "admin:<name>")
};

// True for an IPv4 or IPv6 address in numeric form (what --trusted-proxy takes).
bool IsIpAddress(const std::string& s);

class Server {
 public:
  // The ledger must be open for writing; `tokens_path` is the token file (tokens.h). Neither is owned.
  Server(Ledger& ledger, Projections& projections, std::string tokens_path, ServeOptions options,
         std::shared_ptr<spdlog::logger> log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket. InvalidArgument for a bad address, IOError when the port is taken.
  Status Bind();
  int port() const;
  // Serves until Stop(). Returns after the requests in flight have finished.
  Status Run();
  // Safe to call from any thread (e.g. a signal-waiting one), once or more.
  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace minhbach::serve
