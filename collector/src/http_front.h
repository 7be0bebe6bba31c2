// The collector's connection front (collector/README.md "Connections"): one epoll thread owns every
// socket and reads each request (headers, then the whole body) into a bounded buffer under
// deadlines; only complete requests go to the worker pool, which runs cpp-httplib's routing on
// the buffered bytes and sends what the socket takes (the front sends the rest as the client
// reads). Idle, slow or stalled connections, slow readers too, therefore cost a
// buffer, never a worker: 1,000 slowloris connections do not delay a well-behaved client.
//
// Limits (Config keys of the same names): max_connections (503 + close beyond), idle_timeout_ms
// (keep-alive idle, close), header_timeout_ms (whole header block, 408), body_timeout_ms (whole
// body, 408), read_timeout_ms (no byte within a started request, 408), max_header_bytes (431),
// max_body_bytes (413), max_buffered_bytes (all connections' buffers together, 503 beyond),
// write_timeout_ms (one answer), keepalive_max (requests per connection).
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace disco::collector {

struct FrontOptions {
  size_t max_connections = 10000;
  int workers = 32;
  int64_t idle_timeout_ms = 5000;
  int64_t header_timeout_ms = 10000;
  int64_t read_timeout_ms = 5000;
  int64_t body_timeout_ms = 10000;
  int64_t write_timeout_ms = 10000;
  size_t max_header_bytes = 16384;
  size_t max_body_bytes = size_t{4} << 20;
  size_t max_buffered_bytes = size_t{256} << 20;
  int keepalive_max = 1000;
};

// One complete request: the request line, the headers (an Expect: 100-continue line removed: the
// body is already here) and the whole body, or the headers alone when `body_skipped` (its
// Content-Length is over max_body_bytes: the route answers 413 and the connection is closed).
struct FrontRequest {
  int fd = -1;
  std::string bytes;
  bool close_after = false;  // answer with Connection: close (last request, body skipped, stopping)
  bool body_skipped = false;
  std::string unsent;  // set by the handler: the answer's bytes the socket did not take at once
};

// Gauges and counters the front reports (the collector turns them into /metrics).
struct FrontHooks {
  std::function<void(const char* reason)> reject;                       // one refused request or connection
  std::function<void(size_t connections, size_t buffered_bytes)> tick;  // every ~100 ms
};

class HttpFront {
 public:
  // `handle` runs on a worker thread: it answers `r` on r.fd without waiting for the client (what
  // the socket does not take goes to r.unsent, sent by the front within write_timeout_ms) and
  // returns whether the connection may carry another request.
  using Handler = std::function<bool(FrontRequest& r)>;
  HttpFront(FrontOptions o, Handler handle, FrontHooks hooks);
  ~HttpFront();
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;
  // Serves `listen_fd` (bound and listening) until stop(); raises RLIMIT_NOFILE to fit
  // max_connections (or lowers the limit used, with a warning on stderr, when the hard limit is
  // lower). Returns after the workers finished their requests and every connection is closed.
  void run(int listen_fd);
  void stop();  // thread-safe, idempotent; before run(): run() returns at once
  size_t max_connections_in_use() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// cpp-httplib's routing on a buffered request: a Stream that reads FrontRequest::bytes and writes
// to the (non-blocking) socket what it takes at once, the rest to FrontRequest::unsent.
class HttpServer : public httplib::Server {
 public:
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections then loses SYNs and
  // the clients wait a second for the retransmit. Raise it after bind (listen() again is allowed).
  void widen_backlog(int n);
  int listen_socket() const { return svr_sock_; }
  // Answers one request; true when the connection may carry another.
  bool serve_buffered(FrontRequest& r);
};

}  // namespace disco::collector
