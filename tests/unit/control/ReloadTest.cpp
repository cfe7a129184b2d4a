// The kernel side of a reload, with real programs attached: Datapath::prepare()
// and commit() on loopback of a private network namespace (unshare(CLONE_NEWNET):
// it exists only for this test process, and nothing outside it is touched). The
// programs are run with BPF_PROG_TEST_RUN, so no traffic is needed. Root only.
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <sstream>

#include "control/KernelEvents.h"
#include "dae/abi.h"
#include "datapath/Datapath.h"
#include "datapath/Packet.h"
#include "driver/Pipeline.h"

namespace {

using namespace dae;
using datapath::Packet;

loader::Artifact compile(const std::string& body, const std::string& lan = "lo") {
  driver::Compilation c(driver::PipelineOptions{});
  std::string text = "global {\n  lan_interface: " + lan + "\n" + body;
  bool ok = c.loadText("reload.dae", text, "/tmp") && c.check() && c.lower() && c.generate() && c.compile();
  std::ostringstream diags;
  c.diags.print(diags);
  if (!ok) throw std::runtime_error("test config does not compile:\n" + diags.str() + text);
  return loader::Artifact::fromBytes(c.object);
}

// Block 192.0.2.0/24; everything else direct.
const char* kBlock = R"(  log_level: debug
}
node { n: 'socks5://198.51.100.1:1080' }
group { proxy { policy: fixed(0) } }
routing {
  dip(192.0.2.0/24) -> block
  fallback: direct
}
)";
// 192.0.2.0/24 to a group now.
const char* kProxy = R"(  log_level: debug
}
node { n: 'socks5://198.51.100.1:1080' }
group { proxy { policy: fixed(0) } }
routing {
  dip(192.0.2.0/24) -> proxy
  fallback: direct
}
)";

int run(int progFd, const Packet& p) {
  std::vector<uint8_t> data = datapath::build(p);
  __sk_buff ctx{};
  std::vector<uint8_t> out(data.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(data.size()), .data_size_out = static_cast<uint32_t>(out.size()),
              .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = 1);
  if (bpf_prog_test_run_opts(progFd, &opts) != 0) throw std::runtime_error("BPF_PROG_TEST_RUN failed");
  return static_cast<int>(opts.retval);
}

Packet flow(const std::string& dst, uint16_t sport, uint8_t flags) {
  Packet p;
  p.src = "10.0.0.2";
  p.dst = dst;
  p.sport = sport;
  p.tcpFlags = flags;
  return p;
}

class Reload : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "attaching BPF programs needs root; CI runs as root";
    // A network namespace of this process alone: loopback is ours to attach to.
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    // Up, for the local-delivery route the datapath installs through it.
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    ASSERT_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ASSERT_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    close(s);
  }
  datapath::DatapathOptions options(const loader::Artifact& a) { return datapath::optionsFromConfig(a); }
};

