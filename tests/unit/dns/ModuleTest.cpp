// The DNS module end to end on loopback: fake upstream servers (UDP and TCP) written
// here, a real kernel hash map standing in for dae_domain_map (skipped without
// CAP_BPF), a fake route for the upstreams (direct), an injected clock.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <utility>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <map>
#include <thread>

#include "dns/DnsModule.h"
#include "dns/Message.h"

using namespace dae::dns;
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;

namespace {

std::string a4(int a, int b, int c, int d) {
  return std::string{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)};
}

// A DNS server on 127.0.0.1 (UDP and TCP, same port) answering through `handler`.
struct FakeServer {
  using Handler = std::function<asio::awaitable<std::string>(std::string query, bool tcp)>;
  FakeServer(asio::io_context& io, Handler h) : udpSock(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
                                                 acceptor(io), handler(std::move(h)) {
    port = udpSock.local_endpoint().port();
    acceptor.open(tcp::v4());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind({asio::ip::make_address("127.0.0.1"), port});
    acceptor.listen();
    asio::co_spawn(io, udpLoop(), asio::detached);
    asio::co_spawn(io, tcpLoop(), asio::detached);
  }
  ~FakeServer() {
    boost::system::error_code ec;
    udpSock.close(ec);
    acceptor.close(ec);
  }
  asio::awaitable<void> udpLoop() {
    std::vector<char> buf(65535);
    for (;;) {
      udp::endpoint from;
      boost::system::error_code ec;
      size_t n = co_await udpSock.async_receive_from(asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      std::string q(buf.data(), n);
      asio::co_spawn(udpSock.get_executor(), udpReply(q, from), asio::detached);
    }
  }
  asio::awaitable<void> udpReply(std::string q, udp::endpoint from) {
    ++queries;
    names.push_back(q);
    std::string r = co_await handler(q, false);
    boost::system::error_code ec;
    if (!r.empty()) udpSock.send_to(asio::buffer(r), from, 0, ec);
  }
  asio::awaitable<void> tcpLoop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      uint8_t len[2];
      co_await asio::async_read(s, asio::buffer(len), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) continue;
      std::string q((len[0] << 8) | len[1], '\0');
      co_await asio::async_read(s, asio::buffer(q), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) continue;
      ++queries;
      ++tcpQueries;
      std::string r = co_await handler(q, true);
      std::string framed{static_cast<char>(r.size() >> 8), static_cast<char>(r.size() & 0xFF)};
      framed += r;
      co_await asio::async_write(s, asio::buffer(framed), asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  udp::socket udpSock;
  tcp::acceptor acceptor;
  Handler handler;
  uint16_t port = 0;
  int queries = 0, tcpQueries = 0;
  std::vector<std::string> names;
};

// Answers A/AAAA from a table name -> (v4, v6), TTL 60; NXDOMAIN otherwise.
FakeServer::Handler tableHandler(std::map<std::string, std::pair<std::string, std::string>> table) {
  return [table](std::string q, bool) -> asio::awaitable<std::string> {
    auto p = parse(q);
    if (!p || p.message->questions.size() != 1) co_return std::string();
    const auto& qq = p.message->questions[0];
    auto it = table.find(canonicalName(qq.name));
    if (it == table.end()) co_return buildEmptyReply(q, Rcode::NxDomain);
    std::vector<SimpleRecord> recs;
    if (qq.type == kTypeA && !it->second.first.empty()) recs.push_back({qq.name, kTypeA, 60, it->second.first});
    if (qq.type == kTypeAAAA && !it->second.second.empty()) recs.push_back({qq.name, kTypeAAAA, 60, it->second.second});
    co_return buildReply(q, Rcode::NoError, recs);
  };
}

std::string v6lab(int last) {
  std::string s(16, '\0');
  s[0] = static_cast<char>(0xfd);
  s[2] = 0x0d;
  s[3] = static_cast<char>(0xae);
  s[15] = static_cast<char>(last);
  return s;
}

template <typename T>
T run(asio::io_context& io, asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr err;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    err = e;
    out = std::move(v);
    io.stop();
  });
  io.restart();
  io.run_for(10s);
  io.restart();
  if (err) std::rethrow_exception(err);
  if (!out) throw std::runtime_error("timed out");
  return std::move(*out);
}

void pump(asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
  io.restart();
}

class DnsModuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    up1 = std::make_unique<FakeServer>(io, tableHandler({{"www.example.test", {a4(198, 18, 1, 10), v6lab(0x10)}},
                                                         {"dual.test", {a4(198, 18, 1, 11), v6lab(0x11)}},
                                                         {"v6only.test", {"", v6lab(0x12)}},
                                                         {"bad.test", {a4(198, 18, 9, 9), ""}},
                                                         {"ddns.test", {a4(198, 18, 1, 13), ""}},
                                                         {"other.test", {a4(198, 18, 1, 14), ""}}}));
    up2 = std::make_unique<FakeServer>(io, tableHandler({{"a.two.test", {a4(198, 18, 2, 1), ""}},
                                                         {"bad.test", {a4(198, 18, 1, 99), ""}},
                                                         {"node.test", {a4(198, 18, 2, 2), ""}}}));
    mapFd = bpf_map_create(BPF_MAP_TYPE_HASH, "dns_test_map", 16, 4, 1024, nullptr);
    auto* dns = art.config.mutable_dns();
    addUpstream("up1", "udp", up1->port);
    addUpstream("up2", "tcp+udp", up2->port);
    art.meta.set_domain_words(1);
    auto* set = art.rules.add_domain_sets();  // bit 0: example.test
    set->set_index(0);
    auto* p = set->add_patterns();
    p->set_kind("suffix");
    p->set_value("example.test");
    auto* req = dns->mutable_request();
    rule(req, "qname", {{"suffix", "two.test"}}, "up2");
    rule(req, "qname", {{"full", "blocked.test"}}, "reject");
    rule(req, "node", {{"name_keyword", "hk"}}, "up2");
    req->set_fallback("up1");
    auto* resp = dns->mutable_response();
    rule(resp, "upstream", {{"", "up2"}}, "accept");
    rule(resp, "ip", {{"", "198.18.9.0/24"}}, "up2");
    resp->set_fallback("accept");
    auto* fixed = dns->add_fixed_domain_ttl();
    fixed->set_key("ddns.test");
    fixed->set_value("5");
    dns->set_optimistic_cache(true);
    dns->set_optimistic_cache_ttl(60);
    dns->set_max_cache_size(100);
  }
  void TearDown() override {
    module.reset();
    if (mapFd >= 0) close(mapFd);
  }
  void addUpstream(const std::string& name, const std::string& scheme, uint16_t port) {
    auto* u = art.config.mutable_dns()->add_upstreams();
    u->set_name(name);
    u->set_scheme(scheme);
    u->set_host("127.0.0.1");
    u->set_port(port);
  }
  static void rule(dae::artifact::DnsRouting* r, const std::string& fn,
                   std::vector<std::pair<std::string, std::string>> args, const std::string& out) {
    auto* x = r->add_rules();
    x->set_outbound(out);
    auto* c = x->add_conditions();
    c->set_function(fn);
    for (auto& [k, v] : args) {
      auto* a = c->add_args();
      a->set_key(k);
      a->set_value(v);
    }
  }
  DnsModule& make() {
    DnsOptions o;
    o.routeFlow = [this](uint8_t proto, const asio::ip::address& a, uint16_t port, const std::string&) {
      routed.push_back(std::to_string(proto) + " " + a.to_string() + ":" + std::to_string(port));
      return FlowRoute{};
    };
    o.bootstrap = {"127.0.0.1:" + std::to_string(up1->port)};
    o.now = [this] { return clock; };
    o.upstreamTimeout = 1500ms;
    module = std::make_unique<DnsModule>(io.get_executor(), art, mapFd, o);
    module->start();
    return *module;
  }
  std::string ask(const std::string& name, uint16_t type, uint16_t id = 0x1234, bool tcp = false) {
    std::string q = buildQuery(id, name, type);
    ClientInfo from;
    from.source = asio::ip::make_address("198.18.0.2");
    from.tcp = tcp;
    return run(io, module->answer(q, from));
  }
  static Message parsed(const std::string& w) {
    auto r = parse(w);
    EXPECT_TRUE(r) << r.error;
    return r ? *r.message : Message{};
  }
  uint32_t mapBits(int a, int b, int c, int d) {
    std::array<uint8_t, 16> key{};
    key[10] = key[11] = 0xFF;
    key[12] = static_cast<uint8_t>(a);
    key[13] = static_cast<uint8_t>(b);
    key[14] = static_cast<uint8_t>(c);
    key[15] = static_cast<uint8_t>(d);
    uint32_t v = 0;
    if (bpf_map_lookup_elem(mapFd, key.data(), &v) != 0) return 0;
    return v;
  }

  asio::io_context io;
  std::unique_ptr<FakeServer> up1, up2;
  dae::loader::Artifact art;
  int mapFd = -1;
  Clock::time_point clock = Clock::now();
  std::vector<std::string> routed;
  std::unique_ptr<DnsModule> module;
};

}  // namespace

