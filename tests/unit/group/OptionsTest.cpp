// Parsing of the group options as rules.o carries them.
#include <gtest/gtest.h>

#include "artifact.pb.h"
#include "group/HealthCheck.h"
#include "group/Options.h"

using namespace dae::group;
using namespace std::chrono_literals;

TEST(Options, Durations) {
  EXPECT_EQ(parseDuration("30s", "x"), 30s);
  EXPECT_EQ(parseDuration("1m30s", "x"), 90s);
  EXPECT_EQ(parseDuration("1h2m3s", "x"), 3723s);
  EXPECT_EQ(parseDuration("50ms", "x"), 50ms);
  EXPECT_EQ(parseDuration("1.5s", "x"), 1500ms);
  EXPECT_EQ(parseDuration("-20ms", "x"), -20ms);
  EXPECT_EQ(parseDuration("+20ms", "x"), 20ms);
  EXPECT_EQ(parseDuration("100us", "x"), 100us);
  EXPECT_EQ(parseDuration("7ns", "x"), 7ns);
  EXPECT_EQ(parseDuration("0", "x"), 0ns);
  EXPECT_EQ(parseDuration("0s", "x"), 0ns);
  EXPECT_THROW(parseDuration("", "x"), GroupError);
  EXPECT_THROW(parseDuration("10", "x"), GroupError);
  EXPECT_THROW(parseDuration("10 parsecs", "x"), GroupError);
  try {
    parseDuration("5y", "check_interval");
    FAIL();
  } catch (const GroupError& e) {
    EXPECT_EQ(std::string(e.what()), "check_interval: invalid duration '5y': unknown unit 'y'");
  }
}

TEST(Options, FormatLatency) {
  EXPECT_EQ(formatLatency(85ms), "85ms");
  EXPECT_EQ(formatLatency(1234567us), "1.23s");
  EXPECT_EQ(formatLatency(41200us), "41.2ms");
  EXPECT_EQ(formatLatency(950us), "950us");
  EXPECT_EQ(formatLatency(-30ms), "-30ms");
}

TEST(Options, TcpCheckUrl) {
  auto t = parseTcpCheckUrl("http://cp.cloudflare.com,1.1.1.1,2606:4700:4700::1111");
  EXPECT_FALSE(t.tls);
  EXPECT_EQ(t.host, "cp.cloudflare.com");
  EXPECT_EQ(t.port, 80);
  EXPECT_EQ(t.path, "/");
  EXPECT_EQ(t.ip4->to_string(), "1.1.1.1");
  EXPECT_EQ(t.ip6->to_string(), "2606:4700:4700::1111");

  t = parseTcpCheckUrl("https://www.example.com:8443/generate_204?x=1#frag");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.port, 8443);
  EXPECT_EQ(t.path, "/generate_204?x=1");
  EXPECT_FALSE(t.ip4);
  EXPECT_FALSE(t.ip6);

  t = parseTcpCheckUrl("http://[fd00:dae:2::10]:8080/x");
  EXPECT_EQ(t.host, "fd00:dae:2::10");
  EXPECT_EQ(t.port, 8080);
  EXPECT_EQ(t.ip6->to_string(), "fd00:dae:2::10");
  EXPECT_FALSE(t.ip4);

  t = parseTcpCheckUrl("'http://198.18.1.10/'");  // quotes as written in the config
  EXPECT_EQ(t.ip4->to_string(), "198.18.1.10");

  EXPECT_THROW(parseTcpCheckUrl("ftp://x"), GroupError);
  EXPECT_THROW(parseTcpCheckUrl(""), GroupError);
  EXPECT_THROW(parseTcpCheckUrl("http://host:99999/"), GroupError);
}

TEST(Options, UdpCheckDns) {
  auto d = parseUdpCheckDns("dns.google:53,8.8.8.8,2001:4860:4860::8888");
  EXPECT_EQ(d.host, "dns.google");
  EXPECT_EQ(d.port, 53);
  EXPECT_EQ(d.ip4->to_string(), "8.8.8.8");
  EXPECT_EQ(d.ip6->to_string(), "2001:4860:4860::8888");
  d = parseUdpCheckDns("dns.lab.test");
  EXPECT_EQ(d.port, 53);
  d = parseUdpCheckDns("[fd00:dae:2::53]:5353");
  EXPECT_EQ(d.port, 5353);
  EXPECT_EQ(d.ip6->to_string(), "fd00:dae:2::53");
}

TEST(Options, GlobalAndGroupOverrides) {
  dae::artifact::ConfigData config;
  auto add = [&](const char* k, const char* v) {
    auto* kv = config.add_global();
    kv->set_key(k);
    kv->set_value(v);
  };
  add("tcp_check_url", "http://check.test/,198.18.1.10");
  add("tcp_check_http_method", "GET");
  add("udp_check_dns", "dns.test:53,198.18.1.53");
  add("check_interval", "1m30s");
  add("check_tolerance", "50ms");
  add("log_level", "info");
  auto g = globalSettings(config);
  EXPECT_EQ(g.method, "GET");
  EXPECT_EQ(g.interval, 90s);
  EXPECT_EQ(g.tolerance, 50ms);
  EXPECT_EQ(g.tcp.ip4->to_string(), "198.18.1.10");
  EXPECT_FALSE(g.tcp.ip6);

  auto* group = config.add_groups();
  group->set_name("fast");
  auto* o = group->add_options();
  o->set_key("check_interval");
  o->set_value("5s");
  o = group->add_options();
  o->set_key("check_tolerance");
  o->set_value("0s");
  auto s = groupSettings(g, *group);
  EXPECT_EQ(s.interval, 5s);
  EXPECT_EQ(s.tolerance, 0s);
  EXPECT_EQ(s.method, "GET");
  EXPECT_FALSE(s.sameChecks(g));
  s.interval = g.interval;
  EXPECT_TRUE(s.sameChecks(g));  // tolerance is not part of the checks

  o->set_value("soon");
  try {
    groupSettings(g, *group);
    FAIL();
  } catch (const GroupError& e) {
    EXPECT_NE(std::string(e.what()).find("group 'fast' option check_tolerance"), std::string::npos) << e.what();
  }
}

TEST(HealthCheckWire, StatusAndDns) {
  EXPECT_EQ(parseStatusLine("HTTP/1.1 204 No Content"), 204);
  EXPECT_EQ(parseStatusLine("HTTP/1.0 200"), 200);
  EXPECT_EQ(parseStatusLine("SSH-2.0-OpenSSH"), -1);
  EXPECT_EQ(parseStatusLine("HTTP/1.1 20x OK"), -1);
  EXPECT_TRUE(statusPasses(200, "/"));
  EXPECT_TRUE(statusPasses(302, "/"));
  EXPECT_FALSE(statusPasses(404, "/"));
  EXPECT_FALSE(statusPasses(501, "/"));
  EXPECT_TRUE(statusPasses(204, "/generate_204"));
  EXPECT_FALSE(statusPasses(200, "/generate_204?x"));

  auto q = buildDnsQuery("dns.lab.test", 0xbeef);
  const std::vector<std::uint8_t> want = {0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'd', 'n', 's', 3, 'l',
                                          'a',  'b',  4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
  EXPECT_EQ(q, want);
  EXPECT_FALSE(isDnsReply(q, 0xbeef));  // a query, not a reply
  q[2] |= 0x80;
  EXPECT_TRUE(isDnsReply(q, 0xbeef));
  EXPECT_FALSE(isDnsReply(q, 0xbeee));
}
