// bench_proxy_conn: the connection-rate and idle-connection load of
// bench/proxy_bench.sh (no Debian tool opens many short request/reply TCP
// connections and reports the rate, or holds N idle ones open on request).
//
//   bench_proxy_conn serve ADDR PORT
//       Each request is a line "N\n"; the reply is N bytes. A connection may carry
//       several requests; it ends when the client closes it.
//   bench_proxy_conn rate ADDR PORT [--concurrency C] [--seconds S] [--max N] [--reply B]
//       C workers, each: connect, send "B\n", read B bytes, close; again until S
//       seconds or N connections in all. Prints
//       "connections=K errors=E seconds=T rate=R".
//   bench_proxy_conn idle ADDR PORT --count N [--hold S]
//       Opens N connections, makes one request of 16 bytes on each (so that every
//       hop of a proxied path is established), prints "ready N" and keeps them open
//       until stdin reaches EOF or S seconds pass, then closes them.
//
// Single-threaded Boost.Asio; every run is bounded in time.
#include <sys/resource.h>
#include <unistd.h>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxReply = 1 << 20;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_proxy_conn serve ADDR PORT\n"
               "       bench_proxy_conn rate ADDR PORT [--concurrency C] [--seconds S] [--max N] [--reply B]\n"
               "       bench_proxy_conn idle ADDR PORT --count N [--hold S]\n");
  std::exit(2);
}

void raiseFdLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// ---- serve ------------------------------------------------------------------

