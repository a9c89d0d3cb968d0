#include "front.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "minhbach/serve.h"

namespace minhbach::serve {

struct Front::Conn {
  int fd = -1;
  std::string peer;  // the TCP peer's numeric address
  int peer_port = 0;
  size_t served = 0;            // requests answered on this connection
  Clock::time_point deadline;   // waiting for a head: dropped then; closing: closed then
  size_t head_bytes = 0;        // set by the gate when a whole head is waiting
  bool priority = false;        // an administrator's append: served first, by the reserved worker if need be
  bool closing = false;         // refused: the answer is written, what the client still sends is dropped
  size_t drained_bytes = 0;
};

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kDrainBytesMax = 256 * 1024;  // a refused client's bytes read and dropped before the close
constexpr int kDrainMs = 2000;                 // ... and for at most this long (so it can read the refusal)
constexpr int kGateTickMs = 1000;              // the gate looks at its deadlines at least this often
constexpr int kReadNice = 10;                  // the CPU priority of the workers that serve reads (nice)

// Runs each job at once on the caller's thread: the "job" of cpp-httplib's accept loop is our
// process_and_close_socket, which only hands the connection to the gate.
class InlineQueue final : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when `line` is the header `name` (case-insensitive); `value` is then its trimmed value.
bool HeaderIs(std::string_view line, std::string_view name, std::string_view* value) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != std::tolower(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  *value = Trim(line.substr(name.size() + 1));
  return true;
}

// The canonical text of an IPv4 or IPv6 address (an IPv4-mapped IPv6 address as IPv4), "" if `s` is none.
std::string CanonicalAddress(const std::string& s) {
  char buf[INET6_ADDRSTRLEN] = {};
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return inet_ntop(AF_INET, &v4, buf, sizeof buf) ? buf : "";
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return "";
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], 4);
    return inet_ntop(AF_INET, &v4, buf, sizeof buf) ? buf : "";
  }
  return inet_ntop(AF_INET6, &v6, buf, sizeof buf) ? buf : "";
}

std::pair<std::string, int> AddressOf(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return {buf, ntohs(a->sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return {CanonicalAddress(buf), ntohs(a->sin6_port)};
  }
  return {"", 0};
}

std::pair<std::string, int> PeerOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {"", 0};
  return AddressOf(ss);
}

void CloseSocket(int fd) {
  shutdown(fd, SHUT_RDWR);
  close(fd);
}

const char* Reason(int status) {
  switch (status) {
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    default: return "Service Unavailable";
  }
}

// Progress of a body being read or an answer being written: how long it may still take.
struct Pace {
  bool started = false;
  Clock::time_point start;
  uint64_t moved_bytes = 0;
};

