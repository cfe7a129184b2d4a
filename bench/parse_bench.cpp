// bench_parse: wall time and peak memory of the front end (parse + check) on a
// generated, realistic config with many routing rules.
//
//   bench_parse [--rules N] [--runs R] [--baseline N] [--write FILE]
//
// Prints one line per size and the scaling between them, with PASS/MISS next to each
// target; always exits 0 (a benchmark reports, it does not fail the build). Time is
// the median wall time of R in-process runs (CPU time is shown too: on a busy machine
// it is the steadier figure); peak RSS is measured in a fresh child process
// (this executable re-run with --measure-rss) that parses and checks once, so no
// earlier run's heap is counted.
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/Loader.h"
#include "sema/Checker.h"

namespace {

constexpr double kTargetSeconds = 1.0;    // for 10,000 rules
constexpr double kTargetRssMb = 200.0;    // for 10,000 rules
constexpr size_t kTargetRules = 10000;

// A small deterministic generator (the same config on every machine and libc).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <typename T, size_t N>
  const T& pick(const T (&a)[N]) { return a[below(N)]; }

 private:
  uint64_t s_;
};

const char* kWords[] = {"cloud", "video", "shop", "news", "mail", "game", "cdn", "static", "api", "img",
                        "music", "search", "social", "bank", "pay", "docs", "code", "chat", "live", "maps"};
const char* kTlds[] = {"com", "net", "org", "io", "cn", "jp", "co.uk", "de", "hk", "tv"};
const char* kGeosite[] = {"cn", "category-ads-all", "geolocation-!cn", "google", "netflix", "apple", "github"};
const char* kGeoip[] = {"cn", "private", "jp", "us", "hk", "telegram"};
const char* kProcs[] = {"curl", "wget", "firefox", "chrome", "telegram-deskto", "steam", "NetworkManager",
                        "systemd-resolve", "dnsmasq", "qbittorrent", "ssh", "git"};
const char* kGroups[] = {"proxy", "hk", "jp", "us", "sg", "media"};

std::string domain(Rng& r) {
  return std::string(r.pick(kWords)) + std::to_string(r.below(5000)) + "." + r.pick(kWords) + "." + r.pick(kTlds);
}

std::string cidr4(Rng& r) {
  static const int prefixes[] = {8, 12, 16, 20, 24, 24, 24, 28, 32};
  int p = prefixes[r.below(9)];
  uint32_t a = static_cast<uint32_t>(r.next());
  if (p < 32) a &= ~((1u << (32 - p)) - 1);
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) +
         "." + std::to_string(a & 255) + (p == 32 ? "" : "/" + std::to_string(p));
}

std::string cidr6(Rng& r) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "'2001:%x:%x::/48'", static_cast<unsigned>(r.below(0xffff)),
                static_cast<unsigned>(r.below(0xffff)));
  return buf;
}

std::string ports(Rng& r) {
  static const char* common[] = {"80", "443", "22", "53", "853", "8080", "3478", "5060", "6881-6889", "10000-20000"};
  if (r.chance(60)) return common[r.below(10)];
  unsigned lo = 1024 + static_cast<unsigned>(r.below(60000));
  return r.chance(50) ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(lo + r.below(400));
}

std::string mac(Rng& r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "'02:42:%02x:%02x:%02x:%02x'", static_cast<unsigned>(r.below(256)),
                static_cast<unsigned>(r.below(256)), static_cast<unsigned>(r.below(256)),
                static_cast<unsigned>(r.below(256)));
  return buf;
}

// One routing function call with 1..4 arguments.
std::string call(Rng& r) {
  size_t kind = r.below(100);
  size_t args = 1 + (r.chance(40) ? r.below(4) : 0);
  std::string name, out;
  auto list = [&](auto gen) {
    std::string s;
    for (size_t i = 0; i < args; ++i) s += (i ? ", " : "") + gen();
    return s;
  };
  if (kind < 40) {
    name = "domain";
    out = list([&] {
      switch (r.below(6)) {
        case 0: return "full: " + domain(r);
        case 1: return "keyword: " + std::string(r.pick(kWords)) + std::to_string(r.below(100));
        case 2: return "geosite: " + std::string(r.pick(kGeosite));
        case 3: return std::string("regex: '^(.+\\.)?") + r.pick(kWords) + "[0-9]+\\." + r.pick(kTlds) + "$'";
        default: return "suffix: " + domain(r);
      }
    });
  } else if (kind < 62) {
    name = "dip";
    out = list([&] { return r.chance(15) ? "geoip: " + std::string(r.pick(kGeoip)) : r.chance(20) ? cidr6(r) : cidr4(r); });
  } else if (kind < 70) {
    name = "sip";
    out = list([&] { return "192.168." + std::to_string(r.below(256)) + ".0/24"; });
  } else if (kind < 82) {
    name = r.chance(85) ? "dport" : "sport";
    out = list([&] { return ports(r); });
  } else if (kind < 88) {
    name = "pname";
    out = list([&] { return std::string(r.pick(kProcs)); });
  } else if (kind < 93) {
    name = "mac";
    out = list([&] { return mac(r); });
  } else if (kind < 98) {
    name = "l4proto";
    out = r.chance(50) ? "tcp" : "udp";
  } else {
    name = "ipversion";
    out = r.chance(50) ? "4" : "6";
  }
  return (r.chance(12) ? "!" : "") + name + "(" + out + ")";
}