TEST_F(Reload, EstablishedFlowsKeepTheirDecisionNewFlowsFollowTheNewRules) {
  loader::Artifact a = compile(kBlock), b = compile(kProxy);
  datapath::Datapath dp(a, options(a), 1);
  ASSERT_EQ(dp.attachments().size(), 1u);
  uint32_t idBefore = dp.attachments()[0].programId;
  int lanA = dp.object().programFd("dae_lan_ingress");
  EXPECT_EQ(run(lanA, flow("192.0.2.7", 40000, datapath::kTcpSyn)), TC_ACT_SHOT);
  EXPECT_EQ(run(lanA, flow("192.0.2.7", 40000, datapath::kTcpAck)), TC_ACT_SHOT);

  int conntrack = dp.stateMapFd("dae_conntrack");
  auto previous = dp.commit(dp.prepare(b, options(b), 2));
  ASSERT_NE(previous, nullptr);
  previous.reset();  // the old object is gone; its conntrack lives on in the new one
  EXPECT_EQ(dp.generation(), 2);
  EXPECT_EQ(dp.stateMapFd("dae_conntrack"), conntrack);
  ASSERT_EQ(dp.attachments().size(), 1u);
  EXPECT_NE(dp.attachments()[0].programId, idBefore);
  EXPECT_EQ(dp.attachments()[0].mode, "tcx");

  int lanB = dp.object().programFd("dae_lan_ingress");
  // The blocked connection stays blocked: its decision came from the old rules.
  EXPECT_EQ(run(lanB, flow("192.0.2.7", 40000, datapath::kTcpAck)), TC_ACT_SHOT);
  // A new connection follows the new rules: handed to the engine (which this test
  // has not started, so the hand-off itself fails and drops), its decision
  // published under generation 2.
  Packet fresh = flow("192.0.2.7", 40001, datapath::kTcpSyn);
  EXPECT_EQ(run(lanB, fresh), TC_ACT_SHOT);
  dae_tuple key = datapath::tupleOf(fresh);
  dae_flow_info info{};
  ASSERT_EQ(bpf_map_lookup_elem(dp.stateMapFd("dae_routing_result"), &key, &info), 0);
  EXPECT_EQ(info.generation, 2);
  EXPECT_EQ(info.res.outbound, DAE_OUTBOUND_FIRST_GROUP);
  // A connection the old program never saw, mid-stream: untouched.
  EXPECT_EQ(run(lanB, flow("192.0.2.7", 40002, datapath::kTcpAck)), TC_ACT_OK);
  // The rule counters are the new program's own.
  auto hits = loader::readRuleHits(dp.object().mapFd("dae_rule_hits"), b.meta.rule_count() + 1);
  EXPECT_EQ(hits[0], 1u);
}

TEST_F(Reload, KernelEventsReportDecisionsAndDrops) {
  loader::Artifact a = compile(kProxy);
  datapath::Datapath dp(a, options(a), 5);
  boost::asio::io_context io;
  std::vector<dae_event> events;
  control::KernelEvents reader(io.get_executor(), dp.stateMapFd("dae_events"),
                               [&](const dae_event& e) { events.push_back(e); });
  int lan = dp.object().programFd("dae_lan_ingress");
  EXPECT_EQ(run(lan, flow("192.0.2.9", 41000, datapath::kTcpSyn)), TC_ACT_SHOT);  // no engine listening
  EXPECT_EQ(run(lan, flow("203.0.113.1", 41001, datapath::kTcpSyn)), TC_ACT_OK);  // direct
  io.run_for(std::chrono::milliseconds(200));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, DAE_EVENT_NEW_FLOW);
  EXPECT_EQ(events[0].action, DAE_ACTION_HANDOFF);
  EXPECT_EQ(events[0].generation, 5);
  EXPECT_EQ(events[1].type, DAE_EVENT_DROP);
  EXPECT_EQ(events[1].reason, DAE_DROP_NO_LISTENER);
  EXPECT_EQ(events[2].action, DAE_ACTION_PASS);
  EXPECT_EQ(reader.count(), 3u);
  EXPECT_EQ(control::formatEvent(events[2], "reload.dae:9", "direct"),
            "kernel: new flow tcp 10.0.0.2:41001 -> 203.0.113.1:80 hook=lan rule=reload.dae:9 outbound=direct "
            "mark=0x0 action=pass");
  EXPECT_EQ(control::formatEvent(events[1], "", ""),
            "kernel: dropped tcp 10.0.0.2:41000 -> 192.0.2.9:80 hook=lan: no engine socket to hand it to");
}

TEST_F(Reload, NoEventsBelowDebug) {
  std::string quiet = kProxy;
  quiet.replace(quiet.find("debug"), 5, "info");
  loader::Artifact a = compile(quiet);
  datapath::Datapath dp(a, options(a), 1);
  boost::asio::io_context io;
  int seen = 0;
  control::KernelEvents reader(io.get_executor(), dp.stateMapFd("dae_events"), [&](const dae_event&) { ++seen; });
  run(dp.object().programFd("dae_lan_ingress"), flow("203.0.113.1", 41001, datapath::kTcpSyn));
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(seen, 0);
}

