// Checker behaviour on small configs, through the same path daec takes:
// loadConfigText -> check.
#include "sema/Checker.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include "frontend/Loader.h"
#include "sema/ModelDump.h"
#include "sema/Options.h"
#include "sema/Values.h"

namespace dae::sema {
namespace {

using frontend::Severity;

struct Checked {
  frontend::SourceManager sources;
  frontend::DiagnosticEngine diags{sources};
  ast::Config ast;
  Config model;

  // Every diagnostic formatted as daec prints it.
  std::string text() const {
    std::ostringstream out;
    diags.print(out);
    return out.str();
  }
  size_t count(Severity s) const {
    size_t n = 0;
    for (const auto& d : diags.all()) n += d.severity == s;
    return n;
  }
  // True when some diagnostic of this severity contains `needle`.
  bool has(Severity s, const std::string& needle) const {
    for (const auto& d : diags.all())
      if (d.severity == s && d.message.find(needle) != std::string::npos) return true;
    return false;
  }
  const frontend::Diagnostic* find(Severity s, const std::string& needle) const {
    for (const auto& d : diags.all())
      if (d.severity == s && d.message.find(needle) != std::string::npos) return &d;
    return nullptr;
  }
};

std::unique_ptr<Checked> run(const std::string& text, bool fragment = false) {
  auto c = std::make_unique<Checked>();
  c->ast = frontend::loadConfigText("test.dae", text, c->sources, c->diags);
  EXPECT_FALSE(c->diags.hasErrors()) << "syntax errors:\n" << c->text();
  CheckOptions options;
  options.fragment = fragment;
  c->model = check(c->ast, c->diags, options);
  return c;
}

// A config that checks without errors; the test fails with the diagnostics otherwise.
std::unique_ptr<Checked> clean(const std::string& text, bool fragment = false) {
  auto c = run(text, fragment);
  EXPECT_EQ(c->diags.errorCount(), 0u) << c->text();
  return c;
}

const char* kMinimal = "global {}\nrouting { fallback: direct }\n";

// ---- defaults and global options ---------------------------------------------------------

TEST(CheckerGlobal, DefaultsAreFilledForEveryKnownOption) {
  auto c = clean(kMinimal);
  for (const auto& spec : globalOptionSpecs()) {
    ASSERT_TRUE(c->model.global.count(spec.name)) << spec.name;
    EXPECT_FALSE(c->model.global.at(spec.name).explicitlySet) << spec.name;
  }
  EXPECT_EQ(c->model.global.size(), globalOptionSpecs().size());
  EXPECT_EQ(c->model.uintOption("tproxy_port"), 12345u);
  EXPECT_TRUE(c->model.boolOption("tproxy_port_protect"));
  EXPECT_EQ(c->model.uintOption("so_mark_from_dae"), 0u);
  EXPECT_EQ(c->model.stringOption("log_level"), "info");
  EXPECT_EQ(c->model.stringOption("dial_mode"), "domain");
  EXPECT_EQ(c->model.durationOption("check_interval").ns, 30000000000LL);
  EXPECT_EQ(c->model.durationOption("check_tolerance").ns, 0);
  EXPECT_EQ(c->model.durationOption("sniffing_timeout").ns, 30000000LL);
  EXPECT_EQ(c->model.uintOption("bandwidth_max_tx"), 0u);
  EXPECT_EQ(c->model.uintOption("bpf_conn_state_map_size"), 262144u);
  EXPECT_EQ(c->model.stringOption("fallback_resolver"), "8.8.8.8:53");
  std::vector<std::string> tcp = {"http://cp.cloudflare.com", "1.1.1.1", "2606:4700:4700::1111"};
  EXPECT_EQ(c->model.listOption("tcp_check_url"), tcp);
  EXPECT_TRUE(c->model.listOption("lan_interface").empty());
  // Routing and DNS defaults.
  EXPECT_TRUE(c->model.routing.rules.empty());
  EXPECT_EQ(c->model.routing.fallback.name, "direct");
  EXPECT_TRUE(c->model.routing.fallbackExplicit);
  EXPECT_TRUE(c->model.dns.optimisticCache);
  EXPECT_EQ(c->model.dns.maxCacheSize, 65536);
}

TEST(CheckerGlobal, FallbackDefaultsToDirect) {
  auto c = clean("global {}\nrouting {}\n");
  EXPECT_EQ(c->model.routing.fallback.name, "direct");
  EXPECT_FALSE(c->model.routing.fallbackExplicit);
  std::ostringstream dump;
  dumpModel(c->model, dump);
  EXPECT_NE(dump.str().find("fallback -> direct  (default)"), std::string::npos) << dump.str();
}

TEST(CheckerGlobal, ExplicitValuesAreTyped) {
  auto c = clean(R"(global {
  tproxy_port: 12346
  so_mark_from_dae: 0x800
  log_level: debug
  check_interval: 1m30s
  check_tolerance: 50ms
  lan_interface: eth0, br-lan
  wan_interface: auto
  allow_insecure: true
  bandwidth_max_tx: '200 mbps'
  bandwidth_max_rx: 25000000
  fallback_resolver: '[2001:4860:4860::8888]:53'
  tls_fragment_length: 10-20
}
routing { fallback: direct }
)");
  const Config& m = c->model;
  EXPECT_EQ(m.uintOption("tproxy_port"), 12346u);
  EXPECT_TRUE(m.option("tproxy_port").explicitlySet);
  EXPECT_EQ(m.option("tproxy_port").range.line, 2u);
  EXPECT_EQ(m.uintOption("so_mark_from_dae"), 0x800u);
  EXPECT_EQ(m.stringOption("log_level"), "debug");
  EXPECT_EQ(m.durationOption("check_interval").ns, 90000000000LL);
  EXPECT_EQ(m.durationOption("check_tolerance").ns, 50000000LL);
  EXPECT_EQ(m.listOption("lan_interface"), (std::vector<std::string>{"eth0", "br-lan"}));
  EXPECT_EQ(m.listOption("wan_interface"), (std::vector<std::string>{"auto"}));
  EXPECT_TRUE(m.boolOption("allow_insecure"));
  EXPECT_EQ(m.uintOption("bandwidth_max_tx"), 25000000u);
  EXPECT_EQ(m.uintOption("bandwidth_max_rx"), 25000000u);
  EXPECT_EQ(m.stringOption("fallback_resolver"), "[2001:4860:4860::8888]:53");
  EXPECT_EQ(m.stringOption("tls_fragment_length"), "10-20");
}

TEST(CheckerGlobal, ListValuesSplitAtCommasInsideQuotes) {
  auto c = clean("global { lan_interface: 'eth0, eth1', eth2 }\nrouting {}\n");
  EXPECT_EQ(c->model.listOption("lan_interface"), (std::vector<std::string>{"eth0", "eth1", "eth2"}));
}

TEST(CheckerGlobal, TypeErrorsNameTheKey) {
  auto c = run(R"(global {
  tproxy_port: 70000
  allow_insecure: yes
  check_interval: 30
  check_tolerance: -1s
  log_level: verbose
  dial_mode: domian
  fallback_resolver: 8.8.8.8
  bandwidth_max_tx: 'fast'
}
routing {}
)");
  EXPECT_EQ(c->diags.errorCount(), 8u) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'tproxy_port': number '70000' is out of range")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'allow_insecure': invalid boolean 'yes'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'check_interval': invalid duration '30': missing unit")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'check_tolerance': a negative duration")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'log_level': invalid value 'verbose'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "did you mean 'domain'?")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'fallback_resolver': invalid address")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'bandwidth_max_tx': invalid bandwidth")) << c->text();
  // A bad value leaves the default in place.
  EXPECT_EQ(c->model.uintOption("tproxy_port"), 12345u);
  // Each error points at the value, not the key.
  const auto* d = c->find(Severity::Error, "'tproxy_port'");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->range.line, 2u);
  EXPECT_EQ(d->range.col, 16u);
  EXPECT_EQ(d->range.length, 5u);
}