asio::awaitable<void> serveOne(tcp::socket s) {
  s.set_option(tcp::no_delay(true));
  asio::streambuf in;
  std::vector<char> reply;
  for (;;) {
    error_code ec;
    std::size_t n = co_await asio::async_read_until(s, in, '\n', asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // the client closed (or reset) the connection
    std::string line(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<long>(n) - 1);
    in.consume(n);
    std::size_t want = std::strtoul(line.c_str(), nullptr, 10);
    if (want > kMaxReply) co_return;
    reply.assign(want, 'x');
    co_await asio::async_write(s, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

asio::awaitable<void> acceptLoop(tcp::acceptor& acceptor) {
  for (;;) {
    error_code ec;
    tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;  // e.g. EMFILE under load: keep serving the others
    }
    asio::co_spawn(acceptor.get_executor(), serveOne(std::move(s)), asio::detached);
  }
}

int serve(const tcp::endpoint& ep) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(4096);
  asio::co_spawn(io, acceptLoop(acceptor), asio::detached);
  std::printf("serving on %s:%u\n", ep.address().to_string().c_str(), ep.port());
  std::fflush(stdout);
  io.run();
  return 0;
}

// ---- rate -------------------------------------------------------------------

struct RateRun {
  tcp::endpoint target;
  std::size_t replyBytes = 64;
  std::size_t maxConnections = 0;
  Clock::time_point deadline;
  std::size_t started = 0, done = 0, errors = 0;
  std::string firstError;
};

// One request/reply on a fresh connection; false on any failure.
asio::awaitable<bool> oneConnection(RateRun& run, std::vector<char>& buf) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  error_code ec;
  co_await s.async_connect(run.target, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) s.set_option(tcp::no_delay(true), ec);
  const std::string request = std::to_string(run.replyBytes) + "\n";
  if (!ec) co_await asio::async_write(s, asio::buffer(request), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec)
    co_await asio::async_read(s, asio::buffer(buf.data(), run.replyBytes), asio::redirect_error(asio::use_awaitable, ec));
  if (ec && run.firstError.empty()) run.firstError = ec.message();
  error_code ignored;
  s.close(ignored);
  co_return !ec;
}

asio::awaitable<void> rateWorker(RateRun& run) {
  std::vector<char> buf(run.replyBytes);
  while (Clock::now() < run.deadline && (run.maxConnections == 0 || run.started < run.maxConnections)) {
    ++run.started;
    bool ok = co_await oneConnection(run, buf);
    if (ok) ++run.done;
    else ++run.errors;
  }
}

int rate(const tcp::endpoint& ep, std::size_t concurrency, double seconds, std::size_t maxConnections,
         std::size_t replyBytes) {
  asio::io_context io(1);
  RateRun run;
  run.target = ep;
  run.replyBytes = std::min(replyBytes, kMaxReply);
  run.maxConnections = maxConnections;
  auto start = Clock::now();
  run.deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (std::size_t i = 0; i < concurrency; ++i) asio::co_spawn(io, rateWorker(run), asio::detached);
  io.run();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("connections=%zu errors=%zu seconds=%.3f rate=%.1f\n", run.done, run.errors, elapsed,
              static_cast<double>(run.done) / elapsed);
  if (!run.firstError.empty()) std::fprintf(stderr, "first error: %s\n", run.firstError.c_str());
  return run.done > 0 ? 0 : 1;
}

// ---- idle -------------------------------------------------------------------

asio::awaitable<void> openIdle(tcp::endpoint ep, std::vector<std::unique_ptr<tcp::socket>>& sockets,
                               std::size_t count, std::size_t& failures, std::string& firstError) {
  auto ex = co_await asio::this_coro::executor;
  char buf[16];
  const std::string request = "16\n";
  for (std::size_t i = 0; i < count; ++i) {
    auto s = std::make_unique<tcp::socket>(ex);
    error_code ec;
    co_await s->async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_await asio::async_write(*s, asio::buffer(request), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_await asio::async_read(*s, asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      ++failures;
      if (firstError.empty()) firstError = ec.message();
      continue;
    }
    sockets.push_back(std::move(s));
  }
}

int idle(const tcp::endpoint& ep, std::size_t count, double holdSeconds) {
  asio::io_context io(1);
  std::vector<std::unique_ptr<tcp::socket>> sockets;
  std::size_t failures = 0;
  std::string firstError;
  // A few openers at once: fast, yet no burst of thousands of SYNs at the proxy.
  constexpr std::size_t kOpeners = 8;
  for (std::size_t k = 0; k < kOpeners; ++k) {
    std::size_t share = count / kOpeners + (k < count % kOpeners ? 1 : 0);
    asio::co_spawn(io, openIdle(ep, sockets, share, failures, firstError), asio::detached);
  }
  io.run();
  io.restart();
  std::printf("ready %zu failed %zu\n", sockets.size(), failures);
  std::fflush(stdout);
  if (!firstError.empty()) std::fprintf(stderr, "first error: %s\n", firstError.c_str());
  // Hold until stdin ends (the driving script closes it) or the time limit.
  asio::posix::stream_descriptor input(io, ::dup(0));
  asio::steady_timer limit(io, std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(holdSeconds)));
  char sink[256];
  std::function<void(error_code, std::size_t)> onInput = [&](error_code ec, std::size_t) {
    if (ec) {
      limit.cancel();
      return;
    }
    input.async_read_some(asio::buffer(sink), onInput);
  };
  input.async_read_some(asio::buffer(sink), onInput);
  limit.async_wait([&](error_code) {
    error_code ignored;
    input.close(ignored);
  });
  io.run();
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) usage();
  std::string mode = argv[1];
  raiseFdLimit();
  error_code ec;
  auto address = asio::ip::make_address(argv[2], ec);
  if (ec) usage();
  tcp::endpoint ep(address, static_cast<unsigned short>(std::atoi(argv[3])));
  std::size_t concurrency = 16, maxConnections = 0, replyBytes = 64, count = 0;
  double seconds = 5, hold = 60;
  for (int i = 4; i < argc; ++i) {
    std::string opt = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (opt == "--concurrency") concurrency = std::strtoul(v, nullptr, 10);
    else if (opt == "--seconds") seconds = std::atof(v);
    else if (opt == "--max") maxConnections = std::strtoul(v, nullptr, 10);
    else if (opt == "--reply") replyBytes = std::strtoul(v, nullptr, 10);
    else if (opt == "--count") count = std::strtoul(v, nullptr, 10);
    else if (opt == "--hold") hold = std::atof(v);
    else usage();
  }
  try {
    if (mode == "serve") return serve(ep);
    if (mode == "rate") return rate(ep, concurrency, std::min(seconds, 600.0), maxConnections, replyBytes);
    if (mode == "idle" && count > 0) return idle(ep, count, std::min(hold, 600.0));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_proxy_conn: %s\n", e.what());
    return 1;
  }
  usage();
}