std::string outbound(Rng& r) {
  size_t k = r.below(100);
  if (k < 30) return "direct";
  if (k < 40) return "block";
  if (k < 44) return "must_direct";
  if (k < 48) return "direct(mark: 0x" + std::to_string(100 + r.below(900)) + ")";
  if (k < 52) return std::string(r.pick(kGroups)) + "(must)";
  return r.pick(kGroups);
}

std::string generateConfig(size_t rules) {
  Rng r(0x5eed0dae + rules);
  std::string out;
  out.reserve(rules * 110 + 8192);
  out += R"(# Generated by bench_parse: a large but realistic dae config.
global {
  tproxy_port: 12345
  tproxy_port_protect: true
  so_mark_from_dae: 0
  log_level: info
  tcp_check_url: 'http://cp.cloudflare.com,1.1.1.1,2606:4700:4700::1111'
  udp_check_dns: 'dns.google:53,8.8.8.8,2001:4860:4860::8888'
  check_interval: 30s
  check_tolerance: 50ms
  lan_interface: docker0, br-lan
  wan_interface: auto
  allow_insecure: false
  dial_mode: domain
  auto_config_kernel_parameter: true
  sniffing_timeout: 100ms
  bandwidth_max_tx: '200 mbps'
  bandwidth_max_rx: '1 gbps'
}

subscription {
  my_sub: 'https://example.com/subscription/link'
  'file://local_sub.sub'
}

node {
)";
  static const char* regions[] = {"HK", "JP", "US", "SG", "TW", "DE"};
  for (int i = 0; i < 24; ++i)
    out += "  node" + std::to_string(i) + ": 'socks5://user:pass@10.1." + std::to_string(i) + ".1:1080#" +
           regions[i % 6] + "-" + std::to_string(i) + "'\n";
  out += R"(}

dns {
  ipversion_prefer: 4
  fixed_domain_ttl {
    ddns.example.org: 10
    test.example.org: 3600
  }
  upstream {
    googledns: 'tcp+udp://dns.google:53'
    alidns: 'udp://223.5.5.5:53'
    cfdoh: 'https://cloudflare-dns.com/dns-query'
  }
  routing {
    request {
      qname(geosite:category-ads-all) -> reject
      qname(geosite:google@cn) -> alidns
      qname(suffix: lan, full: localhost) -> alidns
      qtype(aaaa) && qname(geosite:cn) -> alidns
      fallback: googledns
    }
    response {
      upstream(googledns) -> accept
      ip(geoip:private) && !qname(geosite:cn) -> googledns
      fallback: accept
    }
  }
}

group {
  proxy {
    filter: name(keyword: HK, keyword: JP) [add_latency: -300ms]
    filter: subtag(my_sub) && !name(keyword: 'DE')
    policy: min_moving_avg
  }
  hk { filter: name(keyword: HK)
       policy: min_avg10 }
  jp { filter: name(regex: '^JP-[0-9]+$')
       policy: min }
  us { filter: name(keyword: US)
       policy: random }
  sg { filter: name(keyword: SG)
       policy: fixed(0) }
  media { filter: name(node0, node1, node2)
          policy: min_moving_avg
          check_interval: 1m }
}

routing {
  pname(NetworkManager, systemd-resolved, dnsmasq) -> must_direct
  dip(224.0.0.0/3, 'ff00::/8') -> direct
  dip(geoip:private) -> direct
  l4proto(udp) && dport(443) -> block
)";
  for (size_t i = 0; i < rules; ++i) {
    out += "  ";
    size_t conj = 1 + (r.chance(35) ? 1 + r.below(2) : 0);
    for (size_t c = 0; c < conj; ++c) out += (c ? " && " : "") + call(r);
    out += " -> " + outbound(r) + "\n";
  }
  out += "  fallback: proxy\n}\n";
  return out;
}

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct RunResult {
  double parseSeconds = 0, checkSeconds = 0, cpu = 0;
  size_t errors = 0, rules = 0;
  std::string firstDiagnostics;
};