// The socket stream cpp-httplib reads a request from and writes its answer to: the head from memory (already
// read and checked by the gate), the body and the answer with a deadline that grows with the bytes moved.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(int fd, Head head, int client_port, const FrontLimits& limits)
      : fd_(fd), head_(std::move(head)), client_port_(client_port), limits_(limits) {}

  bool is_readable() const override { return head_pos_ < head_.bytes.size() || Wait(POLLIN, in_); }
  bool is_writable() const override { return Wait(POLLOUT, out_); }

  ssize_t read(char* ptr, size_t size) override {
    if (head_pos_ < head_.bytes.size()) {
      const size_t n = std::min(size, head_.bytes.size() - head_pos_);
      std::memcpy(ptr, head_.bytes.data() + head_pos_, n);
      head_pos_ += n;
      return static_cast<ssize_t>(n);
    }
    for (;;) {
      if (!Wait(POLLIN, in_)) return -1;
      const ssize_t n = recv(fd_, ptr, size, MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n > 0) in_.moved_bytes += static_cast<uint64_t>(n);
      return n;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    for (;;) {
      if (!Wait(POLLOUT, out_)) return -1;
      const ssize_t n = send(fd_, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n > 0) out_.moved_bytes += static_cast<uint64_t>(n);
      return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = head_.client;
    port = client_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) std::tie(ip, port) = AddressOf(ss);
  }
  socket_t socket() const override { return fd_; }

  uint64_t body_bytes() const { return in_.moved_bytes; }

 private:
  // Waits until the socket is ready for `events`, within both the per-wait timeout and the pace's deadline
  // (io_timeout_ms plus the time the bytes moved so far may take at min_rate_bytes_per_s).
  bool Wait(short events, Pace& pace) const {
    const auto now = Clock::now();
    if (!pace.started) {
      pace.started = true;
      pace.start = now;
    }
    const int64_t allowed_ms = limits_.io_timeout_ms +
                               static_cast<int64_t>(pace.moved_bytes * 1000 / std::max<size_t>(1, limits_.min_rate_bytes_per_s));
    const int64_t spent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - pace.start).count();
    const int64_t left_ms = std::min<int64_t>(allowed_ms - spent_ms, limits_.io_timeout_ms);
    if (left_ms <= 0) return false;
    pollfd p{fd_, events, 0};
    int r;
    do {
      r = poll(&p, 1, static_cast<int>(left_ms));
    } while (r < 0 && errno == EINTR);
    return r > 0 && (p.revents & (events | POLLHUP | POLLERR));
  }

  int fd_;
  Head head_;
  size_t head_pos_ = 0;
  int client_port_;
  const FrontLimits& limits_;
  mutable Pace in_, out_;
};