TEST(CheckerGlobal, UnknownKeyHasDidYouMean) {
  auto c = run("global {\n  tproxy_prot: 1\n  zzzzzzzz: 1\n}\nrouting {}\n");
  EXPECT_EQ(c->diags.errorCount(), 2u) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "unknown key 'tproxy_prot' in section 'global'; did you mean 'tproxy_port'?"))
      << c->text();
  const auto* d = c->find(Severity::Error, "'zzzzzzzz'");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->message.find("did you mean"), std::string::npos) << d->message;
}

TEST(CheckerGlobal, RemovedKeysGiveAdvice) {
  auto c = run("global { check_url: 'http://x' }\nrouting { final: direct }\n");
  EXPECT_EQ(c->diags.errorCount(), 2u) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'check_url' is no longer supported")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "renamed to 'fallback'")) << c->text();
}

TEST(CheckerGlobal, DeprecatedOptionWarns) {
  auto c = clean("global { auto_config_firewall_rule: true }\nrouting {}\n");
  EXPECT_TRUE(c->has(Severity::Warning, "deprecated")) << c->text();
}

TEST(CheckerGlobal, SingleValueRequired) {
  auto c = run("global { tproxy_port: 1, 2 }\nrouting {}\n");
  EXPECT_TRUE(c->has(Severity::Error, "'tproxy_port' takes a single value")) << c->text();
  c = run("global { tproxy_port: f(1) }\nrouting {}\n");
  EXPECT_TRUE(c->has(Severity::Error, "takes a value, not a function call")) << c->text();
}

