// Dialing on loopback: several sessions at once in one io_context where one
// fails and the others complete; typed errors; deadlines; a small SOCKS5
// server written here for the purpose (RFC 1928/1929 subset).
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include <utility>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "outbound/Dialer.h"
#include "outbound/ShareLink.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace dae::outbound;

namespace {

// Echoes whatever a connection sends.
asio::awaitable<void> echoSession(tcp::socket s) {
  char buf[4096];
  boost::system::error_code ec;
  while (true) {
    std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    co_await asio::async_write(s, asio::buffer(buf, n), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

// SOCKS5 with username/password "u"/"p"; CONNECT answers success and then
// echoes instead of connecting anywhere. mode "silent" never answers.
asio::awaitable<void> socksSession(tcp::socket s, std::string mode) {
  boost::system::error_code ec;
  auto tok = asio::redirect_error(asio::use_awaitable, ec);
  if (mode == "silent") {
    char sink[64];
    co_await s.async_read_some(asio::buffer(sink), tok);
    asio::steady_timer t(s.get_executor(), std::chrono::seconds(5));
    co_await t.async_wait(tok);
    co_return;
  }
  std::uint8_t head[2];
  co_await asio::async_read(s, asio::buffer(head), tok);
  std::vector<std::uint8_t> methods(head[1]);
  co_await asio::async_read(s, asio::buffer(methods), tok);
  std::uint8_t choose[2] = {5, 2};
  co_await asio::async_write(s, asio::buffer(choose), tok);
  std::uint8_t v[2];
  co_await asio::async_read(s, asio::buffer(v), tok);
  std::string user(v[1], '\0');
  co_await asio::async_read(s, asio::buffer(user), tok);
  std::uint8_t plen;
  co_await asio::async_read(s, asio::buffer(&plen, 1), tok);
  std::string pass(plen, '\0');
  co_await asio::async_read(s, asio::buffer(pass), tok);
  std::uint8_t status[2] = {1, static_cast<std::uint8_t>(user == "u" && pass == "p" ? 0 : 1)};
  co_await asio::async_write(s, asio::buffer(status), tok);
  if (status[1] != 0 || ec) co_return;
  std::uint8_t req[4];
  co_await asio::async_read(s, asio::buffer(req), tok);
  std::size_t rest = req[3] == 1 ? 6 : req[3] == 4 ? 18 : 0;
  if (req[3] == 3) {
    std::uint8_t len;
    co_await asio::async_read(s, asio::buffer(&len, 1), tok);
    rest = len + 2u;
  }
  std::vector<std::uint8_t> addr(rest);
  co_await asio::async_read(s, asio::buffer(addr), tok);
  std::uint8_t reply[10] = {5, 0, 0, 1, 127, 0, 0, 1, 0, 1};
  co_await asio::async_write(s, asio::buffer(reply), tok);
  if (!ec) co_await echoSession(std::move(s));
}

asio::awaitable<void> acceptLoop(tcp::acceptor& a, std::string kind) {
  while (true) {
    boost::system::error_code ec;
    tcp::socket s = co_await a.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (kind == "echo") asio::co_spawn(a.get_executor(), echoSession(std::move(s)), asio::detached);
    else asio::co_spawn(a.get_executor(), socksSession(std::move(s), kind), asio::detached);
  }
}

struct Server {
  Server(asio::io_context& ioc, std::string kind) : acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(ioc, acceptLoop(acceptor, std::move(kind)), asio::detached);
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  tcp::acceptor acceptor;
};

struct Outcome {
  bool done = false;
  std::string echoed;
  std::optional<Errc> error;
  bool unhealthy = false;
};

// Dials target through d, writes a line, reads it back, half-closes.
asio::awaitable<void> session(std::shared_ptr<Dialer> d, Endpoint target, std::string line, Outcome* out) {
  try {
    auto s = co_await d->dialTcp(target);
    co_await s->writeAll(asio::buffer(line));
    std::string got(line.size(), '\0');
    co_await readExactly(*s, asio::buffer(got), "the echo");
    co_await s->shutdownWrite();
    out->echoed = got;
  } catch (const OutboundError& e) {
    out->error = e.code();
    out->unhealthy = e.nodeUnhealthy();
  }
  out->done = true;
}

std::uint16_t closedPort(asio::io_context& ioc) {
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();  // closed again when a goes away
}

}  // namespace

TEST(Dial, ConcurrentSessionsOneFailsOthersComplete) {
  asio::io_context ioc;
  Server echo(ioc, "echo");
  Server socks(ioc, "socks");
  std::uint16_t dead = closedPort(ioc);
  DialOptions opts;
  auto direct = makeDirectDialer(opts);
  auto good = makeDialer(parseShareLink("socks5://u:p@127.0.0.1:" + std::to_string(socks.port()) + "#good"), opts);
  auto badPw = makeDialer(parseShareLink("socks5://u:x@127.0.0.1:" + std::to_string(socks.port()) + "#bad"), opts);
  auto down = makeDialer(parseShareLink("socks5://127.0.0.1:" + std::to_string(dead) + "#down"), opts);
  auto block = makeBlockDialer();

  Endpoint target("127.0.0.1", echo.port());
  std::vector<Outcome> out(8);
  std::vector<std::shared_ptr<Dialer>> dialers{direct, good, good, badPw, good, down, direct, block};
  for (std::size_t i = 0; i < dialers.size(); ++i)
    asio::co_spawn(ioc, session(dialers[i], target, "line " + std::to_string(i), &out[i]), asio::detached);
  // run until every session reported (the acceptors keep the context busy)
  while (!std::all_of(out.begin(), out.end(), [](const Outcome& o) { return o.done; })) ioc.run_one();

  for (std::size_t i : {0u, 1u, 2u, 4u, 6u}) {
    EXPECT_FALSE(out[i].error) << "session " << i;
    EXPECT_EQ(out[i].echoed, "line " + std::to_string(i));
  }
  ASSERT_TRUE(out[3].error);
  EXPECT_EQ(*out[3].error, Errc::Auth);
  EXPECT_TRUE(out[3].unhealthy);
  ASSERT_TRUE(out[5].error);
  EXPECT_EQ(*out[5].error, Errc::Connect);
  ASSERT_TRUE(out[7].error);
  EXPECT_EQ(*out[7].error, Errc::Blocked);
  EXPECT_FALSE(out[7].unhealthy);
}

TEST(Dial, SilentProxyTimesOut) {
  asio::io_context ioc;
  Server silent(ioc, "silent");
  DialOptions opts;
  opts.handshakeTimeout = std::chrono::milliseconds(200);
  auto d = makeDialer(parseShareLink("socks5://127.0.0.1:" + std::to_string(silent.port()) + "#silent"), opts);
  Outcome o;
  asio::co_spawn(ioc, session(d, Endpoint("127.0.0.1", 9), "x", &o), asio::detached);
  auto start = std::chrono::steady_clock::now();
  while (!o.done) ioc.run_one();
  ASSERT_TRUE(o.error);
  EXPECT_EQ(*o.error, Errc::Timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(Dial, ErrorsNameTheNode) {
  asio::io_context ioc;
  std::uint16_t dead = closedPort(ioc);
  auto d = makeDialer(parseShareLink("http://127.0.0.1:" + std::to_string(dead) + "#my%20node"));
  std::string message;
  asio::co_spawn(
      ioc,
      [](std::shared_ptr<Dialer> dialer, std::string* msg) -> asio::awaitable<void> {
        try {
          co_await dialer->dialTcp(Endpoint("example.test", 80));
        } catch (const OutboundError& e) {
          *msg = e.what();
        }
      }(d, &message),
      asio::detached);
  ioc.run();
  EXPECT_NE(message.find("node 'my node' (http 127.0.0.1:"), std::string::npos) << message;
  EXPECT_FALSE(d->supportsUdp());
  EXPECT_THROW(makeDialer(parseShareLink("trojan://pw@127.0.0.1:1"), DialOptions{0, {}, {}, "/nonexistent/ca.pem"}),
               OutboundError);
}