// "POST /api/v1/append" with an Authorization header: an administrator's append (or a guess at a token, which
// the token check answers at once).
bool IsAppend(std::string_view head) {
  if (!head.starts_with("POST /api/v1/append ") && !head.starts_with("POST /api/v1/append?")) return false;
  for (size_t p = head.find("\r\n"); p != std::string_view::npos; p = head.find("\r\n", p + 2)) {
    std::string_view value;
    const size_t eol = head.find("\r\n", p + 2);
    if (HeaderIs(head.substr(p + 2, eol == std::string_view::npos ? std::string_view::npos : eol - p - 2),
                 "Authorization", &value)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsIpAddress(const std::string& s) { return !CanonicalAddress(s).empty(); }

HeadVerdict CheckHead(std::string_view bytes, const FrontLimits& limits) {
  auto refuse = [](int status, std::string message) {
    HeadVerdict v;
    v.kind = HeadVerdict::kRefused;
    v.status = status;
    v.message = std::move(message);
    return v;
  };
  const size_t end = bytes.find("\r\n\r\n");
  const size_t line_end = bytes.find("\r\n");
  if ((line_end == std::string_view::npos ? bytes.size() : line_end) > limits.request_line_bytes_max) {
    return refuse(414, "the request line is longer than " + std::to_string(limits.request_line_bytes_max) + " bytes");
  }
  // Header lines seen so far (the request line's end is not one): refused as soon as there are too many.
  const std::string_view seen = end == std::string_view::npos ? bytes : bytes.substr(0, end + 2);
  size_t line_ends = 0;
  for (size_t p = seen.find("\r\n"); p != std::string_view::npos; p = seen.find("\r\n", p + 2)) ++line_ends;
  if (line_ends > limits.header_lines_max + 1) {
    return refuse(431, "the request has more than " + std::to_string(limits.header_lines_max) + " header lines");
  }
  const size_t head_bytes = end == std::string_view::npos ? bytes.size() : end + 4;
  if (head_bytes > limits.head_bytes_max) {
    return refuse(431, "the request head is longer than " + std::to_string(limits.head_bytes_max) + " bytes");
  }
  HeadVerdict v;
  if (end != std::string_view::npos) {
    v.kind = HeadVerdict::kReady;
    v.head_bytes = head_bytes;
  }
  return v;
}

Head RewriteHead(std::string_view head, const std::string& peer, const FrontLimits& limits) {
  Head h;
  h.client = peer;
  const bool trusted = std::find(limits.trusted_proxies.begin(), limits.trusted_proxies.end(), peer) !=
                       limits.trusted_proxies.end();
  std::string real_ip, forwarded_last;
  for (size_t pos = 0, n = 0; pos < head.size(); ++n) {
    const size_t eol = head.find("\r\n", pos);
    const size_t next = eol == std::string_view::npos ? head.size() : eol + 2;
    const std::string_view line = head.substr(pos, (eol == std::string_view::npos ? head.size() : eol) - pos);
    const std::string_view whole = head.substr(pos, next - pos);
    pos = next;
    std::string_view value;
    if (n > 0 && HeaderIs(line, "Range", &value)) {
      // Ignored (RFC 9110 14.2 allows it): the library would copy the body once per range, and answer a single
      // range of a route's own 200 with "200 OK" and a Content-Range. Every answer is whole, once.
      h.ranges_dropped = true;
      continue;
    }
    h.bytes.append(whole);
    if (n == 0) continue;
    if (HeaderIs(line, "Content-Length", &value)) {
      uint64_t v = 0;
      for (char c : value) v = (c >= '0' && c <= '9' && v < (UINT64_MAX / 10)) ? v * 10 + static_cast<uint64_t>(c - '0') : UINT64_MAX;
      h.content_length = std::max(h.content_length, v);  // several: the largest, so a short read closes the connection
    } else if (HeaderIs(line, "Transfer-Encoding", &value)) {
      h.chunked = true;
    } else if (trusted && HeaderIs(line, "X-Real-IP", &value)) {
      real_ip = std::string(value);
    } else if (trusted && HeaderIs(line, "X-Forwarded-For", &value)) {
      // The proxy appends the address it saw: the last element is the one it vouches for.
      const size_t comma = value.rfind(',');
      forwarded_last = std::string(Trim(comma == std::string_view::npos ? value : value.substr(comma + 1)));
    }
  }
  if (trusted) {
    const std::string forwarded = CanonicalAddress(!real_ip.empty() ? real_ip : forwarded_last);
    if (!forwarded.empty()) h.client = forwarded;
  }
  return h;
}

Front::Front(FrontLimits limits, std::shared_ptr<spdlog::logger> log) : limits_(std::move(limits)), log_(std::move(log)) {
  for (auto& p : limits_.trusted_proxies) {
    if (std::string c = CanonicalAddress(p); !c.empty()) p = c;
  }
  new_task_queue = [] { return new InlineQueue; };
}

Front::~Front() {
  for (auto& c : gate_) close(c->fd);
  for (auto& c : incoming_) close(c->fd);
  for (auto& c : ready_) close(c->fd);
  for (auto& c : ready_priority_) close(c->fd);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool Front::Serve() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    log_->error("the connection front could not start: {}", std::strerror(errno));
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up event
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  std::thread gate([this] { GateLoop(); });
  // With two workers or more, one is kept for administrators' appends, so that no number of slow anonymous reads
  // queued ahead of an append can make it wait for a worker.
  std::vector<std::thread> workers;
  const int n = std::max(1, limits_.workers);
  reserved_lane_ = n > 1;
  for (int i = 0; i < n; ++i) workers.emplace_back([this, reserved = reserved_lane_ && i == 0] { WorkerLoop(reserved); });
  const bool ok = listen_after_bind();
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  Wake();
  general_cv_.notify_all();
  reserved_cv_.notify_all();
  gate.join();
  for (auto& w : workers) w.join();  // they answer what was already read, then stop
  return ok;
}

bool Front::process_and_close_socket(socket_t sock) {
  auto c = std::make_unique<Conn>();
  c->fd = sock;
  std::tie(c->peer, c->peer_port) = PeerOf(sock);
  c->deadline = Clock::now() + std::chrono::milliseconds(limits_.head_timeout_ms);
  int one = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // small answers on kept-alive connections
  {
    std::lock_guard lk(mu_);
    if (stopping_) {
      CloseSocket(sock);
      return false;
    }
    incoming_.push_back(std::move(c));
  }
  Wake();
  return true;
}

void Front::Wake() {
  const uint64_t one = 1;
  if (wake_fd_ < 0) return;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Front::Watch(Conn* c) {
  epoll_event ev{};
  // Edge-triggered: the gate only peeks, so a level-triggered socket with a partial head would wake it forever.
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = c;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) c->deadline = Clock::now();  // dropped at once
}

std::unique_ptr<Front::Conn> Front::Take(Conn* c) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  auto it = std::find_if(gate_.begin(), gate_.end(), [c](const auto& p) { return p.get() == c; });
  std::unique_ptr<Conn> owned = std::move(*it);
  gate_.erase(it);
  return owned;
}

void Front::Forget(Conn* c) { CloseSocket(Take(c)->fd); }

void Front::GateLoop() {
  std::array<epoll_event, 64> events;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
    }
    AdmitPending();
    int timeout_ms = kGateTickMs;
    const auto now = Clock::now();
    for (const auto& c : gate_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c->deadline - now).count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(left + 1, 0, timeout_ms));
    }
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (c == nullptr) {
        uint64_t drained;
        [[maybe_unused]] auto r = ::read(wake_fd_, &drained, sizeof drained);
        continue;
      }
      if (c->closing) Drain(c);
      else Examine(c);
    }
    ExpireAndEvict();
  }
  for (auto& c : gate_) CloseSocket(c->fd);
  gate_.clear();
}