// ---- required sections, unknown sections, fragments -------------------------------------

TEST(CheckerSections, GlobalAndRoutingRequired) {
  auto c = run("node { a: 'socks5://1.2.3.4:1080' }\n");
  EXPECT_EQ(c->diags.errorCount(), 2u) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "section 'global' is required")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "section 'routing' is required")) << c->text();
}

TEST(CheckerSections, EmptyInputIsMissingBoth) {
  auto c = run("");
  EXPECT_EQ(c->diags.errorCount(), 2u) << c->text();
}

TEST(CheckerSections, UnknownSectionSuggests) {
  auto c = run("global {}\nrouting {}\nroutnig {}\n");
  EXPECT_TRUE(c->has(Severity::Error, "unknown section 'routnig'; did you mean 'routing'?")) << c->text();
}

TEST(CheckerFragment, NoRequiredSectionsAndUnresolvedNamesWarn) {
  auto c = run("routing {\n  dport(443) -> proxy\n  fallback: my_group\n}\n", /*fragment=*/true);
  EXPECT_EQ(c->diags.errorCount(), 0u) << c->text();
  EXPECT_EQ(c->diags.warningCount(), 2u) << c->text();
  EXPECT_TRUE(c->has(Severity::Warning, "unknown outbound 'proxy'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Warning, "unknown outbound 'my_group'")) << c->text();
  // The same text as an entry config: both names and both sections are errors... except
  // routing, which is present.
  auto e = run("routing {\n  dport(443) -> proxy\n  fallback: my_group\n}\n", /*fragment=*/false);
  EXPECT_EQ(e->diags.errorCount(), 3u) << e->text();
  EXPECT_TRUE(e->has(Severity::Error, "section 'global' is required")) << e->text();
  EXPECT_TRUE(e->has(Severity::Error, "unknown outbound 'proxy'")) << e->text();
}

TEST(CheckerFragment, OtherErrorsStayErrors) {
  auto c = run("routing { dport(99999) -> direct }\n", /*fragment=*/true);
  EXPECT_EQ(c->diags.errorCount(), 1u) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "invalid port '99999'")) << c->text();
}

TEST(CheckerFragment, DnsOnlyFragment) {
  auto c = clean(R"(dns {
  upstream { alidns: 'udp://223.5.5.5:53' }
  routing {
    request { qname(geosite:cn) -> alidns
              fallback: alidns }
  }
}
)", /*fragment=*/true);
  EXPECT_EQ(c->model.dns.upstreams.size(), 1u);
}

// ---- merging of repeated sections ------------------------------------------------------------

TEST(CheckerMerge, RepeatedGlobalSectionsMergeAndLaterWins) {
  auto c = run(R"(global {
  tproxy_port: 1000
  log_level: warn
}
routing {}
global {
  tproxy_port: 2000
  allow_insecure: true
}
)");
  EXPECT_EQ(c->diags.errorCount(), 0u) << c->text();
  EXPECT_EQ(c->model.uintOption("tproxy_port"), 2000u);
  EXPECT_EQ(c->model.stringOption("log_level"), "warn");
  EXPECT_TRUE(c->model.boolOption("allow_insecure"));
  const auto* w = c->find(Severity::Warning, "option 'tproxy_port' is set more than once");
  ASSERT_NE(w, nullptr) << c->text();
  EXPECT_EQ(w->range.line, 7u);
  const auto* n = c->find(Severity::Note, "earlier value is here");
  ASSERT_NE(n, nullptr) << c->text();
  EXPECT_EQ(n->range.line, 2u);
}

