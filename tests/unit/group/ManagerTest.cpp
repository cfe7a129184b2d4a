// GroupManager: pool, groups and picks with scripted check results, and real
// health checks against an HTTP server and a DNS responder on the loopback.
#include <gtest/gtest.h>

#include <utility>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "artifact.pb.h"
#include "group/Groups.h"

using namespace dae::group;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace artifact = dae::artifact;

namespace {

void global(artifact::ConfigData& c, const std::string& k, const std::string& v) {
  auto* kv = c.add_global();
  kv->set_key(k);
  kv->set_value(v);
}
void node(artifact::ConfigData& c, const std::string& name, const std::string& link) {
  auto* n = c.add_nodes();
  n->set_name(name);
  n->set_link(link);
}
artifact::Group* group(artifact::ConfigData& c, const std::string& name, const std::string& policy,
                       std::vector<std::string> exactNames = {}, std::uint32_t fixedIndex = 0) {
  auto* g = c.add_groups();
  g->set_name(name);
  g->set_policy(policy);
  g->set_fixed_index(fixedIndex);
  if (!exactNames.empty()) {
    auto* call = g->add_filters()->add_calls();
    call->set_function("name");
    for (const auto& n : exactNames) {
      auto* a = call->add_args();
      a->set_value(n);
    }
  }
  return g;
}

// A TCP port on the loopback that refuses connections.
std::uint16_t closedPort(asio::io_context& io) {
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

artifact::ConfigData scriptedConfig(std::uint16_t closed) {
  artifact::ConfigData c;
  global(c, "check_interval", "30s");
  const std::string socks = "socks5://127.0.0.1:" + std::to_string(closed);
  node(c, "hk1", socks);
  node(c, "hk2", socks);
  node(c, "sg1", socks);
  node(c, "web", "http://127.0.0.1:" + std::to_string(closed));  // an HTTP proxy: no UDP
  node(c, "broken", "nonsense://x");
  group(c, "fastest", "min");
  group(c, "pinned", "fixed", {"sg1", "hk1"}, 1);
  group(c, "spread", "random", {"hk1", "hk2"});
  auto* g = group(c, "tolerant", "min", {"hk1", "hk2"});
  auto* o = g->add_options();
  o->set_key("check_tolerance");
  o->set_value("50ms");
  o = g->add_options();
  o->set_key("check_interval");
  o->set_value("10s");  // other checks than the global ones: separate entries
  return c;
}

}  // namespace

TEST(GroupManager, ScriptedPicks) {
  asio::io_context io;
  ManagerOptions opts;
  opts.seed = 42;
  GroupManager m(io.get_executor(), scriptedConfig(closedPort(io)), {}, opts);
  EXPECT_EQ(m.groupNames(), (std::vector<std::string>{"fastest", "pinned", "spread", "tolerant"}));
  EXPECT_EQ(m.memberNames("pinned"), (std::vector<std::string>{"sg1", "hk1"}));  // written order
  EXPECT_EQ(m.memberNames("fastest").size(), 5u);

  // Before any check: the first usable member; never the broken link, never
  // the HTTP proxy for UDP.
  EXPECT_EQ(m.nodeName(m.pick("fastest", Kind::Tcp4)), "hk1");
  EXPECT_EQ(m.nodeName(m.pick("pinned", Kind::Udp6)), "hk1");

  for (Kind k : kAllKinds) {
    m.recordCheck("hk1", k, 80ms);
    m.recordCheck("hk2", k, 60ms);
    m.recordCheck("sg1", k, 90ms);
    m.recordCheck("web", k, 10ms);  // UDP kinds are ignored for it
  }
  EXPECT_EQ(m.nodeName(m.pick("fastest", Kind::Tcp4)), "web");
  EXPECT_EQ(m.nodeName(m.pick("fastest", Kind::Tcp6)), "web");
  EXPECT_EQ(m.nodeName(m.pick("fastest", Kind::Udp4)), "hk2");
  EXPECT_EQ(m.chosen("fastest", Kind::Udp6), "hk2");
  EXPECT_EQ(m.nodeName(m.pick("pinned", Kind::Tcp4)), "hk1");

  // tolerance 50ms: hk2 better by 20 ms does not move "tolerant" off hk1...
  EXPECT_EQ(m.chosen("tolerant", Kind::Tcp4), "hk1");
  // ...better by 55 ms does.
  m.recordCheck("hk2", Kind::Tcp4, 25ms);
  EXPECT_EQ(m.chosen("tolerant", Kind::Tcp4), "hk2");
  EXPECT_EQ(m.chosen("fastest", Kind::Tcp4), "web");
  m.recordCheck("web", Kind::Tcp4, std::nullopt, "connect: refused");
  EXPECT_EQ(m.chosen("fastest", Kind::Tcp4), "hk2");
  m.recordCheck("hk1", Kind::Tcp4, 20ms);  // better by 5 ms: only the group without tolerance moves
  EXPECT_EQ(m.chosen("fastest", Kind::Tcp4), "hk1");
  EXPECT_EQ(m.chosen("tolerant", Kind::Tcp4), "hk2");

  // random over the two members.
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; ++i) ++seen[m.nodeName(m.pick("spread", Kind::Udp4))];
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(m.chosen("spread", Kind::Udp4), std::nullopt);