TEST_F(DnsModuleTest, CachedAnswerDoesNotReachUpstream) {
  make();
  Message first = parsed(ask("www.example.test", kTypeA, 0x1111));
  ASSERT_EQ(first.answers.size(), 1u);
  EXPECT_EQ(first.id, 0x1111);
  EXPECT_EQ(up1->queries, 1);
  std::string again = ask("WWW.Example.TEST", kTypeA, 0x2222);
  Message second = parsed(again);
  EXPECT_EQ(second.id, 0x2222);
  ASSERT_EQ(second.questions.size(), 1u);
  EXPECT_EQ(second.questions[0].name, "WWW.Example.TEST");  // the client's own case
  ASSERT_EQ(second.answers.size(), 1u);
  EXPECT_EQ(second.answers[0].address, first.answers[0].address);
  EXPECT_EQ(up1->queries, 1);
  EXPECT_EQ(module->stats().cacheHits, 1u);
  // The upstreams' own routes were asked once each, when the module started.
  ASSERT_EQ(routed.size(), 2u);
  EXPECT_EQ(routed[0], "17 127.0.0.1:" + std::to_string(up1->port));
}

TEST_F(DnsModuleTest, DomainMapWrittenBeforeTheAnswer) {
  if (mapFd < 0) GTEST_SKIP() << "cannot create a BPF map (needs CAP_BPF)";
  make();
  // Another name already put bit 1 on the address: bits are OR-ed.
  std::array<uint8_t, 16> key{};
  key[10] = key[11] = 0xFF;
  key[12] = 198, key[13] = 18, key[14] = 1, key[15] = 10;
  uint32_t bit1 = 2;
  ASSERT_EQ(bpf_map_update_elem(mapFd, key.data(), &bit1, BPF_ANY), 0);
  Message m = parsed(ask("www.example.test", kTypeA));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(mapBits(198, 18, 1, 10), 3u);
  // AAAA answers are written too.
  parsed(ask("www.example.test", kTypeAAAA));
  std::string k6 = v6lab(0x10);
  uint32_t v = 0;
  ASSERT_EQ(bpf_map_lookup_elem(mapFd, k6.data(), &v), 0);
  EXPECT_EQ(v, 1u);
  // A name no domain() set matches leaves no entry.
  parsed(ask("other.test", kTypeA));
  EXPECT_EQ(mapBits(198, 18, 1, 14), 0u);
  EXPECT_GE(module->stats().mapWrites, 2u);
}

