#include "http_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace disco::collector {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t, Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count();
}

bool ieq_prefix(const char* s, size_t n, const char* name) {
  size_t k = std::strlen(name);
  if (n < k) return false;
  for (size_t i = 0; i < k; ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != name[i]) return false;
  return true;
}

std::string trim(const char* b, const char* e) {
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) --e;
  return std::string(b, e);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The stream cpp-httplib's process_request reads the buffered request from and writes to.
class BufferedStream : public httplib::Stream {
 public:
  explicit BufferedStream(FrontRequest& r) : r_(r) {}
  bool is_readable() const override { return pos_ < r_.bytes.size(); }
  bool is_writable() const override { return !failed_; }
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, r_.bytes.size() - pos_);
    std::memcpy(ptr, r_.bytes.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  // Sends what the socket takes now; the rest goes to r.unsent, which the front sends when the
  // client reads (a slow reader never holds a worker).
  ssize_t write(const char* ptr, size_t size) override {
    if (failed_) return -1;
    if (first_write_) {
      // cpp-httplib writes the status line and headers in one call: a handler's
      // "Connection: close" means the connection ends after this answer.
      first_write_ = false;
      std::string_view head(ptr, size);
      size_t end = head.find("\r\n\r\n");
      if (end != std::string_view::npos) head = head.substr(0, end + 2);
      closes_ = head.find("\r\nConnection: close\r\n") != std::string_view::npos;
    }
    size_t off = 0;
    while (r_.unsent.empty() && off < size) {
      ssize_t k = ::send(r_.fd, ptr + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k > 0) off += static_cast<size_t>(k);
      else if (k < 0 && errno == EINTR) continue;
      else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      else {
        failed_ = true;
        return -1;
      }
    }
    r_.unsent.append(ptr + off, size - off);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { name_of(true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { name_of(false, ip, port); }
  // cpp-httplib (built without CPPHTTPLIB_USE_POLL) answers 500 for a socket >= FD_SETSIZE
  // because it would select() on it; this stream never selects, so report no socket then.
  socket_t socket() const override { return r_.fd < FD_SETSIZE ? r_.fd : INVALID_SOCKET; }
  bool failed() const { return failed_; }
  bool closes() const { return closes_; }

 private:
  void name_of(bool peer, std::string& ip, int& port) const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    int rc = peer ? ::getpeername(r_.fd, reinterpret_cast<sockaddr*>(&a), &len)
                  : ::getsockname(r_.fd, reinterpret_cast<sockaddr*>(&a), &len);
    if (rc != 0) return;
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.ss_family == AF_INET) {
      auto* s = reinterpret_cast<sockaddr_in*>(&a);
      ::inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
      port = ntohs(s->sin_port);
    } else if (a.ss_family == AF_INET6) {
      auto* s = reinterpret_cast<sockaddr_in6*>(&a);
      ::inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
      port = ntohs(s->sin6_port);
    }
    ip = buf;
  }
  FrontRequest& r_;
  size_t pos_ = 0;
  bool failed_ = false, first_write_ = true, closes_ = false;
};

}  // namespace

void HttpServer::widen_backlog(int n) { ::listen(svr_sock_, n); }

bool HttpServer::serve_buffered(FrontRequest& r) {
  BufferedStream s(r);
  bool closed = false;
  bool ok = process_request(s, r.close_after, closed, nullptr);
  return ok && !closed && !s.failed() && !s.closes() && !r.close_after;
}

struct HttpFront::Impl {
  FrontOptions o;
  Handler handle;
  FrontHooks hooks;
  size_t max_conns = 0;  // o.max_connections, lowered to what RLIMIT_NOFILE allows

  int ep = -1, wake = -1, lfd = -1;
  std::atomic<bool> stopping{false};

  enum class State { Idle, Headers, Body, Busy, Writing };
  struct Conn {
    int fd = -1;
    State st = State::Idle;
    std::string buf;          // received bytes not yet handed to a worker
    size_t scan = 0;          // where to look for the end of the headers next
    size_t head_len = 0;      // the header block, with its blank line
    size_t end = 0;           // the whole request (known once the body's framing is)
    bool chunked = false;
    size_t cpos = 0;          // chunked: the next unparsed byte
    uint64_t decoded = 0;     // chunked: body bytes so far
    int requests = 0;
    size_t in_flight = 0;     // bytes with a worker
    std::string out;          // Writing: the rest of an answer the client has not taken yet
    size_t out_pos = 0;
    bool close_after_write = false;
    Clock::time_point last_read, stage_start, write_deadline;
  };
  std::vector<std::unique_ptr<Conn>> conns;  // by fd
  size_t open = 0;
  size_t buffered = 0;  // every connection's buf + in-flight requests