TEST_F(Reload, InterfacesAddedAndRemovedByAReload) {
  // A second interface in this process's namespace (the child inherits it).
  ASSERT_EQ(std::system("ip link add dae-test0 type veth peer name dae-test1 && ip link set dae-test0 up"), 0);
  loader::Artifact one = compile(kBlock);
  loader::Artifact two = compile(kBlock, "lo, dae-test0");
  datapath::Datapath dp(one, options(one), 1);
  ASSERT_EQ(dp.attachments().size(), 1u);
  dp.commit(dp.prepare(two, options(two), 2));
  auto attached = dp.attachments();
  ASSERT_EQ(attached.size(), 2u);
  EXPECT_EQ(attached[0].interface, "lo");
  EXPECT_EQ(attached[1].interface, "dae-test0");
  EXPECT_EQ(attached[0].programId, attached[1].programId) << "both run the new program";
  // The new interface decides with the shared state like the old one.
  int lan = dp.object().programFd("dae_lan_ingress");
  EXPECT_EQ(run(lan, flow("192.0.2.7", 42000, datapath::kTcpSyn)), TC_ACT_SHOT);
  dp.commit(dp.prepare(one, options(one), 3));
  attached = dp.attachments();
  ASSERT_EQ(attached.size(), 1u);
  EXPECT_EQ(attached[0].interface, "lo");
}

TEST_F(Reload, WhatAReloadCannotChangeIsRefusedAndNothingChanges) {
  loader::Artifact a = compile(kBlock);
  std::string other = kBlock;
  other.insert(0, "  tproxy_port: 12399\n");
  loader::Artifact b = compile(other);
  datapath::Datapath dp(a, options(a), 1);
  uint32_t id = dp.attachments()[0].programId;
  try {
    dp.prepare(b, options(b), 2);
    FAIL() << "prepare accepted a new tproxy_port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("a reload cannot change tproxy_port (12345 -> 12399)"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(dp.attachments()[0].programId, id);
  EXPECT_EQ(dp.generation(), 1);
}

TEST_F(Reload, IncompatibleMapsAreRefusedBeforeLoading) {
  loader::Artifact a = compile(kBlock);
  loader::BpfObject running(a);
  // dae_routing_result's fd in the place of dae_conntrack: the key sizes differ.
  loader::MapReuse reuse{{"dae_conntrack", running.mapFd("dae_routing_result")}};
  try {
    loader::BpfObject next(a, {}, reuse);
    FAIL() << "an incompatible map was taken over";
  } catch (const loader::LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("map dae_conntrack: key size 40 in the running program, 44 in the new one"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(Reload, DomainAnswersAreKeptOnlyWhileTheDomainSetsAreTheSame) {
  const char* domains = R"(}
routing {
  domain(suffix: example.com) -> block
  fallback: direct
}
)";
  const char* otherDomains = R"(}
routing {
  domain(suffix: example.org) -> block
  fallback: direct
}
)";
  loader::Artifact a = compile(domains), same = compile(domains), other = compile(otherDomains);
  datapath::Datapath dp(a, options(a), 1);
  dae_ip ip{};
  ip.addr[2] = htonl(0xffff);
  ip.addr[3] = inet_addr("192.0.2.80");
  uint32_t bits = 1;
  ASSERT_EQ(bpf_map_update_elem(dp.object().mapFd("dae_domain_map"), &ip, &bits, BPF_ANY), 0);
  dp.commit(dp.prepare(same, options(same), 2));
  uint32_t read = 0;
  EXPECT_EQ(bpf_map_lookup_elem(dp.object().mapFd("dae_domain_map"), &ip, &read), 0);
  EXPECT_EQ(read, 1u);
  dp.commit(dp.prepare(other, options(other), 3));
  EXPECT_NE(bpf_map_lookup_elem(dp.object().mapFd("dae_domain_map"), &ip, &read), 0)
      << "bit 0 meant example.com; under the new rules it would mean example.org";
}

}  // namespace