TEST_F(DnsModuleTest, RequestRoutingAndReject) {
  make();
  Message m = parsed(ask("a.two.test", kTypeA));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(up2->queries, 1);
  EXPECT_EQ(up1->queries, 0);
  Message r = parsed(ask("blocked.test", kTypeA));
  EXPECT_EQ(r.rcode(), Rcode::NoError);
  EXPECT_TRUE(r.answers.empty());
  EXPECT_EQ(up1->queries + up2->queries, 1);
}

TEST_F(DnsModuleTest, ResponseRoutingAsksAgain) {
  make();
  Message m = parsed(ask("bad.test", kTypeA));
  ASSERT_EQ(m.answers.size(), 1u);
  std::array<uint8_t, 16> want{};
  want[10] = want[11] = 0xFF;
  want[12] = 198, want[13] = 18, want[14] = 1, want[15] = 99;
  EXPECT_EQ(*m.answers[0].address, want);
  EXPECT_EQ(up1->queries, 1);
  EXPECT_EQ(up2->queries, 1);
  // The accepted answer is what is cached.
  parsed(ask("bad.test", kTypeA));
  EXPECT_EQ(up1->queries + up2->queries, 2);
}

TEST_F(DnsModuleTest, IpversionPrefer) {
  art.config.mutable_dns()->set_ipversion_prefer(4);
  make();
  Message aaaa = parsed(ask("dual.test", kTypeAAAA));
  EXPECT_EQ(aaaa.rcode(), Rcode::NoError);
  EXPECT_TRUE(aaaa.answers.empty());
  Message a = parsed(ask("dual.test", kTypeA));
  EXPECT_EQ(a.answers.size(), 1u);
  Message only6 = parsed(ask("v6only.test", kTypeAAAA));
  EXPECT_EQ(only6.answers.size(), 1u);
}