  // Worker pool: complete requests in, finished connections out.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<FrontRequest> jobs;
  bool jobs_closed = false;
  struct Done {
    int fd;
    bool keep;
    std::string unsent;
  };
  std::vector<Done> done;
  std::vector<std::thread> workers;

  Impl(FrontOptions opt, Handler h, FrontHooks k) : o(opt), handle(std::move(h)), hooks(std::move(k)) {
    max_conns = o.max_connections;
  }

  void reject_hook(const char* reason) {
    if (hooks.reject) hooks.reject(reason);
  }

  // A small JSON error answered by the front itself (the shape of the routes' errors), then close.
  void refuse(Conn& c, int status, const char* reason, const std::string& error, bool retry_after = false) {
    reject_hook(reason);
    const char* text = status == 408 ? "Request Timeout" : status == 413 ? "Payload Too Large"
                     : status == 431 ? "Request Header Fields Too Large" : status == 503 ? "Service Unavailable"
                     : "Bad Request";
    std::string body = "{\"error\":\"" + error + "\"}";
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " + text +
                    "\r\nContent-Type: application/json\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\n" +
                    (retry_after ? "Retry-After: 1\r\n" : "") + "Content-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body;
    ssize_t k = ::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)k;  // best effort: the socket's buffer takes it, or the client is gone
    close_conn(c);
  }

  void close_conn(Conn& c) {
    int fd = c.fd;
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    buffered -= c.buf.size() + c.out.size();
    ::close(fd);
    --open;
    conns[static_cast<size_t>(fd)].reset();
  }

  void watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }

  // Accepts what the backlog holds; false when out of file descriptors (the caller stops
  // accepting for a while: the listening socket would stay readable).
  bool accept_all(Clock::time_point now) {
    for (int i = 0; i < 256; ++i) {
      int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          reject_hook("fd_limit");
          return false;
        }
        return true;  // EAGAIN
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<size_t>(fd) >= conns.size()) conns.resize(static_cast<size_t>(fd) + 1024);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->last_read = c->stage_start = now;
      Conn& ref = *c;
      conns[static_cast<size_t>(fd)] = std::move(c);
      ++open;
      if (open > max_conns) {
        refuse(ref, 503, "too_many_connections",
               "too many open connections (max_connections = " + std::to_string(max_conns) + "); retry later", true);
        continue;
      }
      watch(fd);
    }
    return true;
  }

  // Parses the header block [0, head_end) of c.buf; sets the body's framing. False: answered.
  bool parse_head(Conn& c, size_t head_end) {
    const char* b = c.buf.data();
    size_t line_end = c.buf.find("\r\n");
    bool have_len = false, chunked = false;
    uint64_t len = 0;
    std::vector<std::pair<size_t, size_t>> drop;  // Expect lines
    size_t p = line_end + 2;
    while (p < head_end) {
      size_t e = c.buf.find("\r\n", p);
      const char* s = b + p;
      size_t n = e - p;
      const char* colon = static_cast<const char*>(std::memchr(s, ':', n));
      if (colon) {
        if (ieq_prefix(s, n, "content-length:")) {
          std::string v = trim(colon + 1, s + n);
          uint64_t x = 0;
          auto [q, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
          if (v.empty() || ec != std::errc() || q != v.data() + v.size() || (have_len && x != len)) {
            refuse(c, 400, "bad_framing", "Content-Length must be one non-negative integer");
            return false;
          }
          have_len = true;
          len = x;
        } else if (ieq_prefix(s, n, "transfer-encoding:")) {
          std::string v = lower(trim(colon + 1, s + n));
          if (v != "chunked") {
            refuse(c, 400, "bad_framing", "Transfer-Encoding: only chunked is supported");
            return false;
          }
          chunked = true;
        } else if (ieq_prefix(s, n, "expect:")) {
          drop.emplace_back(p, e + 2);
        }
      }
      p = e + 2;
    }
    if (chunked && have_len) {
      refuse(c, 400, "bad_framing", "a request may not carry both Content-Length and Transfer-Encoding");
      return false;
    }
    // The body will be here before the routes run: no 100 Continue, from the routes or late.
    bool expects = !drop.empty();
    for (auto it = drop.rbegin(); it != drop.rend(); ++it) c.buf.erase(it->first, it->second - it->first);
    size_t removed = 0;
    for (auto& d : drop) removed += d.second - d.first;
    head_end -= removed;
    buffered -= removed;
    c.head_len = head_end + 2;  // the blank line
    c.chunked = chunked;
    c.stage_start = Clock::now();
    if (!chunked && len > o.max_body_bytes) {  // the route answers 413 without the body
      dispatch(c, c.head_len, true);
      return false;
    }
    if (expects && (chunked || len > 0)) {
      static const char k100[] = "HTTP/1.1 100 Continue\r\n\r\n";
      ssize_t k = ::send(c.fd, k100, sizeof k100 - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)k;
    }
    c.st = State::Body;
    c.end = chunked ? 0 : c.head_len + static_cast<size_t>(len);
    c.cpos = c.head_len;
    c.decoded = 0;
    return true;
  }

  // Chunked framing: advances c.cpos; sets c.end at the last chunk's trailers. False: answered.
  bool parse_chunks(Conn& c) {
    const std::string& s = c.buf;
    while (c.end == 0) {
      size_t e = s.find("\r\n", c.cpos);
      if (e == std::string::npos) {
        if (s.size() - c.cpos > 1024) {
          refuse(c, 400, "bad_framing", "chunk size line too long");
          return false;
        }
        return true;
      }
      const char* b = s.data() + c.cpos;
      const char* semi = static_cast<const char*>(std::memchr(b, ';', e - c.cpos));
      const char* ne = semi ? semi : s.data() + e;
      uint64_t n = 0;
      auto [q, ec] = std::from_chars(b, ne, n, 16);
      if (b == ne || ec != std::errc() || q != ne) {
        refuse(c, 400, "bad_framing", "bad chunk size");
        return false;
      }
      if (n == 0) {  // trailers up to a blank line
        size_t t = e + 2;
        for (;;) {
          size_t te = s.find("\r\n", t);
          if (te == std::string::npos) return true;  // wait for more
          if (te == t) {
            c.end = te + 2;
            return true;
          }
          t = te + 2;
        }
      }
      if (c.decoded + n > o.max_body_bytes) {
        refuse(c, 413, "body_too_large", "request body larger than max_body_bytes = " + std::to_string(o.max_body_bytes));
        return false;
      }
      if (s.size() < e + 2 + n + 2) return true;  // wait for the chunk and its CRLF
      if (s.compare(e + 2 + n, 2, "\r\n") != 0) {
        refuse(c, 400, "bad_framing", "chunk not followed by CRLF");
        return false;
      }
      c.decoded += n;
      c.cpos = e + 2 + n + 2;
    }
    return true;
  }

  // Moves on as far as c.buf allows; hands a complete request to a worker.
  void advance(Conn& c) {
    if (c.st == State::Idle) {
      size_t k = 0;  // CRLFs between requests are allowed
      while (k < c.buf.size() && (c.buf[k] == '\r' || c.buf[k] == '\n')) ++k;
      if (k) {
        c.buf.erase(0, k);
        buffered -= k;
      }
      if (c.buf.empty()) return;
      c.st = State::Headers;
      c.scan = 0;
      c.stage_start = Clock::now();
    }
    if (c.st == State::Headers) {
      size_t from = c.scan > 3 ? c.scan - 3 : 0;
      size_t limit = std::min(c.buf.size(), o.max_header_bytes);
      size_t pos = c.buf.find("\r\n\r\n", from);
      if (pos == std::string::npos || pos + 4 > o.max_header_bytes) {
        if (c.buf.size() >= o.max_header_bytes)
          return refuse(c, 431, "header_too_large",
                        "request headers larger than max_header_bytes = " + std::to_string(o.max_header_bytes));
        c.scan = limit;
        return;
      }
      if (!parse_head(c, pos + 2)) return;
    }
    if (c.st == State::Body) {
      if (c.chunked && !parse_chunks(c)) return;
      if (c.end != 0 && c.buf.size() >= c.end) return dispatch(c, c.end, false);
    }
  }

  void dispatch(Conn& c, size_t n, bool body_skipped) {
    FrontRequest r;
    r.fd = c.fd;
    if (n == c.buf.size()) {
      r.bytes = std::move(c.buf);
      c.buf.clear();
    } else {
      r.bytes = c.buf.substr(0, n);
      c.buf.erase(0, n);  // pipelined bytes wait for the next round
    }
    c.in_flight = r.bytes.size();
    r.body_skipped = body_skipped;
    r.close_after = body_skipped || ++c.requests >= o.keepalive_max || stopping.load();
    c.st = State::Busy;
    ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    {
      std::lock_guard<std::mutex> lk(mu);
      jobs.push_back(std::move(r));
    }
    cv.notify_one();
  }

  // Reads what the socket has (a bounded amount per wake-up, for fairness) and moves on.
  void on_readable(int fd, Clock::time_point now) {
    char tmp[16384];
    for (int round = 0; round < 8; ++round) {
      Conn* cp = conns[static_cast<size_t>(fd)].get();
      if (!cp || cp->st == State::Busy || cp->st == State::Writing) return;  // closed, answered, with a worker
      Conn& c = *cp;
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n == 0) return close_conn(c);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return close_conn(c);
      }
      size_t k = static_cast<size_t>(n);
      if (buffered + k > o.max_buffered_bytes)
        return refuse(c, 503, "buffers_full",
                      "the collector's request buffers are full (max_buffered_bytes = " +
                          std::to_string(o.max_buffered_bytes) + "); retry later",
                      true);
      // A body far larger than its framing promised (chunked overhead aside) is refused.
      if (c.st == State::Body && c.buf.size() + k > c.head_len + 2 * o.max_body_bytes + 65536)
        return refuse(c, 413, "body_too_large", "request body larger than max_body_bytes = " + std::to_string(o.max_body_bytes));
      c.buf.append(tmp, k);
      buffered += k;
      c.last_read = now;
      advance(c);  // may close c
      if (k < sizeof tmp) return;
    }
  }

  void finish(Done& d, Clock::time_point now) {
    Conn* c = conns[static_cast<size_t>(d.fd)].get();
    if (!c) return;
    buffered -= c->in_flight;
    c->in_flight = 0;
    if (stopping.load()) return close_conn(*c);
    if (!d.unsent.empty()) {  // the front sends the rest as the client reads it
      c->out = std::move(d.unsent);
      c->out_pos = 0;
      buffered += c->out.size();
      c->close_after_write = !d.keep;
      c->st = State::Writing;
      c->write_deadline = now + std::chrono::milliseconds(o.write_timeout_ms);
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = d.fd;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, d.fd, &ev);
      return;
    }
    if (!d.keep) return close_conn(*c);
    to_idle(*c, now);
  }

  void to_idle(Conn& c, Clock::time_point now) {
    c.st = State::Idle;
    c.scan = 0;
    c.end = 0;
    c.last_read = now;
    watch(c.fd);
    advance(c);  // pipelined bytes
  }

  void on_writable(int fd, Clock::time_point now) {
    Conn& c = *conns[static_cast<size_t>(fd)];
    while (c.out_pos < c.out.size()) {
      ssize_t k = ::send(fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k > 0) c.out_pos += static_cast<size_t>(k);
      else if (k < 0 && errno == EINTR) continue;
      else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      else return close_conn(c);
    }
    buffered -= c.out.size();
    std::string().swap(c.out);
    c.out_pos = 0;
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    if (c.close_after_write) return close_conn(c);
    to_idle(c, now);
  }

  void sweep(Clock::time_point now) {
    for (auto& p : conns) {
      if (!p) continue;
      Conn& c = *p;
      switch (c.st) {
        case State::Busy: break;
        case State::Writing:
          if (now > c.write_deadline) {
            reject_hook("write_timeout");
            close_conn(c);
          }
          break;
        case State::Idle:
          if (ms_since(c.last_read, now) > o.idle_timeout_ms) close_conn(c);  // keep-alive ends
          break;
        case State::Headers:
          if (ms_since(c.stage_start, now) > o.header_timeout_ms)
            refuse(c, 408, "header_timeout",
                   "request headers not received within header_timeout_ms = " + std::to_string(o.header_timeout_ms));
          else if (ms_since(c.last_read, now) > o.read_timeout_ms)
            refuse(c, 408, "read_timeout",
                   "no request byte for read_timeout_ms = " + std::to_string(o.read_timeout_ms));
          break;
        case State::Body:
          if (ms_since(c.stage_start, now) > o.body_timeout_ms)
            refuse(c, 408, "body_timeout", "request body not received within " + std::to_string(o.body_timeout_ms) + " ms");
          else if (ms_since(c.last_read, now) > o.read_timeout_ms)
            refuse(c, 408, "body_read_failed",
                   "request body incomplete: no byte for read_timeout_ms = " + std::to_string(o.read_timeout_ms));
          break;
      }
    }
    if (hooks.tick) hooks.tick(open, buffered);
  }

  void worker_loop() {
    for (;;) {
      FrontRequest r;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return jobs_closed || !jobs.empty(); });
        if (jobs.empty()) return;
        r = std::move(jobs.front());
        jobs.pop_front();
      }
      bool keep = false;
      try {
        keep = handle(r);
      } catch (...) {
        keep = false;
      }
      {
        std::lock_guard<std::mutex> lk(mu);
        done.push_back(Done{r.fd, keep, std::move(r.unsent)});
      }
      uint64_t one = 1;
      ssize_t k = ::write(wake, &one, sizeof one);
      (void)k;
    }
  }

  void fit_fd_limit() {
    constexpr size_t kReserve = 64;  // store, logs, bundle reads, NATS
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = static_cast<rlim_t>(o.max_connections + kReserve);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
      rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY) ? want : std::min(want, rl.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &rl);
      ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
      max_conns = rl.rlim_cur > 2 * kReserve ? static_cast<size_t>(rl.rlim_cur) - kReserve : kReserve;
      std::fprintf(stderr,
                   "disco-collector: max_connections = %zu does not fit the open-file limit (%llu, hard limit "
                   "%llu): serving at most %zu connections (raise ulimit -n)\n",
                   o.max_connections, static_cast<unsigned long long>(rl.rlim_cur),
                   static_cast<unsigned long long>(rl.rlim_max), max_conns);
    }
  }

  void run(int listen_fd) {
    lfd = listen_fd;
    fit_fd_limit();
    int fl = ::fcntl(lfd, F_GETFL, 0);
    ::fcntl(lfd, F_SETFL, fl | O_NONBLOCK);
    ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.fd = wake;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, wake, &ev);
    for (int i = 0; i < std::max(1, o.workers); ++i) workers.emplace_back([this] { worker_loop(); });
    std::vector<epoll_event> evs(512);
    auto last_sweep = Clock::now();
    bool accept_paused = false;
    while (!stopping.load()) {
      int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
      auto now = Clock::now();
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < n; ++i) {
        int fd = evs[static_cast<size_t>(i)].data.fd;
        if (fd == lfd) {
          if (!accept_all(now) && !accept_paused) {  // the backlog holds the rest until the next sweep
            ::epoll_ctl(ep, EPOLL_CTL_DEL, lfd, nullptr);
            accept_paused = true;
          }
        } else if (fd == wake) {
          uint64_t v;
          ssize_t k = ::read(wake, &v, sizeof v);
          (void)k;
          std::vector<Done> d;
          {
            std::lock_guard<std::mutex> lk(mu);
            d.swap(done);
          }
          for (Done& x : d) finish(x, now);
        } else if (static_cast<size_t>(fd) < conns.size() && conns[static_cast<size_t>(fd)]) {
          State st = conns[static_cast<size_t>(fd)]->st;
          if (st == State::Writing) on_writable(fd, now);
          else if (st != State::Busy) on_readable(fd, now);
        }
      }
      if (ms_since(last_sweep, now) >= 100) {
        last_sweep = now;
        sweep(now);
        if (accept_paused) {
          ev.events = EPOLLIN;
          ev.data.fd = lfd;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
          accept_paused = false;
        }
      }
    }
    {
      std::lock_guard<std::mutex> lk(mu);
      jobs_closed = true;
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    for (auto& p : conns)
      if (p) {
        ::close(p->fd);
        p.reset();
      }
    open = 0;
    buffered = 0;
    ::close(ep);
    ep = -1;
  }
};

HttpFront::HttpFront(FrontOptions o, Handler handle, FrontHooks hooks)
    : impl_(std::make_unique<Impl>(o, std::move(handle), std::move(hooks))) {
  impl_->wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->wake < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

HttpFront::~HttpFront() {
  stop();
  ::close(impl_->wake);
}

void HttpFront::run(int listen_fd) {
  if (impl_->stopping.load()) return;
  impl_->run(listen_fd);
}

void HttpFront::stop() {
  impl_->stopping.store(true);
  uint64_t one = 1;
  ssize_t k = ::write(impl_->wake, &one, sizeof one);
  (void)k;
}

size_t HttpFront::max_connections_in_use() const { return impl_->max_conns; }

}  // namespace disco::collector
