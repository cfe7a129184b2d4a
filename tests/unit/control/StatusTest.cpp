#include <gtest/gtest.h>

#include "artifact.pb.h"
#include "control/Status.h"

namespace {

using namespace dae::control;

dae::loader::Artifact twoRules() {
  dae::loader::Artifact a;
  a.meta.set_rule_count(2);
  a.meta.set_backend("specialized");
  auto* r0 = a.rules.add_rules();
  r0->set_index(0);
  r0->set_text("dip(198.18.1.10) && dport(80)");
  r0->set_outbound("proxy");
  auto* l = r0->add_locations();
  l->set_file("/etc/dae/config.dae");
  l->set_line(12);
  // Two source rules merged into one.
  auto* r1 = a.rules.add_rules();
  r1->set_index(1);
  r1->set_text("dport(8080, 8443)");
  r1->set_outbound("block");
  for (int line : {14, 15}) {
    auto* m = r1->add_locations();
    m->set_file("/etc/dae/config.dae");
    m->set_line(static_cast<uint32_t>(line));
  }
  auto* f = a.rules.mutable_fallback();
  f->set_outbound("direct");
  auto* fl = f->add_locations();
  fl->set_file("/etc/dae/config.dae");
  fl->set_line(16);
  return a;
}

TEST(Status, RuleRowsCarryLocationsOutboundsAndHits) {
  auto rows = ruleRows(twoRules(), {3, 0, 7});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "#0");
  EXPECT_EQ(rows[0].location, "/etc/dae/config.dae:12");
  EXPECT_EQ(rows[0].hits, 3u);
  EXPECT_EQ(rows[1].location, "/etc/dae/config.dae:14,15");
  EXPECT_EQ(rows[1].outbound, "block");
  EXPECT_EQ(rows[2].name, "fallback");
  EXPECT_EQ(rows[2].hits, 7u);
  EXPECT_EQ(ruleLocation(twoRules(), 2), "/etc/dae/config.dae:16");
  // Fewer counters than rules (a map that could not be read): zero, not garbage.
  EXPECT_EQ(ruleRows(twoRules(), {}).back().hits, 0u);
}

StatusSnapshot sample() {
  StatusSnapshot s;
  s.pid = 42;
  s.uptime = std::chrono::seconds(75);
  s.source = "/etc/dae/config.dae";
  s.generation = 3;
  s.backend = "specialized";
  s.reloadsOk = 2;
  s.reloadsFailed = 1;
  s.lastReloadError = "/etc/dae/config.dae:3:1: error: unknown outbound 'x'";
  s.attachments = {{"lan0", "ingress", "tcx", "dae_lan_ingress", 17},
                   {"wan0", "egress", "tc-filter", "dae_wan_egress", 18}};
  s.groups = "pool: 1 node(s), 1 group(s)\ngroup 'proxy': policy min\n";
  s.rules = ruleRows(twoRules(), {3, 0, 7});
  s.connections = {1, 5, 1, 2, 4, 9};
  s.kernelEvents = 11;
  s.nodes = {{"proxy", "a \"quoted\" node", "tcp4", true, true, 0.0125}, {"proxy", "b", "udp6", false, false, {}}};
  return s;
}

TEST(Status, TextFormat) {
  EXPECT_EQ(formatStatus(sample()),
            "dae-runtime: running, pid 42, up 1m15s\n"
            "program: generation 3, 2 rules + fallback, specialized back end, from /etc/dae/config.dae\n"
            "reloads: 2 ok, 1 failed\n"
            "  last failure: /etc/dae/config.dae:3:1: error: unknown outbound 'x'\n"
            "attached:\n"
            "  lan0  ingress  tcx        dae_lan_ingress  prog 17\n"
            "  wan0  egress   tc-filter  dae_wan_egress   prog 18\n"
            "subscriptions:\n"
            "  none\n"
            "groups:\n"
            "  pool: 1 node(s), 1 group(s)\n"
            "  group 'proxy': policy min\n"
            "rules: new flows since generation 3 was loaded\n"
            "  rule      hits  outbound  source                     text\n"
            "  #0        3     proxy     /etc/dae/config.dae:12     dip(198.18.1.10) && dport(80)\n"
            "  #1        0     block     /etc/dae/config.dae:14,15  dport(8080, 8443)\n"
            "  fallback  7     direct    /etc/dae/config.dae:16\n"
            "connections:\n"
            "  tcp: 1 active, 5 accepted, 1 failed\n"
            "  udp: 2 active sessions, 4 opened, 9 packets\n"
            "kernel events: 11 read\n");
}

TEST(Status, MetricsFormat) {
  std::string m = formatMetrics(sample());
  EXPECT_NE(m.find("# TYPE dae_rule_hits_total counter\n"), std::string::npos);
  EXPECT_NE(m.find("dae_rule_hits_total{rule=\"#0\",source=\"/etc/dae/config.dae:12\",outbound=\"proxy\"} 3\n"),
            std::string::npos);
  EXPECT_NE(m.find("dae_rule_hits_total{rule=\"fallback\",source=\"/etc/dae/config.dae:16\",outbound=\"direct\"} 7\n"),
            std::string::npos);
  EXPECT_NE(m.find("dae_reloads_total{result=\"failed\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("dae_program_generation 3\n"), std::string::npos);
  EXPECT_NE(m.find("dae_attached_programs{hook=\"ingress\",mode=\"tcx\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("dae_tcp_connections_active 1\n"), std::string::npos);
  EXPECT_NE(m.find("dae_udp_packets_total 9\n"), std::string::npos);
  // Label values are escaped; a node without a measurement has no latency sample.
  EXPECT_NE(m.find("dae_node_latency_seconds{group=\"proxy\",node=\"a \\\"quoted\\\" node\",kind=\"tcp4\"} 0.012500\n"),
            std::string::npos);
  EXPECT_EQ(m.find("dae_node_latency_seconds{group=\"proxy\",node=\"b\""), std::string::npos);
  EXPECT_NE(m.find("dae_node_alive{group=\"proxy\",node=\"b\",kind=\"udp6\"} 0\n"), std::string::npos);
  EXPECT_NE(m.find("dae_node_chosen{group=\"proxy\",node=\"a \\\"quoted\\\" node\",kind=\"tcp4\"} 1\n"),
            std::string::npos);
  // Every sample line belongs to a family declared before it.
  std::string family;
  size_t pos = 0;
  while (pos < m.size()) {
    size_t nl = m.find('\n', pos);
    std::string line = m.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
    } else if (line[0] != '#') {
      EXPECT_EQ(line.rfind(family, 0), 0u) << line;
    }
  }
}

}  // namespace
