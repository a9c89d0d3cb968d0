// `minhbach serve`: the public read API, the C2SP tlog-tiles endpoints, the write API for administrators and the
// transparency portal, in one process over one ledger. See docs/api.md.
//
// Concurrency: requests run on a pool of threads. Reads share the ledger and its read models under a shared lock;
// an append takes the lock exclusively for the atomic, fsynced Ledger::Append, the read models' catch-up and the new
// signed checkpoint, so a reader sees the log before or after a batch, never half of it. A write is acknowledged
// (HTTP 200) only after it is durable. Stop() stops accepting connections, lets the requests in flight finish and
// returns from Run(); nothing acknowledged can be lost, since it was already synced.
#pragma once

#include <memory>
#include <string>

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
  int threads = 32;                        // worker threads; each open (kept-alive) connection holds one
  size_t max_body_bytes = 4 << 20;         // request body (an append batch): larger -> 413
  size_t max_batch_events = 10'000;        // events in one append: more -> 413
  double read_rate = 100, read_burst = 200;  // requests per second and burst, per client address; 0 = no limit
  double write_rate = 2, write_burst = 10;   // appends per second and burst, per token; 0 = no limit
  size_t max_entries_per_page = 1000;      // GET /api/v1/entries limit
  size_t max_search_rows = 200;            // GET /api/v1/search rows
  AppendContext context;                   // time zone of appends (the actor is set per token: "admin:<name>")
};

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