  // fixed: the chosen node down means no node.
  m.recordCheck("hk1", Kind::Udp4, std::nullopt, "no DNS answer");
  try {
    m.pick("pinned", Kind::Udp4);
    FAIL() << "expected GroupError";
  } catch (const GroupError& e) {
    EXPECT_EQ(std::string(e.what()), "group 'pinned': no usable node for udp4: 'hk1': udp4 check failed: no DNS answer");
  }
  try {
    m.pick("nope", Kind::Tcp4);
    FAIL() << "expected GroupError";
  } catch (const GroupError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown group 'nope'; groups: fastest, pinned"), std::string::npos);
  }
  EXPECT_THROW(m.recordCheck("ghost", Kind::Tcp4, 1ms), GroupError);

  std::string d = m.describe();
  EXPECT_NE(d.find("node 'broken': invalid link"), std::string::npos) << d;
  EXPECT_NE(d.find("group 'fastest': policy min, tolerance 0ns"), std::string::npos) << d;
  EXPECT_NE(d.find("group 'pinned': policy fixed(1)"), std::string::npos) << d;
  EXPECT_NE(d.find("group 'tolerant': policy min, tolerance 50ms, 2 node(s); checks every 10s"), std::string::npos) << d;
  EXPECT_NE(d.find("chosen: tcp4 'hk1', tcp6 'web', udp4 'hk2', udp6 'hk2'"), std::string::npos) << d;
  EXPECT_NE(d.find("*20ms"), std::string::npos) << d;
  EXPECT_NE(d.find("web tcp4: connect: refused"), std::string::npos) << d;
  EXPECT_EQ(d.find("web udp4"), std::string::npos) << d;  // n/a, not an error
}

TEST(GroupManager, BadConfigIsReported) {
  asio::io_context io;
  artifact::ConfigData c;
  node(c, "a", "direct://");
  group(c, "g", "fastest-please");
  EXPECT_THROW(GroupManager(io.get_executor(), c, {}), GroupError);
  artifact::ConfigData d;
  global(d, "check_interval", "0s");
  EXPECT_THROW(GroupManager(io.get_executor(), d, {}), GroupError);
}

// ---- real checks on the loopback ------------------------------------------------

namespace {

struct LoopbackServers {
  asio::io_context& io;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> http;
  std::vector<std::unique_ptr<asio::ip::udp::socket>> dns;
  std::uint16_t httpPort = 0, dnsPort = 0;
  int httpRequests = 0, dnsQueries = 0;
  bool v6 = true;

