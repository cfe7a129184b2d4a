// The prebuilt skeleton linked to a hand-written router, compiled in-process,
// loaded through the kernel's verifier and run with BPF_PROG_TEST_RUN. Nothing
// is attached to any interface.
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "BpfObject.h"
#include "datapath/Packet.h"
#include "TestRules.h"
#include "driver/Program.h"

namespace {

using namespace dae::test;
using namespace dae::datapath;

const std::vector<char>& testObject() {
  static const std::vector<char> obj = [] {
    auto r = dae::driver::compileProgram(kTestRules, dae::driver::SkeletonFeatures{});
    if (!r.ok) throw std::runtime_error("test rules do not compile:\n" + r.diagnostics);
    return r.object;
  }();
  return obj;
}

class DatapathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0)
      GTEST_SKIP() << "loading BPF programs needs root (CAP_BPF + CAP_NET_ADMIN); CI runs as root";
    // A fresh object per test: maps (conntrack above all) start empty.
    obj_.emplace(BpfObject::openMem(testObject(), "rules"));
    obj_->load();
    lan_ = obj_->progFd("dae_lan_ingress");
    wan_ = obj_->progFd("dae_wan_egress");
  }

  std::optional<dae_flow_info> routingResult(const Packet& p) {
    dae_flow_info info{};
    if (!mapLookup(obj_->mapFd("dae_routing_result"), tupleOf(p), info)) return std::nullopt;
    return info;
  }

  std::optional<dae_ct_entry> conntrack(const Packet& p, uint32_t hook) {
    dae_ct_key key{};
    key.tuple = tupleOf(p);
    key.hook = hook;
    dae_ct_entry e{};
    if (!mapLookup(obj_->mapFd("dae_conntrack"), key, e)) return std::nullopt;
    return e;
  }

  uint64_t hits(uint32_t rule) { return perCpuSum(obj_->mapFd("dae_rule_hits"), rule); }

  int lan(const Packet& p, uint32_t markIn = 0) { return runTc(lan_, build(p), markIn).retval; }

  std::optional<BpfObject> obj_;
  int lan_ = -1;
  int wan_ = -1;
};

TEST_F(DatapathTest, AllProgramsPassTheVerifier) {
  for (const char* name : {"dae_lan_ingress", "dae_wan_egress", "dae_lan_ingress_l3",
                           "dae_wan_egress_l3", "dae_sock_create", "dae_sock_release",
                           "dae_sock_connect4", "dae_sock_connect6", "dae_sock_sendmsg4",
                           "dae_sock_sendmsg6"})
    EXPECT_GE(obj_->progFd(name), 0) << name;
  for (const char* name : {"dae_conntrack", "dae_routing_result", "dae_domain_map", "dae_sock_pname",
                           "dae_rule_hits", "dae_params"})
    EXPECT_GE(obj_->mapFd(name), 0) << name;
  EXPECT_EQ(bpf_map__max_entries(obj_->map("dae_rule_hits")), kRuleCount);
}

TEST_F(DatapathTest, Ipv4TcpBlockedPort) {
  Packet p;
  p.dport = 443;
  EXPECT_EQ(lan(p), TC_ACT_SHOT);
  auto ct = conntrack(p, DAE_HOOK_LAN_INGRESS);
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->action, DAE_ACTION_DROP);
  EXPECT_EQ(ct->res.outbound, DAE_OUTBOUND_BLOCK);
  EXPECT_EQ(ct->res.rule_index, kRuleBlock443);
  EXPECT_EQ(hits(kRuleBlock443), 1u);
  EXPECT_FALSE(routingResult(p)) << "only flows handed to userspace are published";

  // Later packets of the flow are dropped from the cache, not routed again.
  p.tcpFlags = kTcpAck;
  EXPECT_EQ(lan(p), TC_ACT_SHOT);
  EXPECT_EQ(hits(kRuleBlock443), 1u);
}