TEST(CheckerMerge, RepeatedRoutingSectionsConcatenateInOrder) {
  auto c = clean(R"(global {}
routing {
  dport(1) -> direct
  fallback: direct
}
node { n1: 'socks5://1.2.3.4:1080' }
routing {
  dport(2) -> block
  dport(3) -> direct
}
)");
  ASSERT_EQ(c->model.routing.rules.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(c->model.routing.rules[i].conditions.size(), 1u);
    EXPECT_EQ(c->model.routing.rules[i].conditions[0].args[0].port.lo, i + 1);
  }
  EXPECT_EQ(c->model.routing.rules[1].outbound.name, "block");
  EXPECT_TRUE(c->model.routing.fallbackExplicit);
}

TEST(CheckerMerge, SecondFallbackWarnsAndReplaces) {
  auto c = run("global {}\nrouting { fallback: direct }\nrouting { fallback: block }\n");
  EXPECT_EQ(c->diags.errorCount(), 0u) << c->text();
  EXPECT_TRUE(c->has(Severity::Warning, "more than one fallback")) << c->text();
  EXPECT_EQ(c->model.routing.fallback.name, "block");
}

TEST(CheckerMerge, GroupsAndNodesFromSeveralSections) {
  auto c = run(R"(global {}
node { a: 'socks5://1.1.1.1:1080' }
group { g1 { policy: min } }
node { b: 'socks5://2.2.2.2:1080'
       a: 'socks5://3.3.3.3:1080' }
group { g2 { policy: random }
        g1 { policy: fixed(0) } }
routing { fallback: g2 }
)");
  EXPECT_EQ(c->model.nodes.size(), 3u);
  EXPECT_EQ(c->model.groups.size(), 3u);
  EXPECT_EQ(c->diags.errorCount(), 2u) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "duplicate node name 'a'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "duplicate group 'g1'")) << c->text();
  EXPECT_EQ(c->count(Severity::Note), 2u) << c->text();
}

// ---- outbound resolution ---------------------------------------------------------------------

const char* kGroups = R"(global {}
node { n: 'socks5://1.2.3.4:1080' }
group {
  proxy { policy: min_moving_avg }
  hk { filter: name(keyword: hk) [add_latency: -300ms]
       policy: fixed(0) }
}
)";

TEST(CheckerOutbounds, GroupsResolveToTableIndices) {
  auto c = clean(std::string(kGroups) + "routing {\n  dport(443) -> proxy\n  dport(80) -> hk\n  fallback: block\n}\n");
  const Config& m = c->model;
  EXPECT_EQ(m.outboundIndex("direct"), 0);
  EXPECT_EQ(m.outboundIndex("block"), 1);
  EXPECT_EQ(m.outboundIndex("proxy"), 2);
  EXPECT_EQ(m.outboundIndex("hk"), 3);
  EXPECT_EQ(m.outboundIndex("nope"), -1);
  ASSERT_EQ(m.routing.rules.size(), 2u);
  EXPECT_EQ(m.routing.rules[0].outbound.name, "proxy");
  EXPECT_EQ(m.routing.rules[1].outbound.name, "hk");
  EXPECT_EQ(m.routing.fallback.name, "block");
  ASSERT_EQ(m.groups.size(), 2u);
  EXPECT_EQ(m.groups[0].policy, PolicyKind::MinMovingAvg);
  EXPECT_EQ(m.groups[1].policy, PolicyKind::Fixed);
  EXPECT_EQ(m.groups[1].fixedIndex, 0u);
  ASSERT_EQ(m.groups[1].filters.size(), 1u);
  EXPECT_EQ(m.groups[1].filters[0].addLatency.ns, -300000000LL);
}

TEST(CheckerOutbounds, UnknownOutboundIsAnErrorWithSuggestion) {
  auto c = run(std::string(kGroups) + "routing {\n  dport(443) -> proxi\n  fallback: hkk\n}\n");
  EXPECT_EQ(c->diags.errorCount(), 2u) << c->text();
  const auto* d = c->find(Severity::Error, "unknown outbound 'proxi': no group of that name; did you mean 'proxy'?");
  ASSERT_NE(d, nullptr) << c->text();
  EXPECT_EQ(d->range.line, 9u);
  EXPECT_TRUE(c->has(Severity::Error, "unknown outbound 'hkk'")) << c->text();
}

