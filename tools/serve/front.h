// The connection front of `minhbach serve` (docs/api.md "Limits and the connection front"): cpp-httplib parses
// and routes each request, but the connections are ours.
//
// Why: Debian ships cpp-httplib 0.11.4 as a compiled library, so its compile-time limits are those of the .so: a
// header line may be 8 KiB but their number is unbounded (a flood of short lines grows the server by gigabytes),
// its timeouts are per recv() (one byte every few seconds keeps a connection forever), and every open connection,
// idle or slow, holds a worker thread (as many slow clients as workers stop the server). The front replaces its
// per-connection loop (the virtual `process_and_close_socket`) and keeps its parser (the protected
// `process_request`):
//
//  - the gate: one thread with epoll holds every connection that is waiting for a request head, new or kept
//    alive, without a worker. It looks at the bytes with MSG_PEEK and hands a connection to a worker only once a
//    whole head (up to the blank line) is there and within the limits; a head too long, with too many lines or a
//    request line too long is refused (431, 414) by the gate itself after at most `head_bytes_max` bytes; a head
//    that does not arrive in time is dropped. Beyond `connections_max`, the connection that has waited longest
//    for its head is closed.
//  - the workers: a fixed pool; each serves ONE request and gives the connection back to the gate (keep-alive),
//    so a worker is busy only while a request is being read, answered or written. Bodies and answers must keep a
//    minimum average rate, so a slow client cannot hold a worker for long either. With two workers or more, one
//    serves administrators' appends and nothing else, at normal CPU priority, while the others serve the rest at
//    a lower one (nice 10): reads queued ahead, or filling every core, do not delay an append.
//  - the head handed to cpp-httplib is rewritten: a Range header is dropped (RFC 9110 lets a server ignore Range),
//    so no answer is ever larger than its body; and the client address is the one a trusted proxy forwards
//    (X-Real-IP, else the last X-Forwarded-For element) when the peer is that proxy.
//
// Thread-safety: the handlers registered on the Front run on the worker threads, several at a time.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace spdlog {
class logger;
}

namespace minhbach::serve {

struct FrontLimits {
  int workers = 32;                       // requests served at once (a waiting connection holds none)
  size_t connections_max = 512;           // open connections; beyond, the one waiting longest for a head is closed
  size_t request_line_bytes_max = 8192;   // "GET /... HTTP/1.1" (cpp-httplib's own URI limit is 8192): over -> 414
  size_t head_bytes_max = 16384;          // request line + headers + blank line: over -> 431
  size_t header_lines_max = 64;           // header lines: over -> 431
  int head_timeout_ms = 10'000;           // a new connection's request head must be whole within this
  int keep_alive_ms = 5'000;              // a kept-alive connection's next head must be whole within this
  size_t keep_alive_requests_max = 100;   // requests on one connection, then it is closed
  int io_timeout_ms = 10'000;             // one wait for body bytes, or for room to write, is at most this
  size_t min_rate_bytes_per_s = 16'384;   // after io_timeout_ms, a body or an answer moves at least this fast
  std::vector<std::string> trusted_proxies;  // peers whose X-Real-IP / X-Forwarded-For name the client
};

// What the gate makes of the first bytes waiting on a connection.
struct HeadVerdict {
  enum Kind { kIncomplete, kReady, kRefused } kind = kIncomplete;
  size_t head_bytes = 0;  // kReady: the head's length, blank line included
  int status = 0;         // kRefused: 414 or 431
  std::string message;    // kRefused: why
};
// `bytes`: what is waiting (peeked), at most head_bytes_max + 1 of it.
HeadVerdict CheckHead(std::string_view bytes, const FrontLimits& limits);

// The head as cpp-httplib reads it, and what the front needs to know about the request.
struct Head {
  std::string bytes;          // without its Range header
  std::string client;         // the client address: the peer, or what a trusted proxy forwarded
  uint64_t content_length = 0;
  bool chunked = false;
  bool ranges_dropped = false;
};
Head RewriteHead(std::string_view head, const std::string& peer, const FrontLimits& limits);

class Front : public httplib::Server {
 public:
  Front(FrontLimits limits, std::shared_ptr<spdlog::logger> log);
  ~Front() override;

  // Serves the bound port until stop(); returns after the requests in flight and those already read have been
  // answered. False when the listening socket failed.
  bool Serve();

  // Counters for tests and logs.
  size_t evicted() const { return evicted_; }
  size_t refused_heads() const { return refused_heads_; }

  struct Conn;

 private:
  bool process_and_close_socket(socket_t sock) override;  // called on the accept thread: hands it to the gate

  void GateLoop();
  void AdmitPending();
  void Examine(Conn* c);
  void Refuse(Conn* c, int status, const std::string& message);
  void Drain(Conn* c);
  void ExpireAndEvict();
  std::unique_ptr<Conn> Take(Conn* c);  // out of the gate and its epoll set
  void Forget(Conn* c);                  // ... and closed
  void Watch(Conn* c);
  void WorkerLoop(bool reserved);
  void ServeOne(std::unique_ptr<Conn> c);
  void GiveBack(std::unique_ptr<Conn> c);
  void Wake();

  using Clock = std::chrono::steady_clock;
  FrontLimits limits_;
  std::shared_ptr<spdlog::logger> log_;
  int epoll_fd_ = -1, wake_fd_ = -1;
  std::mutex mu_;  // guards incoming_, ready_, ready_priority_, stopping_, active_
  std::condition_variable general_cv_, reserved_cv_;  // work for any worker; work for the reserved one
  std::vector<std::unique_ptr<Conn>> incoming_;  // new or kept-alive connections, for the gate
  std::deque<std::unique_ptr<Conn>> ready_;      // a whole head is waiting: for a worker
  std::deque<std::unique_ptr<Conn>> ready_priority_;  // ... of an administrator's append: served first
  size_t active_ = 0;                            // connections a worker is serving
  bool stopping_ = false;
  bool reserved_lane_ = false;                   // one worker serves appends, and only it
  std::vector<std::unique_ptr<Conn>> gate_;      // the gate's connections (gate thread only)
  std::atomic<size_t> evicted_{0}, refused_heads_{0};
};

}  // namespace minhbach::serve