TEST_F(DnsModuleTest, FixedTtl) {
  make();
  Message m = parsed(ask("ddns.test", kTypeA));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].ttl, 5u);
  clock += 2s;
  Message again = parsed(ask("ddns.test", kTypeA));
  ASSERT_EQ(again.answers.size(), 1u);
  EXPECT_EQ(again.answers[0].ttl, 3u);
  EXPECT_EQ(up1->queries, 1);
}

TEST_F(DnsModuleTest, OptimisticCacheServesStaleAndRefreshes) {
  make();
  parsed(ask("www.example.test", kTypeA));
  clock += 61s;  // past the TTL of 60, inside the 60 s stale window
  Message stale = parsed(ask("www.example.test", kTypeA));
  ASSERT_EQ(stale.answers.size(), 1u);
  EXPECT_EQ(stale.answers[0].ttl, kStaleTtl);
  pump(io, 300ms);  // the background refresh
  EXPECT_EQ(up1->queries, 2);
  Message fresh = parsed(ask("www.example.test", kTypeA));
  EXPECT_EQ(fresh.answers[0].ttl, 60u);
  EXPECT_EQ(module->stats().staleHits, 1u);
  clock += 200s;  // past TTL + window: asked again before answering
  parsed(ask("www.example.test", kTypeA));
  EXPECT_EQ(up1->queries, 3);
}

TEST_F(DnsModuleTest, MalformedNeverCrashesNorCaches) {
  up1->handler = [](std::string q, bool) -> asio::awaitable<std::string> {
    std::string r = buildReply(q, Rcode::NoError, {{"x", kTypeA, 60, a4(1, 2, 3, 4)}});
    r.push_back('!');  // trailing garbage: must be refused
    co_return r;
  };
  make();
  ClientInfo from;
  std::string garbage = "\x12\x34\x01";
  EXPECT_EQ(run(io, module->answer(garbage, from)), "");
  std::string header = buildQuery(7, "x.test", kTypeA);
  header.resize(15);
  Message fe = parsed(run(io, module->answer(header, from)));
  EXPECT_EQ(fe.rcode(), Rcode::FormErr);
  std::string resp = buildEmptyReply(buildQuery(7, "x.test", kTypeA), Rcode::NoError);
  EXPECT_EQ(run(io, module->answer(resp, from)), "");  // a response, not a query
  Message sf = parsed(ask("x.test", kTypeA));
  EXPECT_EQ(sf.rcode(), Rcode::ServFail);
  parsed(ask("x.test", kTypeA));
  EXPECT_EQ(up1->queries, 2);  // nothing was cached
  EXPECT_EQ(module->stats().cacheEntries, 0u);
}