TEST(CheckerOutbounds, BuiltinNamesCannotBeGroups) {
  auto c = run("global {}\ngroup { direct { policy: min }\n must_x { policy: min } }\nrouting {}\n");
  EXPECT_TRUE(c->has(Severity::Error, "'direct' cannot name a group")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'must_x' cannot name a group: it is a built-in outbound prefix")) << c->text();
}

TEST(CheckerOutbounds, GroupWithoutPolicy) {
  auto c = run("global {}\ngroup { g { filter: name(a) } }\nrouting { fallback: g }\n");
  EXPECT_TRUE(c->has(Severity::Error, "group 'g' has no policy")) << c->text();
}

// ---- must and mark ----------------------------------------------------------------------------

TEST(CheckerOutbounds, MustAndMarkParameters) {
  auto c = clean(std::string(kGroups) + R"(routing {
  dport(1) -> direct(mark: 0x800)
  dport(2) -> must_direct
  dport(3) -> proxy(must)
  dport(4) -> must_rules
  dport(5) -> proxy(must, mark: 255)
  dport(6) -> must_proxy
  dport(7) -> direct(mark: 0xffffffff)
  fallback: must_direct
}
)");
  const auto& r = c->model.routing.rules;
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].outbound.name, "direct");
  EXPECT_FALSE(r[0].outbound.must);
  ASSERT_TRUE(r[0].outbound.mark.has_value());
  EXPECT_EQ(*r[0].outbound.mark, 0x800u);

  EXPECT_EQ(r[1].outbound.name, "direct");
  EXPECT_TRUE(r[1].outbound.must);
  EXPECT_FALSE(r[1].outbound.mark.has_value());

  EXPECT_EQ(r[2].outbound.name, "proxy");
  EXPECT_TRUE(r[2].outbound.must);

  EXPECT_TRUE(r[3].outbound.isMustRules);
  EXPECT_EQ(r[3].outbound.name, "must_rules");

  EXPECT_TRUE(r[4].outbound.must);
  EXPECT_EQ(r[4].outbound.mark.value_or(0), 255u);

  EXPECT_EQ(r[5].outbound.name, "proxy");
  EXPECT_TRUE(r[5].outbound.must);

  EXPECT_EQ(r[6].outbound.mark.value_or(0), 0xffffffffu);

  EXPECT_EQ(c->model.routing.fallback.name, "direct");
  EXPECT_TRUE(c->model.routing.fallback.must);

  std::ostringstream dump;
  dumpModel(c->model, dump);
  EXPECT_NE(dump.str().find("-> direct(mark: 0x800)"), std::string::npos) << dump.str();
  EXPECT_NE(dump.str().find("-> proxy(must, mark: 0xff)"), std::string::npos) << dump.str();
}

TEST(CheckerOutbounds, FallbackWithParameters) {
  auto c = clean("global {}\nrouting { fallback: direct(mark: 0x1) }\n");
  EXPECT_EQ(c->model.routing.fallback.name, "direct");
  EXPECT_EQ(c->model.routing.fallback.mark.value_or(0), 1u);
}

TEST(CheckerOutbounds, BadOutboundParameters) {
  auto c = run(R"(global {}
routing {
  dport(1) -> direct(mark: 0x100000000)
  dport(2) -> direct(mark: abc)
  dport(3) -> direct(fast)
  dport(4) -> direct()
  dport(5) -> must_rules(must)
  fallback: must_rules
}
)");
  EXPECT_EQ(c->diags.errorCount(), 6u) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "mark: number '0x100000000' is out of range")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "mark: invalid number 'abc'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "unknown outbound parameter 'fast'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "empty parameter list")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'must_rules' takes no parameters")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'must_rules' cannot be the fallback")) << c->text();
}

TEST(CheckerOutbounds, FallbackTakesOneOutbound) {
  auto c = run("global {}\nrouting { fallback: direct(must) && block(must) }\n");
  EXPECT_TRUE(c->has(Severity::Error, "fallback takes one outbound")) << c->text();
}

// ---- routing functions --------------------------------------------------------------------------