TEST_F(DatapathTest, Ipv4TcpProxiedFlowIsPublished) {
  Packet p;
  p.dport = 80;
  p.dscp = 46;
  auto run = runTc(lan_, build(p));
  EXPECT_EQ(run.retval, TC_ACT_OK);
  EXPECT_EQ(run.markOut, 0u) << "a proxied flow is not marked in the kernel";
  auto info = routingResult(p);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->res.outbound, 2);
  EXPECT_EQ(info->res.mark, 0x10u);
  EXPECT_EQ(info->res.rule_index, kRuleProxy80);
  EXPECT_EQ(info->res.must, 0);
  EXPECT_EQ(info->flags, DAE_FLOW_F_PROXY);
  EXPECT_EQ(info->hook, DAE_HOOK_LAN_INGRESS);
  EXPECT_EQ(info->dscp, 46);
  EXPECT_EQ(std::memcmp(info->mac, p.srcMac.data(), 6), 0);
  EXPECT_EQ(hits(kRuleProxy80), 1u);
  EXPECT_EQ(hits(kRuleBlock443), 0u);
}

TEST_F(DatapathTest, Ipv4TcpDirectAndDirectWithMark) {
  Packet p;
  p.dport = 22;
  auto run = runTc(lan_, build(p));
  EXPECT_EQ(run.retval, TC_ACT_OK);
  EXPECT_EQ(run.markOut, 0u);
  EXPECT_FALSE(routingResult(p));
  EXPECT_EQ(hits(kRuleFallback), 1u);

  Packet m;
  m.dport = 8080;
  run = runTc(lan_, build(m));
  EXPECT_EQ(run.retval, TC_ACT_OK);
  EXPECT_EQ(run.markOut, 0x20u) << "direct(mark) at LAN sets skb->mark";
  m.tcpFlags = kTcpAck;
  EXPECT_EQ(runTc(lan_, build(m)).markOut, 0x20u) << "and so does every later packet";
  EXPECT_EQ(hits(kRuleDirectMark8080), 1u);
}

TEST_F(DatapathTest, MidStreamTcpWithoutStateIsUntouched) {
  Packet p;
  p.dport = 443;
  p.tcpFlags = kTcpAck;
  EXPECT_EQ(lan(p), TC_ACT_OK);
  EXPECT_FALSE(conntrack(p, DAE_HOOK_LAN_INGRESS));
  EXPECT_EQ(hits(kRuleBlock443), 0u);
}

TEST_F(DatapathTest, Ipv6UdpWithExtensionHeaders) {
  Packet p;
  p.ipversion = 6;
  p.l4proto = kUdp;
  p.src = "2001:db8::1";
  p.dst = "2001:db8:ffff::2";
  p.dport = 443;
  EXPECT_EQ(lan(p), TC_ACT_SHOT);

  Packet q = p;
  q.sport = 40001;
  q.dport = 80;
  q.ipv6Ext = {0 /* hop-by-hop */, 60 /* dest opts */, 43 /* routing */, 44 /* fragment */};
  EXPECT_EQ(lan(q), TC_ACT_OK);
  auto info = routingResult(q);
  ASSERT_TRUE(info) << "the L4 header behind four extension headers was not found";
  EXPECT_EQ(info->res.outbound, 2);

  // UDP packets after the first use the cache.
  EXPECT_EQ(lan(p), TC_ACT_SHOT);
  EXPECT_EQ(hits(kRuleBlock443), 1u);
  EXPECT_EQ(hits(kRuleProxy80), 1u);
}

TEST_F(DatapathTest, VlanTaggedPackets) {
  Packet p;
  p.vlanTpids = {0x8100};
  p.dport = 443;
  EXPECT_EQ(lan(p), TC_ACT_SHOT);

  Packet q;
  q.vlanTpids = {0x88A8, 0x8100};  // QinQ
  q.ipversion = 6;
  q.l4proto = kUdp;
  q.src = "fd00:dae::10";
  q.dst = "fd00:dae::20";
  q.dport = 80;
  EXPECT_EQ(lan(q), TC_ACT_OK);
  ASSERT_TRUE(routingResult(q));
  EXPECT_EQ(routingResult(q)->res.rule_index, kRuleProxy80);
}

TEST_F(DatapathTest, NonIpAndNonTcpUdpPass) {
  Packet arp;
  arp.etherType = 0x0806;
  EXPECT_EQ(lan(arp), TC_ACT_OK);
  Packet icmp;
  icmp.l4proto = 1;
  icmp.dport = 443;  // ICMP has no ports; the builder's bytes must be ignored
  EXPECT_EQ(lan(icmp), TC_ACT_OK);
  for (uint32_t r = 0; r < kRuleCount; r++) EXPECT_EQ(hits(r), 0u) << r;
}