// New and kept-alive connections join the gate; beyond connections_max, the ones that have waited longest for
// their head are closed (a slow client's connection before a prompt one's).
void Front::AdmitPending() {
  std::vector<std::unique_ptr<Conn>> in;
  size_t busy = 0;
  {
    std::lock_guard lk(mu_);
    in.swap(incoming_);
    busy = ready_.size() + ready_priority_.size() + active_;
  }
  for (auto& c : in) {
    Watch(c.get());
    gate_.push_back(std::move(c));
  }
  while (!gate_.empty() && gate_.size() + busy > limits_.connections_max) {
    auto oldest = std::min_element(gate_.begin(), gate_.end(), [](const auto& a, const auto& b) {
      return a->closing != b->closing ? a->closing : a->deadline < b->deadline;  // refused ones go first
    });
    log_->debug("connection cap {}: closing the connection of {} that waited longest", limits_.connections_max,
                (*oldest)->peer);
    ++evicted_;
    Forget(oldest->get());
  }
}

void Front::Examine(Conn* c) {
  std::string buf(limits_.head_bytes_max + 1, '\0');
  const ssize_t n = recv(c->fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return Forget(c);  // the client closed it, or it failed
  const HeadVerdict v = CheckHead(std::string_view(buf.data(), static_cast<size_t>(n)), limits_);
  if (v.kind == HeadVerdict::kIncomplete) return;
  if (v.kind == HeadVerdict::kRefused) return Refuse(c, v.status, v.message);
  c->head_bytes = v.head_bytes;
  c->priority = IsAppend(std::string_view(buf.data(), v.head_bytes));
  std::unique_ptr<Conn> owned = Take(c);
  {
    std::lock_guard lk(mu_);
    (owned->priority ? ready_priority_ : ready_).push_back(std::move(owned));
  }
  if (c->priority) reserved_cv_.notify_one();
  general_cv_.notify_one();
}

// Answers a refused head at once, without a worker, then reads and drops what the client still sends for a
// moment (closing a socket with unread bytes resets it, and the client would not see the answer).
void Front::Refuse(Conn* c, int status, const std::string& message) {
  ++refused_heads_;
  log_->info("refused a request head from {}: {}", c->peer, message);
  const std::string body = "{\"error\":{\"code\":\"too_large\",\"message\":\"" + message +
                           "\",\"status\":" + std::to_string(status) + "}}\n";
  const std::string answer = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) +
                             "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n" + body;
  [[maybe_unused]] auto sent = send(c->fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  shutdown(c->fd, SHUT_WR);
  c->closing = true;
  c->deadline = Clock::now() + std::chrono::milliseconds(kDrainMs);
  Drain(c);
}

void Front::Drain(Conn* c) {
  std::array<char, 16384> sink;
  for (;;) {
    const ssize_t n = recv(c->fd, sink.data(), sink.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) return Forget(c);
    c->drained_bytes += static_cast<size_t>(n);
    if (c->drained_bytes > kDrainBytesMax) return Forget(c);
  }
}

void Front::ExpireAndEvict() {
  const auto now = Clock::now();
  std::vector<Conn*> late;
  for (const auto& c : gate_) {
    if (c->deadline <= now) late.push_back(c.get());
  }
  for (Conn* c : late) {
    if (!c->closing) log_->debug("no whole request head from {} in time: closing", c->peer);
    Forget(c);
  }
}

// The reserved worker serves appends only, the others the rest in turn. The others also run at a lower CPU
// priority (nice kReadNice): when reads fill every core, the gate, the accept loop and an append still get one.
void Front::WorkerLoop(bool reserved) {
  if (!reserved && setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kReadNice) != 0) {
    log_->warn("a worker's CPU priority could not be lowered: {}", std::strerror(errno));
  }
  const bool appends_only = reserved, any = !reserved_lane_;
  for (;;) {
    std::unique_ptr<Conn> c;
    {
      std::unique_lock lk(mu_);
      auto has_work = [&] {
        return ((appends_only || any) && !ready_priority_.empty()) || (!appends_only && !ready_.empty());
      };
      (reserved ? reserved_cv_ : general_cv_).wait(lk, [&] { return has_work() || stopping_; });
      if (!has_work()) return;
      auto& queue = !ready_priority_.empty() ? ready_priority_ : ready_;
      c = std::move(queue.front());
      queue.pop_front();
      ++active_;
    }
    ServeOne(std::move(c));
    std::lock_guard lk(mu_);
    --active_;
  }
}