TEST(CheckerRouting, MatchersAreTyped) {
  auto c = run(R"(global {}
routing {
  domain(geosite:cn, suffix: .Example.COM, full: a.b, keyword: ads, regex: '^X\.y$') -> direct
  dip(10.1.2.3/8, 'fd00::/8', geoip: CN) && !sip(192.168.0.1) -> direct
  dport(80, 10000-20000) && sport(53) && l4proto(TCP, udp) && ipversion(6) -> direct
  mac('02:42:ac:11:00:02') && pname(averyveryverylongname) && dscp(0x2e) -> direct
  ip(1.1.1.1) && port(443) -> block
}
)");
  EXPECT_EQ(c->diags.errorCount(), 0u) << c->text();
  EXPECT_EQ(c->diags.warningCount(), 3u) << c->text();
  EXPECT_TRUE(c->has(Severity::Warning, "'10.1.2.3/8' has bits set past its prefix; it means 10.0.0.0/8")) << c->text();
  // Names are matched in lower case (docs/language.md).
  EXPECT_TRUE(c->has(Severity::Warning, "regex '^X\\.y$' has the upper-case letter 'X', which never matches")) << c->text();
  EXPECT_TRUE(c->has(Severity::Warning, "it matches 'averyveryverylo'")) << c->text();
  const auto& r = c->model.routing.rules;
  ASSERT_EQ(r.size(), 5u);
  using K = Matcher::Kind;
  const auto& dom = r[0].conditions[0];
  EXPECT_EQ(dom.field, Field::Domain);
  ASSERT_EQ(dom.args.size(), 5u);
  EXPECT_EQ(dom.args[0].kind, K::Geosite);
  EXPECT_EQ(dom.args[0].text, "cn");
  EXPECT_EQ(dom.args[1].kind, K::DomainSuffix);
  EXPECT_EQ(dom.args[1].text, "example.com");  // lower-cased, leading dot dropped
  EXPECT_EQ(dom.args[2].kind, K::DomainFull);
  EXPECT_EQ(dom.args[3].kind, K::DomainKeyword);
  EXPECT_EQ(dom.args[4].kind, K::DomainRegex);
  EXPECT_EQ(dom.args[4].text, "^X\\.y$");  // regexes keep case and backslashes

  const auto& dip = r[1].conditions[0];
  EXPECT_EQ(dip.field, Field::Dip);
  EXPECT_FALSE(dip.negated);
  EXPECT_EQ(formatCidr(dip.args[0].cidr), "10.0.0.0/8");
  EXPECT_EQ(dip.args[1].cidr.prefix, 8);
  EXPECT_EQ(dip.args[2].kind, K::GeoIp);
  EXPECT_EQ(dip.args[2].text, "cn");
  EXPECT_EQ(r[1].conditions[1].field, Field::Sip);
  EXPECT_TRUE(r[1].conditions[1].negated);

  const auto& ports = r[2].conditions;
  EXPECT_EQ(ports[0].args[1].port.lo, 10000);
  EXPECT_EQ(ports[0].args[1].port.hi, 20000);
  EXPECT_EQ(ports[1].field, Field::Sport);
  EXPECT_EQ(ports[2].args[0].num, 6);   // IPPROTO_TCP
  EXPECT_EQ(ports[2].args[1].num, 17);  // IPPROTO_UDP
  EXPECT_EQ(ports[3].args[0].num, 6);

  EXPECT_EQ(r[3].conditions[0].args[0].mac[5], 0x02);
  EXPECT_EQ(r[3].conditions[1].args[0].text.size(), 15u);
  EXPECT_EQ(r[3].conditions[2].args[0].num, 0x2e);

  EXPECT_EQ(r[4].conditions[0].field, Field::Dip);
  EXPECT_EQ(r[4].conditions[1].field, Field::Dport);
}

TEST(CheckerRouting, ArgumentErrors) {
  auto c = run(R"(global {}
routing {
  dport(20000-10000) -> direct
  dip(1.2.3.4/33) -> direct
  l4proto(icmp) -> direct
  ipversion(5) -> direct
  mac('02:42') -> direct
  dscp(64) -> direct
  domain(bogus: x) -> direct
  domain(regex: '(') -> direct
  dport(key: 1) -> direct
  qname(a) -> direct
  dipp(1.1.1.1) -> direct
  dport() -> direct
}
)");
  EXPECT_TRUE(c->has(Severity::Error, "port range '20000-10000' is empty")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "larger than 32")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "invalid l4proto 'icmp'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "invalid ipversion '5'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "invalid dscp '64'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "unknown parameter 'bogus' of domain()")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "invalid regular expression")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "dport() takes no 'key:' parameters")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'qname()' can only be used in dns routing")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "unknown routing function 'dipp'; did you mean 'dip'?")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "'dport()' needs at least one argument")) << c->text();
}