TEST_F(DatapathTest, RuntimeOwnPacketsPassUntouched) {
  dae_params params{};
  params.so_mark_from_dae = 0x800;
  params.tproxy_port = 12345;
  mapUpdate(obj_->mapFd("dae_params"), uint32_t{0}, params);
  Packet p;
  p.dport = 443;
  EXPECT_EQ(lan(p, 0x800), TC_ACT_OK);
  EXPECT_FALSE(conntrack(p, DAE_HOOK_LAN_INGRESS));
  EXPECT_EQ(lan(p, 0), TC_ACT_SHOT) << "other marks are routed as usual";
}

TEST_F(DatapathTest, DnsWithoutMustGoesToUserspace) {
  Packet p;
  p.l4proto = kUdp;
  p.dport = 53;
  EXPECT_EQ(lan(p), TC_ACT_OK);
  auto info = routingResult(p);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->flags & DAE_FLOW_F_DNS, DAE_FLOW_F_DNS);
  EXPECT_EQ(info->res.rule_index, kRuleFallback);
}

TEST_F(DatapathTest, DomainBitmapFromDnsAnswers) {
  Packet p;
  p.dport = 8443;
  p.dst = "203.0.113.9";
  dae_ip ip{};
  auto a = mappedAddr(p.dst);
  std::memcpy(ip.addr, a.data(), 16);
  dae_domain_bitmap bm{};
  bm.words[0] = 1;
  mapUpdate(obj_->mapFd("dae_domain_map"), ip, bm);
  EXPECT_EQ(lan(p), TC_ACT_OK);
  auto info = routingResult(p);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->res.outbound, 4);
  EXPECT_EQ(info->res.rule_index, kRuleDomain0);
}

TEST_F(DatapathTest, WanPnameInjectedThroughCookieZero) {
  Packet p;
  p.dport = 9000;
  // No entry yet: the fallback rule.
  EXPECT_EQ(runTc(wan_, build(p)).retval, TC_ACT_OK);
  EXPECT_EQ(conntrack(p, DAE_HOOK_WAN_EGRESS)->res.rule_index, kRuleFallback);

  dae_sock_info si{};
  std::strncpy(si.pname, "curl", sizeof(si.pname));
  si.pid = 4242;
  mapUpdate(obj_->mapFd("dae_sock_pname"), uint64_t{0}, si);
  Packet q = p;
  q.sport = 40002;
  EXPECT_EQ(runTc(wan_, build(q)).retval, TC_ACT_OK);
  auto info = routingResult(q);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->res.outbound, 3);
  EXPECT_EQ(info->res.rule_index, kRulePnameCurl);
  EXPECT_STREQ(info->pname, "curl");
  EXPECT_EQ(info->pid, 4242u);
  EXPECT_EQ(info->hook, DAE_HOOK_WAN_EGRESS);

  // pname() means nothing at LAN ingress.
  Packet l = q;
  l.sport = 40003;
  EXPECT_EQ(lan(l), TC_ACT_OK);
  EXPECT_EQ(conntrack(l, DAE_HOOK_LAN_INGRESS)->res.rule_index, kRuleFallback);
}

TEST_F(DatapathTest, WanDirectWithMarkIsDialledByTheRuntime) {
  Packet p;
  p.dport = 8080;
  auto run = runTc(wan_, build(p));
  EXPECT_EQ(run.retval, TC_ACT_OK);
  auto info = routingResult(p);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->res.outbound, DAE_OUTBOUND_DIRECT);
  EXPECT_EQ(info->flags, DAE_FLOW_F_MARK_DIAL);
}

TEST_F(DatapathTest, HooksTrackFlowsSeparately) {
  Packet p;
  p.dport = 443;
  EXPECT_EQ(lan(p), TC_ACT_SHOT);
  EXPECT_TRUE(conntrack(p, DAE_HOOK_LAN_INGRESS));
  EXPECT_FALSE(conntrack(p, DAE_HOOK_WAN_EGRESS));
  EXPECT_EQ(runTc(wan_, build(p)).retval, TC_ACT_SHOT);
  EXPECT_TRUE(conntrack(p, DAE_HOOK_WAN_EGRESS));
  EXPECT_EQ(hits(kRuleBlock443), 2u);
}

}  // namespace