// One request: the head the gate saw, rewritten, then cpp-httplib's parser and routes. The connection goes back
// to the gate when it may carry another request (its body was read to the end, and neither side closes it).
void Front::ServeOne(std::unique_ptr<Conn> c) {
  std::string raw(c->head_bytes, '\0');
  for (size_t got = 0; got < raw.size();) {
    const ssize_t n = recv(c->fd, raw.data() + got, raw.size() - got, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return CloseSocket(c->fd);  // the gate saw these bytes waiting: nothing else should happen
    got += static_cast<size_t>(n);
  }
  Head head = RewriteHead(raw, c->peer, limits_);
  const bool chunked = head.chunked;
  const uint64_t declared = head.content_length;
  GuardedStream stream(c->fd, std::move(head), c->peer_port, limits_);
  bool stopping;
  {
    std::lock_guard lk(mu_);
    stopping = stopping_;
  }
  const bool last = stopping || c->served + 1 >= limits_.keep_alive_requests_max;
  bool closed = false, ok = false;
  try {
    ok = process_request(stream, last, closed, nullptr);
  } catch (const std::exception& e) {  // the handlers catch their own; this is the library's
    log_->error("request from {} failed: {}", c->peer, e.what());
  } catch (...) {
    log_->error("request from {} failed", c->peer);
  }
  ++c->served;
  if (!ok || last || closed || chunked || stream.body_bytes() != declared) return CloseSocket(c->fd);
  c->deadline = Clock::now() + std::chrono::milliseconds(limits_.keep_alive_ms);
  c->head_bytes = 0;
  GiveBack(std::move(c));
}

void Front::GiveBack(std::unique_ptr<Conn> c) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return CloseSocket(c->fd);
    incoming_.push_back(std::move(c));
  }
  Wake();
}

}  // namespace minhbach::serve