TEST(CheckerRouting, ColumnsAfterNonAsciiTextCountBytes) {
  // '\xe4\xbe\x8b\xe5\xad\x90' is two characters of three bytes each.
  auto c = run("global {}\nrouting {\n  domain(suffix: '\xe4\xbe\x8b\xe5\xad\x90.com') && dport(99999) -> direct\n}\n");
  const auto* d = c->find(Severity::Error, "invalid port '99999'");
  ASSERT_NE(d, nullptr) << c->text();
  EXPECT_EQ(d->range.line, 3u);
  EXPECT_EQ(d->range.col, 41u);
  EXPECT_EQ(d->range.length, 5u);
  EXPECT_EQ(c->model.routing.rules[0].conditions[0].args[0].text, "\xe4\xbe\x8b\xe5\xad\x90.com");
}

// ---- dns ------------------------------------------------------------------------------------------

TEST(CheckerDns, UpstreamsAndRouting) {
  auto c = clean(R"(global {}
dns {
  ipversion_prefer: 4
  fixed_domain_ttl { ddns.example.org: 10 }
  upstream {
    googledns: 'tcp+udp://dns.google:53'
    alidns: 'udp://223.5.5.5'
    doh: 'https://dns.example/dns-query'
    v6: 'tls://[2001:db8::1]:8853'
  }
  routing {
    request { qname(geosite:cn) -> alidns
              qtype(aaaa) -> reject
              fallback: googledns }
    response { upstream(googledns) && ip(geoip:private) -> alidns
               fallback: accept }
  }
}
routing {}
)");
  const Dns& d = c->model.dns;
  EXPECT_EQ(d.ipversionPrefer, 4);
  ASSERT_EQ(d.fixedDomainTtl.size(), 1u);
  EXPECT_EQ(d.fixedDomainTtl[0].second, 10u);
  ASSERT_EQ(d.upstreams.size(), 4u);
  EXPECT_EQ(d.upstreams[0].scheme, "tcp+udp");
  EXPECT_EQ(d.upstreams[0].host, "dns.google");
  EXPECT_EQ(d.upstreams[0].port, 53);
  EXPECT_EQ(d.upstreams[1].port, 53);  // default for udp
  EXPECT_EQ(d.upstreams[2].port, 443);
  EXPECT_EQ(d.upstreams[2].path, "/dns-query");
  EXPECT_EQ(d.upstreams[3].host, "2001:db8::1");
  EXPECT_EQ(d.upstreams[3].port, 8853);
  EXPECT_EQ(d.request.rules.size(), 2u);
  EXPECT_EQ(d.request.fallback, "googledns");
  EXPECT_EQ(d.response.rules.size(), 1u);
  EXPECT_EQ(d.response.fallback, "accept");
}

TEST(CheckerDns, Errors) {
  auto c = run(R"(global {}
dns {
  upstream { a: 'ftp://x' }
  routing {
    request { qname(x) && sub(y) -> asis }
    response { qname(x) -> nowhere }
  }
  request { fallback: asis }
}
routing {}
)");
  EXPECT_TRUE(c->has(Severity::Error, "unknown DNS upstream scheme 'ftp://'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "cannot mix selectors")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "unknown DNS upstream 'nowhere'")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "dns request routing needs a fallback")) << c->text();
  EXPECT_TRUE(c->has(Severity::Error, "must be inside 'dns { routing { request")) << c->text();
}

// ---- the model is always returned ---------------------------------------------------------------

TEST(CheckerModel, ErrorsStillReturnAModel) {
  auto c = run("global { tproxy_port: x }\nrouting { dport(80) -> nope\n fallback: block }\n");
  EXPECT_TRUE(c->diags.hasErrors());
  EXPECT_EQ(c->model.routing.rules.size(), 1u);
  EXPECT_EQ(c->model.routing.fallback.name, "block");
  EXPECT_EQ(c->model.global.size(), globalOptionSpecs().size());
}

}  // namespace
}  // namespace dae::sema