  explicit LoopbackServers(asio::io_context& i) : io(i) {
    auto a4 = std::make_unique<asio::ip::tcp::acceptor>(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    httpPort = a4->local_endpoint().port();
    http.push_back(std::move(a4));
    auto u4 = std::make_unique<asio::ip::udp::socket>(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    dnsPort = u4->local_endpoint().port();
    dns.push_back(std::move(u4));
    try {
      http.push_back(std::make_unique<asio::ip::tcp::acceptor>(
          io, asio::ip::tcp::endpoint(asio::ip::make_address("::1"), httpPort)));
      dns.push_back(std::make_unique<asio::ip::udp::socket>(
          io, asio::ip::udp::endpoint(asio::ip::make_address("::1"), dnsPort)));
    } catch (const boost::system::system_error& e) {
      v6 = false;
      GTEST_LOG_(INFO) << "no IPv6 loopback (" << e.what() << "): IPv6 checks are expected to fail";
    }
    for (auto& a : http) asio::co_spawn(io, accept(*a), asio::detached);
    for (auto& s : dns) asio::co_spawn(io, answer(*s), asio::detached);
  }
  void close() {
    for (auto& a : http) a->close();
    for (auto& s : dns) s->close();
  }

  asio::awaitable<void> accept(asio::ip::tcp::acceptor& a) {
    while (true) {
      boost::system::error_code ec;
      asio::ip::tcp::socket s = co_await a.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::streambuf buf;
      const std::string end = "\r\n\r\n";
      co_await asio::async_read_until(s, buf, end, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) continue;
      ++httpRequests;
      const std::string reply = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      co_await asio::async_write(s, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  asio::awaitable<void> answer(asio::ip::udp::socket& s) {
    std::array<std::uint8_t, 512> buf{};
    while (true) {
      boost::system::error_code ec;
      asio::ip::udp::endpoint from;
      std::size_t n = co_await s.async_receive_from(asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      if (n < 12) continue;
      ++dnsQueries;
      buf[2] |= 0x80;  // QR: a reply (no answers; any reply proves the UDP path)
      co_await s.async_send_to(asio::buffer(buf.data(), n), from, asio::redirect_error(asio::use_awaitable, ec));
    }
  }
};

template <typename Pred>
bool runUntil(asio::io_context& io, Pred pred, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.run_for(10ms);
  }
  return true;
}

}  // namespace

TEST(GroupManager, LoopbackHealthChecks) {
  asio::io_context io;
  LoopbackServers srv(io);
  const std::uint16_t closed = closedPort(io);
  artifact::ConfigData c;
  global(c, "tcp_check_url", "http://check.test:" + std::to_string(srv.httpPort) + "/generate_204,127.0.0.1,::1");
  global(c, "tcp_check_http_method", "GET");
  global(c, "udp_check_dns", "dns.test:" + std::to_string(srv.dnsPort) + ",127.0.0.1,::1");
  global(c, "check_interval", "1h");  // only the first round and re-checks run in this test
  node(c, "dead", "socks5://127.0.0.1:" + std::to_string(closed));
  node(c, "direct", "direct://");
  node(c, "web", "http://127.0.0.1:" + std::to_string(closed));
  group(c, "g", "min");

  ManagerOptions opts;
  opts.jitterFirstCheck = false;
  opts.checkTimeout = 2s;
  opts.minRecheckGap = 20ms;
  GroupManager m(io.get_executor(), c, {}, opts);
  m.start();
  ASSERT_TRUE(runUntil(io, [&] { return m.checkedAtLeast(1); }, 10s)) << m.describe();
  std::string d = m.describe();
  for (Kind k : {Kind::Tcp4, Kind::Udp4}) EXPECT_EQ(m.nodeName(m.pick("g", k)), "direct") << d;
  if (srv.v6) {
    for (Kind k : {Kind::Tcp6, Kind::Udp6}) EXPECT_EQ(m.nodeName(m.pick("g", k)), "direct") << d;
  }
  EXPECT_EQ(srv.httpRequests, srv.v6 ? 2 : 1);
  EXPECT_EQ(srv.dnsQueries, srv.v6 ? 2 : 1);
  EXPECT_NE(d.find("dead tcp4: "), std::string::npos) << d;
  EXPECT_NE(d.find("web tcp4: "), std::string::npos) << d;
  EXPECT_EQ(d.find("web udp4"), std::string::npos) << d;  // never checked: no UDP
  EXPECT_NE(d.find("chosen: tcp4 'direct'"), std::string::npos) << d;

  // A dial failure re-checks the node at once (the interval is an hour).
  m.reportFailure("g", m.pick("g", Kind::Tcp4));
  EXPECT_TRUE(runUntil(io, [&] { return srv.httpRequests >= (srv.v6 ? 4 : 2); }, 5s));
  EXPECT_EQ(m.nodeName(m.pick("g", Kind::Tcp4)), "direct");

  // stop() ends every loop: with the servers closed, the io_context runs dry.
  m.stop();
  srv.close();
  io.run_for(5s);
  EXPECT_TRUE(io.stopped());
}
