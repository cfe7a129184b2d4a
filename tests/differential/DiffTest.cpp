// Differential test of the code generators: random rule sets and random packets;
// the real kernel program's answer (BPF_PROG_TEST_RUN through dae-runtime's
// RouteTester), in both back ends, must equal the reference evaluator's answer on
// the unoptimised IR. The reference (ir::evaluate) is written from the language's
// rules, independently of the code generators, and domains are matched here by a
// separate implementation. The random sets of networks come in the shapes the
// specialised back end stores differently (hosts only, one prefix length, hosts
// and networks mixed, IPv4, IPv6 or both, merged runs of one-network rules), and a
// program with a large set is also run with each form of such sets forced in turn.
//
//   dae-difftest [--seed N]... [--fresh] [--programs N] [--packets N]
// Ends with "N passed, M failed" (one test = one program in one back end or form).
#include <arpa/inet.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "datapath/RouteTester.h"
#include "driver/Pipeline.h"
#include "ir/Lower.h"
#include "ir/Passes.h"
#include "sema/Values.h"

namespace {

using Rng = std::mt19937_64;

struct Pools {
  std::vector<std::string> macs = {"02:00:00:00:00:01", "02:00:00:00:00:02", "02:42:ac:11:00:02", "aa:bb:cc:dd:ee:ff"};
  std::vector<std::string> pnames = {"curl", "wget", "NetworkManager", "dnsmasq", "systemd-resolve", "ssh"};
  // Names and patterns in upper case and with a final dot too: names are matched
  // lower-cased without it, suffix:/full: patterns normalised alike, keyword: keeps dots.
  std::vector<std::string> domains = {"example.com", "www.example.com", "a.b.example.org", "google.com",
                                      "mail.google.com", "ads.tracker.net", "test.lab", "cdn.example.net",
                                      "Mail.Google.COM.", "goo.gl"};
  std::vector<std::string> suffixes = {"example.com", "google.com", "example.org", "net", "lab", "Example.ORG."};
  std::vector<std::string> keywords = {"goo", "ads", "example", "cdn", "goo."};
  std::vector<std::string> regexes = {"^mail\\.", "tracker\\.net$", "^a\\.b\\."};
  std::vector<std::string> cidrs4;  // filled per program, reused by packets
  std::vector<std::string> cidrs6;
  std::vector<std::pair<int, int>> ports;
};

int pick(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
bool coin(Rng& rng, double p = 0.5) { return std::bernoulli_distribution(p)(rng); }
template <typename T>
const T& any(Rng& rng, const std::vector<T>& v) { return v[pick(rng, 0, static_cast<int>(v.size()) - 1)]; }

std::string randomV4(Rng& rng) {
  static const int firsts[] = {10, 172, 192, 198, 1, 8, 100, 203, 224};
  std::ostringstream o;
  o << firsts[pick(rng, 0, 8)] << '.' << pick(rng, 0, 255) << '.' << pick(rng, 0, 3) << '.' << pick(rng, 0, 255);
  return o.str();
}

std::string randomV6(Rng& rng) {
  static const char* prefixes[] = {"fd00:dae", "2001:db8", "fe80:0", "ff02:0", "2606:4700"};
  std::ostringstream o;
  o << prefixes[pick(rng, 0, 4)] << ':' << std::hex << pick(rng, 0, 3) << "::" << pick(rng, 0, 0xffff);
  return o.str();
}

// A network of the given prefix length (-1: random; the full length is a host).
std::string cidrText(Rng& rng, Pools& pools, bool v6, int prefix = -1) {
  if (v6) {
    std::string c = randomV6(rng) + "/" + std::to_string(prefix >= 0 ? prefix : pick(rng, 16, 128));
    pools.cidrs6.push_back(c);
    return "'" + c + "'";
  }
  std::string c = randomV4(rng) + "/" + std::to_string(prefix >= 0 ? prefix : pick(rng, 8, 32));
  pools.cidrs4.push_back(c);
  return c;
}

// The arguments of one dip()/sip() call, in one of the shapes the code generator
// stores differently: networks of any length, hosts only (/32, /128), networks of
// one length, hosts mixed with networks; IPv4, IPv6 or both.
std::string cidrArgs(Rng& rng, Pools& pools, int n) {
  int shape = pick(rng, 0, 3);
  int version = pick(rng, 0, 2);  // 0 IPv4, 1 IPv6, 2 both
  int len4 = pick(rng, 8, 32), len6 = pick(rng, 16, 128);
  std::string out;
  for (int i = 0; i < n; ++i) {
    std::string arg;
    if (coin(rng, 0.02)) arg = "geoip:private";
    else if (coin(rng, 0.02)) arg = "'::ffff:0:0/96'";
    else {
      bool v6 = version == 1 || (version == 2 && coin(rng, 0.4));
      int prefix = -1;
      if (shape == 1 || (shape == 3 && coin(rng))) prefix = v6 ? 128 : 32;
      else if (shape == 2) prefix = v6 ? len6 : len4;
      arg = cidrText(rng, pools, v6, prefix);
    }
    out += (i ? ", " : "") + arg;
  }
  return out;
}

std::string portText(Rng& rng, Pools& pools) {
  int lo = coin(rng, 0.1) ? 0 : pick(rng, 1, 65000);
  int hi = coin(rng, 0.5) ? lo : std::min(65535, lo + pick(rng, 1, 3000));
  if (coin(rng, 0.05)) hi = 65535;
  pools.ports.emplace_back(lo, hi);
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

// One random function call of the dae language.
std::string randomCall(Rng& rng, Pools& pools) {
  std::ostringstream o;
  if (coin(rng, 0.3)) o << '!';
  int kind = pick(rng, 0, 9);
  int n = coin(rng, 0.1) ? pick(rng, 9, 40) : pick(rng, 1, 3);  // sometimes a set large enough to become a map
  auto args = [&](auto gen) {
    for (int i = 0; i < n; ++i) o << (i ? ", " : "") << gen();
    o << ')';
  };
  switch (kind) {
    case 0:
    case 1: {
      o << (kind == 0 ? "dip(" : "sip(");
      // Sometimes thousands of networks: deep tries, big hash sets.
      if (coin(rng, 0.03)) n = pick(rng, 500, 2000);
      o << cidrArgs(rng, pools, n) << ')';
      break;
    }
    case 2:
    case 3:
      o << (kind == 2 ? "dport(" : "sport(");
      args([&] { return portText(rng, pools); });
      break;
    case 4: o << "l4proto(" << (coin(rng) ? "tcp" : "udp") << ')'; break;
    case 5: o << "ipversion(" << (coin(rng) ? "4" : "6") << ')'; break;
    case 6:
      o << "mac(";
      args([&] { return "'" + any(rng, pools.macs) + "'"; });
      break;
    case 7:
      o << "pname(";
      args([&] { return any(rng, pools.pnames); });
      break;
    case 8:
      o << "dscp(";
      args([&] { return std::to_string(pick(rng, 0, 63)); });
      break;
    case 9:
      o << "domain(";
      args([&] {
        switch (pick(rng, 0, 3)) {
          case 0: return "suffix: " + any(rng, pools.suffixes);
          case 1: return "full: " + any(rng, pools.domains);
          case 2: return "keyword: " + any(rng, pools.keywords);
          default: return "regex: '" + any(rng, pools.regexes) + "'";
        }
      });
      break;
  }
  return o.str();
}

std::string randomOutbound(Rng& rng) {
  static const char* outs[] = {"direct", "block", "g1", "g2", "direct(mark: 0x800)", "g1(must)", "must_direct",
                               "must_g2", "g2(mark: 0x1f)", "must_rules"};
  return outs[pick(rng, 0, 9)];
}

std::string randomConfig(Rng& rng, Pools& pools) {
  std::ostringstream o;
  o << "global {}\nnode { n1: 'socks5://198.18.1.2:1080' }\n";
  o << "group {\n  g1 { policy: min }\n  g2 { policy: random }\n}\nrouting {\n";
  int rules = pick(rng, 1, 40);
  for (int i = 0; i < rules; ++i) {
    if (coin(rng, 0.08)) {
      // A run of one-network rules to one outbound, which the optimiser merges into
      // one set (the shape of bench/route_bench.sh's merged rules).
      std::string fn = coin(rng) ? "dip(" : "sip(", out = randomOutbound(rng);
      int run = pick(rng, 5, 120);
      for (int j = 0; j < run; ++j) o << "  " << fn << cidrArgs(rng, pools, 1) << ") -> " << out << '\n';
      continue;
    }
    int calls = pick(rng, 1, 3);
    for (int c = 0; c < calls; ++c) o << (c ? " && " : "  ") << randomCall(rng, pools);
    o << " -> " << randomOutbound(rng) << '\n';
  }
  static const char* fallbacks[] = {"direct", "g1", "g2", "block", "direct(mark: 0x2)", "g1(must)"};
  o << "  fallback: " << fallbacks[pick(rng, 0, 5)] << "\n}\n";
  return o.str();
}

std::string addrInCidr(Rng& rng, const std::string& cidr) {
  bool v6 = cidr.find(':') != std::string::npos;
  auto parsed = dae::sema::parseCidr(cidr.front() == '\'' ? cidr.substr(1, cidr.size() - 2) : cidr);
  auto c = std::get<dae::sema::Cidr>(parsed);
  std::array<uint8_t, 16> a = c.addr;
  for (int bit = c.prefix; bit < 128; ++bit)
    if (coin(rng)) a[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
  // Sometimes just outside: the last bit of the prefix flipped (a sibling network).
  int first = v6 ? 0 : 96;
  if (c.prefix > first && coin(rng, 0.2)) a[(c.prefix - 1) / 8] ^= static_cast<uint8_t>(0x80 >> ((c.prefix - 1) % 8));
  char buf[INET6_ADDRSTRLEN];
  if (!v6) inet_ntop(AF_INET, &a[12], buf, sizeof buf);
  else inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

struct TestPacket {
  dae::datapath::RouteSpec spec;
  std::string text;
};

TestPacket randomPacket(Rng& rng, const Pools& pools) {
  dae::datapath::RouteSpec s;
  bool v6 = coin(rng, 0.35);
  auto addr = [&]() {
    const auto& pool = v6 ? pools.cidrs6 : pools.cidrs4;
    if (!pool.empty() && coin(rng, 0.7)) return addrInCidr(rng, any(rng, pool));
    return v6 ? randomV6(rng) : randomV4(rng);
  };
  s.src = addr();
  s.dst = addr();
  auto port = [&]() {
    if (!pools.ports.empty() && coin(rng, 0.7)) {
      auto [lo, hi] = any(rng, pools.ports);
      int choices[] = {lo - 1, lo, hi, hi + 1, (lo + hi) / 2};
      return static_cast<uint16_t>(std::clamp(choices[pick(rng, 0, 4)], 0, 65535));
    }
    return static_cast<uint16_t>(pick(rng, 0, 65535));
  };
  s.sport = port();
  s.dport = port();
  s.l4proto = coin(rng) ? 6 : 17;
  s.dscp = static_cast<uint8_t>(coin(rng, 0.5) ? 0 : pick(rng, 0, 63));
  if (coin(rng, 0.6)) {
    auto m = dae::sema::parseMac(any(rng, pools.macs));
    s.mac = std::get<0>(m);
  }
  if (coin(rng, 0.4)) {
    s.pname = any(rng, pools.pnames);
    s.wan = true;
  } else if (coin(rng, 0.1)) {
    s.wan = true;
  }
  if (coin(rng, 0.6)) s.domain = any(rng, pools.domains);
  std::ostringstream t;
  t << (s.l4proto == 6 ? "tcp " : "udp ") << (v6 ? "[" + s.src + "]" : s.src) << ':' << s.sport << " -> "
    << (v6 ? "[" + s.dst + "]" : s.dst) << ':' << s.dport << " dscp=" << int(s.dscp);
  if (s.mac) {
    char m[32];
    std::snprintf(m, sizeof m, "%02x:%02x:%02x:%02x:%02x:%02x", (*s.mac)[0], (*s.mac)[1], (*s.mac)[2], (*s.mac)[3],
                  (*s.mac)[4], (*s.mac)[5]);
    t << " mac=" << m;
  }
  if (!s.pname.empty()) t << " pname=" << s.pname;
  else if (s.wan) t << " hook=wan";
  if (!s.domain.empty()) t << " domain=" << s.domain;
  return {s, t.str()};
}

// The reference's own domain matching (independent of the runtime's DomainMatcher).
bool domainMatches(const dae::ir::DomainPattern& p, const std::string& name) {
  using K = dae::sema::Matcher::Kind;
  switch (p.kind) {
    case K::DomainFull: return name == p.value;
    case K::DomainSuffix: return name == p.value || (name.size() > p.value.size() && name.ends_with("." + p.value));
    case K::DomainKeyword: return name.find(p.value) != std::string::npos;
    case K::DomainRegex: {
      // The pools' regexes, written out by hand.
      if (p.value == "^mail\\.") return name.rfind("mail.", 0) == 0;
      if (p.value == "tracker\\.net$") return name.ends_with("tracker.net");
      if (p.value == "^a\\.b\\.") return name.rfind("a.b.", 0) == 0;
      throw std::runtime_error("unknown regex in the reference: " + p.value);
    }
    default: throw std::runtime_error("geodata pattern in a differential program");
  }
}

dae::ir::Packet referencePacket(const dae::datapath::RouteSpec& s, const dae::ir::Program& program) {
  dae::ir::Packet p;
  auto fill = [](const std::string& text, std::array<uint8_t, 16>& out) {
    out = {};
    in_addr a4;
    if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
      out[10] = out[11] = 0xff;
      std::memcpy(&out[12], &a4, 4);
    } else {
      inet_pton(AF_INET6, text.c_str(), out.data());
    }
  };
  fill(s.dst, p.dip);
  fill(s.src, p.sip);
  p.dport = s.dport;
  p.sport = s.sport;
  p.l4proto = s.l4proto;
  p.ipversion = s.src.find(':') != std::string::npos ? 6 : 4;
  p.dscp = s.dscp;
  p.isWan = s.wan;
  p.mac = s.mac.value_or(dae::ir::Mac{});
  p.pname = s.pname;
  std::string name = s.domain;  // lower-cased, without a final dot
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (const auto& set : program.domainSets) {
    bool hit = false;
    if (!name.empty())
      for (const auto& pat : set) hit = hit || domainMatches(pat, name);
    p.domainBits.push_back(hit);
  }
  return p;
}

struct Variant {
  dae::codegen::Backend backend;
  dae::codegen::CidrSetForm form;
};

// A dip()/sip() set the specialised back end stores in a map (over its inline limit).
bool hasLargeCidrSet(const dae::ir::Program& program) {
  for (const auto& r : program.rules)
    for (const auto& p : r.predicates)
      if (dae::ir::isCidrField(p.field) && dae::ir::aggregateCidrs(p.set.cidrs).size() > dae::codegen::CodegenOptions{}.inlineLimit)
        return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint64_t> seeds;
  int programs = 20, packets = 500;
  bool fresh = false, verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) seeds.push_back(std::stoull(argv[++i]));
    else if (a == "--programs" && i + 1 < argc) programs = std::stoi(argv[++i]);
    else if (a == "--packets" && i + 1 < argc) packets = std::stoi(argv[++i]);
    else if (a == "--fresh") fresh = true;
    else if (a == "--verbose") verbose = true;
    else {
      std::cerr << "usage: dae-difftest [--seed N]... [--fresh] [--programs N] [--packets N] [--verbose]\n";
      return 2;
    }
  }
  if (seeds.empty()) seeds = {1, 2};
  if (fresh) {
    uint64_t s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^ getpid();
    std::cout << "fresh seed: " << s << " (reproduce with --seed " << s << ")\n";
    seeds.push_back(s);
  }
  if (geteuid() != 0) {
    std::cout << "dae-difftest needs root (BPF_PROG_TEST_RUN)\n0 passed, 1 failed\n";
    return 1;
  }

  int passed = 0, failed = 0;
  unsigned forcedTurn = 0;
  // How the parts of large sets of networks were stored, over all specialised runs
  // (from the comments of the generated C), to show what the test covered.
  std::vector<std::pair<std::string, int>> structures = {
      {"part: ", 0}, {", stride trie of ", 0}, {", length search in ", 0}, {", LPM trie ", 0}};
  for (uint64_t seed : seeds) {
    Rng rng(seed);
    for (int prog = 0; prog < programs; ++prog) {
      Pools pools;
      std::string config = randomConfig(rng, pools);
      std::vector<TestPacket> pkts;
      for (int i = 0; i < packets; ++i) pkts.push_back(randomPacket(rng, pools));
      // Both back ends; and when the program has a large set of networks, the
      // specialised back end once more with one form of such sets forced (in turn
      // stride tries, length searches, LPM tries), besides the cheapest.
      std::vector<Variant> variants = {{dae::codegen::Backend::Specialized, dae::codegen::CidrSetForm::Cheapest},
                                       {dae::codegen::Backend::Table, dae::codegen::CidrSetForm::Cheapest}};
      for (size_t v = 0; v < variants.size(); ++v) {
        auto [backend, form] = variants[v];
        std::string label = "seed " + std::to_string(seed) + " program " + std::to_string(prog) + " " +
                            dae::codegen::backendName(backend);
        if (form != dae::codegen::CidrSetForm::Cheapest) label += std::string(" --cidr-sets=") + dae::codegen::cidrSetFormName(form);
        dae::driver::PipelineOptions opts;
        opts.backend = backend;
        opts.cidrSets = form;
        dae::driver::Compilation c(opts);
        if (!c.loadText("random.dae", config, "") || !c.check() || !c.lower() || !c.generate() || !c.compile()) {
          std::ostringstream d;
          c.diags.print(d);
          std::cout << "FAIL " << label << ": does not compile:\n" << d.str() << config;
          ++failed;
          continue;
        }
        for (auto& [what, count] : structures) {
          for (size_t at = 0; (at = c.generated.source.find(what, at)) != std::string::npos; at += what.size()) ++count;
        }
        if (v == 0 && hasLargeCidrSet(c.program)) {
          static const dae::codegen::CidrSetForm forced[] = {dae::codegen::CidrSetForm::StrideTrie,
                                                             dae::codegen::CidrSetForm::LengthSearch,
                                                             dae::codegen::CidrSetForm::Lpm};
          variants.push_back({dae::codegen::Backend::Specialized, forced[forcedTurn++ % 3]});
        }
        // The reference runs on the unoptimised IR, so the optimiser is tested too.
        dae::frontend::DiagnosticEngine scratch(c.sources);
        dae::ir::Program reference = dae::ir::lower(c.model, c.sources, scratch);
        auto artifact = dae::loader::Artifact::fromBytes(c.object);
        dae::datapath::RouteTester tester(artifact);
        int disagreements = 0;
        for (const auto& pkt : pkts) {
          auto kernel = tester.route(pkt.spec);
          auto want = dae::ir::evaluate(reference, referencePacket(pkt.spec, reference));
          std::string wantName = reference.outbounds[want.outbound];
          if (kernel.outbound != wantName || kernel.mark != want.mark || kernel.must != want.must) {
            if (++disagreements <= 3) {
              std::cout << "  DISAGREE " << label << ": " << pkt.text << "\n    kernel: outbound=" << kernel.outbound
                        << " mark=" << kernel.mark << " must=" << kernel.must << " (" << kernel.rule << ")\n"
                        << "    reference: outbound=" << wantName << " mark=" << want.mark << " must=" << want.must
                        << " (rule " << want.rule << ")\n";
            }
          }
        }
        if (disagreements) {
          ++failed;
          std::cout << "FAIL " << label << ": " << disagreements << " of " << pkts.size() << " packets disagree\n"
                    << config;
        } else {
          ++passed;
          if (verbose) std::cout << "PASS " << label << " (" << pkts.size() << " packets)\n";
        }
      }
    }
  }
  std::cout << "differential: " << programs << " programs x " << packets << " packets per seed, seeds";
  for (auto s : seeds) std::cout << ' ' << s;
  std::cout << "\nparts of large sets of networks: " << structures[0].second << " (stride tries " << structures[1].second
            << ", length searches " << structures[2].second << ", LPM tries " << structures[3].second << ")";
  std::cout << '\n' << passed << " passed, " << failed << " failed\n";
  return failed ? 1 : 0;
}
