// bench_route: nanoseconds per routing decision of a compiled rules.o, measured by
// the kernel itself with BPF_PROG_TEST_RUN (.repeat = N): the program runs N times
// on the same packet and the kernel reports the average duration of one run.
//
//   bench_route --program rules.o [--spec 'SPEC'] [--repeat N] [--trials T] [--min-time S]
//
// SPEC is the `dae-runtime --route` syntax (tcp|udp SRC:PORT -> DST:PORT [mac=..]
// [dscp=N] [hook=lan|wan]); the packet is always sent as a TCP SYN (or a UDP
// datagram), which the datapath routes afresh on every repetition: parse,
// conntrack lookup, dae_route(), conntrack store, hit counter. A program whose
// only rule is the fallback measures that fixed overhead.
//
// Output, one line, key=value:
//   ns=MEDIAN min=MIN max=MAX repeat=N trials=T rule=INDEX|fallback backend=KIND rules=R
// `ns` is the median over the trials of the kernel's average per run, `min` the best
// trial. At least T trials run, more (up to 100) until S seconds have passed: on a
// busy machine more chances for an undisturbed trial. `rule` says which
// rule decided the packet (read back from dae_conntrack), so a caller can check that
// the packet really took the path it meant to measure. Exit 0 ok, 1 a failure
// (not root, load error, bad SPEC), 2 usage.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "datapath/Packet.h"
#include "datapath/RouteTester.h"
#include "loader/Loader.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: bench_route --program rules.o [--spec 'SPEC'] [--repeat N] [--trials T]\n"
         "  --spec SPEC   the packet (default 'tcp 198.51.100.1:40000 -> 203.0.113.1:443')\n"
         "  --repeat N    BPF_PROG_TEST_RUN repetitions per trial (default 100000, max 10000000)\n"
         "  --trials T    at least T trials (default 5, max 100)\n"
         "  --min-time S  keep running trials (up to 100) until S seconds have passed (default 0)\n";
}

unsigned long parseCount(const std::string& flag, const std::string& text, unsigned long max, unsigned long min = 1) {
  char* end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(text.c_str(), &end, 10);
  if (errno || !end || *end || text.empty() || v < min || v > max)
    throw std::invalid_argument(flag + ": expected " + std::to_string(min) + ".." + std::to_string(max) + ", got '" + text + "'");
  return v;
}

int run(int argc, char** argv) {
  std::string program, specText = "tcp 198.51.100.1:40000 -> 203.0.113.1:443";
  unsigned long repeat = 100000, trials = 5, minTime = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else if (a == "--program") program = value();
    else if (a == "--spec") specText = value();
    else if (a == "--repeat") repeat = parseCount(a, value(), 10000000);
    else if (a == "--trials") trials = parseCount(a, value(), 100);
    else if (a == "--min-time") minTime = parseCount(a, value(), 60, 0);
    else {
      std::cerr << "bench_route: error: unknown argument '" << a << "'\n";
      usage(std::cerr);
      return 2;
    }
  }
  if (program.empty()) {
    usage(std::cerr);
    return 2;
  }
  if (geteuid() != 0) {
    std::cerr << "bench_route: error: BPF_PROG_TEST_RUN needs root\n";
    return 1;
  }

  auto spec = dae::datapath::parseRouteSpec(specText);
  if (!spec.pname.empty() || !spec.domain.empty())
    throw std::invalid_argument("pname= and domain= are not supported here (no context is injected)");

  auto artifact = dae::loader::Artifact::fromFile(program);
  const char* progName = spec.wan ? "dae_wan_egress" : "dae_lan_ingress";
  dae::loader::BpfObject object(artifact, {progName});
  int progFd = object.programFd(progName);

  dae::datapath::Packet p;
  p.l4proto = spec.l4proto;
  p.ipversion = spec.src.find(':') != std::string::npos ? 6 : 4;
  p.src = spec.src;
  p.dst = spec.dst;
  p.sport = spec.sport;
  p.dport = spec.dport;
  p.dscp = spec.dscp;
  p.tcpFlags = dae::datapath::kTcpSyn;  // a new flow on every repetition
  p.srcMac = spec.mac.value_or(std::array<uint8_t, 6>{});
  std::vector<uint8_t> frame = dae::datapath::build(p);

  // One warm-up run (also checks the program runs at all), then the trials.
  std::vector<double> ns;
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  for (unsigned long t = 0; t <= trials || (t <= 100 && elapsed() < static_cast<double>(minTime)); ++t) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = static_cast<uint32_t>(frame.size()),
                .repeat = static_cast<int>(t == 0 ? 1000 : repeat));
    if (bpf_prog_test_run_opts(progFd, &opts) != 0)
      throw std::runtime_error(std::string("BPF_PROG_TEST_RUN failed: ") + std::strerror(errno));
    if (t > 0) ns.push_back(static_cast<double>(opts.duration));
  }
  // The kernel reports the average of one run in whole nanoseconds.
  std::sort(ns.begin(), ns.end());
  double median = ns.size() % 2 ? ns[ns.size() / 2] : (ns[ns.size() / 2 - 1] + ns[ns.size() / 2]) / 2;

  // Which rule decided the packet: the program cached it in dae_conntrack.
  std::string rule = "?";
  dae_ct_key key{};
  key.tuple = dae::datapath::tupleOf(p);
  key.hook = spec.wan ? DAE_HOOK_WAN_EGRESS : DAE_HOOK_LAN_INGRESS;
  dae_ct_entry entry{};
  int ctFd = object.mapFd("dae_conntrack");
  if (ctFd >= 0 && bpf_map_lookup_elem(ctFd, &key, &entry) == 0) {
    uint32_t idx = entry.res.rule_index;
    rule = idx >= artifact.meta.rule_count() ? std::string("fallback") : std::to_string(idx);
  }

  std::printf("ns=%.1f min=%.1f max=%.1f repeat=%lu trials=%zu rule=%s backend=%s rules=%u\n", median, ns.front(),
              ns.back(), repeat, ns.size(), rule.c_str(), artifact.meta.backend().c_str(), artifact.meta.rule_count());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const dae::loader::LoadError& e) {
    std::cerr << "bench_route: error: " << e.what() << '\n';
    if (!e.log().empty()) std::cerr << e.log() << '\n';
    return 1;
  } catch (const std::invalid_argument& e) {
    std::cerr << "bench_route: error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "bench_route: error: " << e.what() << '\n';
    return 1;
  }
}