TEST_F(DnsModuleTest, ConcurrentQuestionsShareOneExchange) {
  auto inner = tableHandler({{"slow.test", {a4(198, 18, 1, 20), ""}}});
  up1->handler = [inner](std::string q, bool tcp) -> asio::awaitable<std::string> {
    asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
    co_await t.async_wait(asio::use_awaitable);
    co_return co_await inner(q, tcp);
  };
  make();
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    std::string q = buildQuery(static_cast<uint16_t>(i), "slow.test", kTypeA);
    ClientInfo from;
    asio::co_spawn(io, module->answer(q, from), [&](std::exception_ptr, std::string r) {
      EXPECT_EQ(parsed(r).answers.size(), 1u);
      ++done;
    });
  }
  pump(io, 1000ms);
  EXPECT_EQ(done, 5);
  EXPECT_EQ(up1->queries, 1);
}

TEST_F(DnsModuleTest, TruncatedUdpRetriedOverTcp) {
  up2->handler = [](std::string q, bool tcp) -> asio::awaitable<std::string> {
    std::vector<SimpleRecord> recs;
    for (int i = 0; i < 40; ++i) recs.push_back({"a.two.test", kTypeA, 60, a4(198, 18, 3, i)});
    std::string full = buildReply(q, Rcode::NoError, recs);
    co_return tcp ? full : truncateForUdp(full, 100);
  };
  make();
  // Over UDP the client gets TC (it allows 512 bytes without EDNS) ...
  std::string q = buildQuery(9, "a.two.test", kTypeA, kClassIN, 0);
  ClientInfo from;
  Message udpAns = parsed(run(io, module->answer(q, from)));
  EXPECT_TRUE(udpAns.truncated());
  EXPECT_EQ(up2->tcpQueries, 1);
  // ... and the whole answer over TCP, from the cache.
  from.tcp = true;
  Message tcpAns = parsed(run(io, module->answer(q, from)));
  EXPECT_EQ(tcpAns.answers.size(), 40u);
  EXPECT_EQ(up2->tcpQueries, 1);
}

TEST_F(DnsModuleTest, LoopBackIntoTheModuleIsDetected) {
  // up1 forwards what it receives to the module itself (same ID), as a resolver whose
  // traffic is hijacked back would.
  make();
  up1->handler = [this](std::string q, bool) -> asio::awaitable<std::string> {
    ClientInfo from;
    from.fromHost = true;
    co_return co_await module->answer(q, from);
  };
  Message m = parsed(ask("loop.test", kTypeA));
  EXPECT_EQ(m.rcode(), Rcode::ServFail);
  EXPECT_EQ(module->stats().loops, 1u);
}

TEST_F(DnsModuleTest, UpstreamThatIsOurOwnListener) {
  art.config.mutable_dns()->set_bind("udp://127.0.0.1:0");
  make();
  uint16_t port = module->udpListenEndpoints().at(0).port();
  // A second module whose upstream is the first module's listener is fine; a module
  // asked through its own listener is not: point up1 at our listener.
  module.reset();
  art.config.mutable_dns()->set_bind("udp://127.0.0.1:" + std::to_string(port));
  art.config.mutable_dns()->mutable_upstreams(0)->set_port(port);
  make();
  Message m = parsed(ask("www.example.test", kTypeA));
  EXPECT_EQ(m.rcode(), Rcode::ServFail);
}