RunResult parseAndCheck(const std::string& text) {
  using Clock = std::chrono::steady_clock;
  RunResult res;
  dae::frontend::SourceManager sources;
  dae::frontend::DiagnosticEngine diags(sources);
  double c0 = cpuSeconds();
  auto t0 = Clock::now();
  dae::ast::Config ast = dae::frontend::loadConfigText("bench.dae", text, sources, diags);
  auto t1 = Clock::now();
  dae::sema::Config model = dae::sema::check(ast, diags);
  auto t2 = Clock::now();
  res.cpu = cpuSeconds() - c0;
  res.parseSeconds = std::chrono::duration<double>(t1 - t0).count();
  res.checkSeconds = std::chrono::duration<double>(t2 - t1).count();
  res.errors = diags.errorCount();
  res.rules = model.routing.rules.size();
  if (res.errors) {
    std::ostringstream o;
    for (size_t i = 0; i < diags.all().size() && i < 5; ++i) o << diags.format(diags.all()[i]);
    res.firstDiagnostics = o.str();
  }
  return res;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double maxRssMb(const rusage& ru) { return static_cast<double>(ru.ru_maxrss) / 1024.0; }  // ru_maxrss is KiB

// Runs this executable again as `--measure-rss N`: a fresh process that generates the
// config, parses and checks it once and exits. Returns the child's peak RSS in MB
// (as reported by wait4), or a negative number if that failed.
double childPeakRssMb(size_t rules) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::string n = std::to_string(rules);
    execl("/proc/self/exe", "bench_parse", "--measure-rss", n.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return maxRssMb(ru);
}

struct Row {
  size_t rules = 0;
  size_t bytes = 0;
  double seconds = 0, parse = 0, check = 0, cpu = 0, rssMb = 0;
};

Row measure(size_t rules, int runs) {
  Row row;
  row.rules = rules;
  std::string text = generateConfig(rules);
  row.bytes = text.size();
  std::vector<double> total, parse, check, cpu;
  for (int i = 0; i < runs; ++i) {
    RunResult r = parseAndCheck(text);
    if (i == 0 && (r.errors || r.rules != rules + 4)) {
      std::cerr << "bench_parse: warning: the generated config has " << r.errors << " error(s) and " << r.rules
                << " rules (expected " << rules + 4 << "):\n"
                << r.firstDiagnostics;
    }
    total.push_back(r.parseSeconds + r.checkSeconds);
    parse.push_back(r.parseSeconds);
    check.push_back(r.checkSeconds);
    cpu.push_back(r.cpu);
  }
  row.cpu = median(cpu);
  row.seconds = median(total);
  row.parse = median(parse);
  row.check = median(check);
  row.rssMb = childPeakRssMb(rules);
  return row;
}

const char* verdict(bool ok) { return ok ? "PASS" : "MISS"; }

}  // namespace

int main(int argc, char** argv) {
  size_t rules = kTargetRules, baseline = 1000;
  int runs = 5;
  std::string writePath;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "bench_parse: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--measure-rss") {
      // The child of childPeakRssMb: one run, nothing printed.
      std::string text = generateConfig(std::stoul(value()));
      RunResult r = parseAndCheck(text);
      return r.rules ? 0 : 1;
    } else if (a == "--rules") {
      rules = std::stoul(value());
    } else if (a == "--baseline") {
      baseline = std::stoul(value());
    } else if (a == "--runs") {
      runs = std::max(1, std::stoi(value()));
    } else if (a == "--write") {
      writePath = value();
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: bench_parse [--rules N] [--baseline N] [--runs R] [--write FILE]\n";
      return 0;
    } else {
      std::cerr << "bench_parse: unknown argument '" << a << "'\n";
      return 2;
    }
  }
  if (!writePath.empty()) {
    std::ofstream(writePath, std::ios::binary) << generateConfig(rules);
    std::cout << "wrote the " << rules << "-rule config to " << writePath << "\n";
  }

  auto print = [&](const Row& row, bool targets) {
    std::printf("parse+check %zu rules: %.3f s", row.rules, row.seconds);
    if (targets) std::printf(" (target < %.0f s) %s", kTargetSeconds, verdict(row.seconds < kTargetSeconds));
    std::printf(", peak RSS %.0f MB", row.rssMb);
    if (targets) std::printf(" (target < %.0f MB) %s", kTargetRssMb, verdict(row.rssMb >= 0 && row.rssMb < kTargetRssMb));
    std::printf("   [median of %d: parse %.3f s + check %.3f s, CPU %.3f s; %.2f MB of text]\n", runs, row.parse,
                row.check, row.cpu, static_cast<double>(row.bytes) / 1e6);
  };

  Row base = measure(baseline, runs);
  print(base, false);
  Row main = measure(rules, runs);
  print(main, rules == kTargetRules);
  std::printf("ratio %zu/%zu rules: time x%.1f, peak RSS x%.1f (linear would be x%.1f)\n", rules, baseline,
              main.seconds / base.seconds, main.rssMb / base.rssMb,
              static_cast<double>(rules) / static_cast<double>(baseline));
  std::fflush(stdout);
  return 0;
}