TEST_F(DnsModuleTest, BindListenersUdpAndTcp) {
  art.config.mutable_dns()->set_bind("tcp+udp://127.0.0.1:0");
  make();
  auto uep = module->udpListenEndpoints().at(0);
  udp::socket c(io, udp::v4());
  std::string q = buildQuery(0x4321, "www.example.test", kTypeA);
  c.send_to(asio::buffer(q), uep);
  std::vector<char> buf(4096);
  udp::endpoint from;
  std::string got;
  c.async_receive_from(asio::buffer(buf), from, [&](boost::system::error_code ec, size_t n) {
    if (!ec) got.assign(buf.data(), n);
  });
  pump(io, 500ms);
  Message m = parsed(got);
  EXPECT_EQ(m.id, 0x4321);
  ASSERT_EQ(m.answers.size(), 1u);
  // TCP on a listener of its own (port 0 gives UDP and TCP different ports); the
  // blocking client runs on a thread while the module's io_context runs here.
  auto tep = module->tcpListenEndpoints().at(0);
  std::string body;
  std::thread client([&] {
    asio::io_context cio;
    tcp::socket t(cio);
    t.connect(tep);
    std::string framed{0, static_cast<char>(q.size())};
    framed += q;
    asio::write(t, asio::buffer(framed));
    uint8_t len[2];
    asio::read(t, asio::buffer(len));
    body.assign((len[0] << 8) | len[1], '\0');
    asio::read(t, asio::buffer(body));
  });
  pump(io, 500ms);
  client.join();
  EXPECT_EQ(parsed(body).answers.size(), 1u);
  EXPECT_EQ(up1->queries, 1);  // the second came from the cache
}

TEST_F(DnsModuleTest, AsisAsksTheClientsServer) {
  auto* req = art.config.mutable_dns()->mutable_request();
  req->set_fallback("asis");
  make();
  ClientInfo from;
  from.destination = asio::ip::make_address("127.0.0.1");
  from.destinationPort = up1->port;  // the client asked up1 itself
  std::string other = buildQuery(6, "www.example.test", kTypeA);
  Message m = parsed(run(io, module->answer(other, from)));
  EXPECT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(up1->queries, 1);
}

TEST_F(DnsModuleTest, OwnLookupsRoutedByNode) {
  make();
  InternalLookup hk{InternalLookup::Kind::Node, "", "hk-01", "ss://x"};
  auto addrs = run(io, module->resolve("node.test", hk));
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_EQ(addrs[0].to_string(), "198.18.2.2");
  EXPECT_GE(up2->queries, 1);
  auto lit = run(io, module->resolve("198.18.7.7", hk));
  EXPECT_EQ(lit.at(0).to_string(), "198.18.7.7");
}

// The engine's UDP fast path: answered at once from the cache (or a reject), the rest
// handed back as an awaitable; every query parsed and counted once.
TEST_F(DnsModuleTest, AnswerFromCacheFastPath) {
  make();
  ClientInfo from;
  from.source = asio::ip::make_address("198.18.0.2");
  std::string q1 = buildQuery(0x2222, "www.example.test", kTypeA);
  std::optional<asio::awaitable<std::string>> rest;
  auto now = module->answerFromCache(q1, from, rest);
  ASSERT_FALSE(now);
  ASSERT_TRUE(rest);
  Message first = parsed(run(io, std::move(*rest)));
  EXPECT_EQ(first.id, 0x2222);
  ASSERT_EQ(first.answers.size(), 1u);
  EXPECT_EQ(up1->queries, 1);

  std::string q2 = buildQuery(0x3333, "WWW.example.test", kTypeA);
  std::optional<asio::awaitable<std::string>> rest2;
  auto cached = module->answerFromCache(q2, from, rest2);
  ASSERT_TRUE(cached);
  EXPECT_FALSE(rest2);
  Message second = parsed(*cached);
  EXPECT_EQ(second.id, 0x3333);
  EXPECT_EQ(second.questions.at(0).name, "WWW.example.test");  // the client's case
  ASSERT_EQ(second.answers.size(), 1u);
  EXPECT_EQ(up1->queries, 1);

  std::optional<asio::awaitable<std::string>> rest3;
  auto rejected = module->answerFromCache(buildQuery(7, "blocked.test", kTypeA), from, rest3);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(parsed(*rejected).answers.size(), 0u);
  std::optional<asio::awaitable<std::string>> rest4;
  auto malformed = module->answerFromCache(std::string("\x12\x34\x01", 3), from, rest4);
  ASSERT_TRUE(malformed);
  EXPECT_TRUE(malformed->empty());  // too short to answer

  DnsStats s = module->stats();
  EXPECT_EQ(s.queries, 4u);
  EXPECT_EQ(s.cacheHits, 1u);
  EXPECT_EQ(s.upstreamQueries, 1u);
}
