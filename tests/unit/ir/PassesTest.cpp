// Targeted tests of each optimiser pass: aggregateCidrs, aggregatePorts,
// aggregateSets, mergeNeighbours, removeUnreachable, optimize.
#include <gtest/gtest.h>

#include <initializer_list>

#include "RandomPrograms.h"
#include "frontend/Diagnostics.h"
#include "ir/Passes.h"
#include "sema/Values.h"

namespace {

using namespace dae;
using ir::Field;
using test::cidr;

std::vector<std::string> fmt(const std::vector<ir::Cidr>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(sema::formatCidr(c));
  return out;
}

std::vector<ir::Cidr> cidrs(std::initializer_list<const char*> list) {
  std::vector<ir::Cidr> out;
  for (const char* s : list) out.push_back(cidr(s));
  return out;
}

using Strings = std::vector<std::string>;

// ---- aggregateCidrs --------------------------------------------------------------

TEST(AggregateCidrs, JoinsSiblings) {
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"10.128.0.0/9", "10.0.0.0/9"}))), Strings{"10.0.0.0/8"});
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"192.168.1.0/24", "192.168.0.0/24"}))), Strings{"192.168.0.0/23"});
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"2001:db8:8000::/33", "2001:db8::/33"}))), Strings{"2001:db8::/32"});
}

TEST(AggregateCidrs, JoinsInCascade) {
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"10.0.0.192/26", "10.0.0.0/26", "10.0.0.128/26", "10.0.0.64/26"}))),
            Strings{"10.0.0.0/24"});
  // Eight /27 out of order, plus one host that they cover.
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"10.0.0.224/27", "10.0.0.32/27", "10.0.0.0/27", "10.0.0.96/27", "10.0.0.64/27",
                                          "10.0.0.160/27", "10.0.0.128/27", "10.0.0.192/27", "10.0.0.77"}))),
            Strings{"10.0.0.0/24"});
}

TEST(AggregateCidrs, DoesNotJoinNonSiblings) {
  // Adjacent but not one parent's halves: 10.128/9 is the upper half of 10/8, 11/9 the lower of 11/8.
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"10.128.0.0/9", "11.0.0.0/9"}))), (Strings{"10.128.0.0/9", "11.0.0.0/9"}));
  // Different lengths.
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"10.0.0.0/9", "10.128.0.0/10"}))), (Strings{"10.0.0.0/9", "10.128.0.0/10"}));
  // Not adjacent.
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"192.168.0.0/24", "192.168.2.0/24"}))), (Strings{"192.168.0.0/24", "192.168.2.0/24"}));
}

TEST(AggregateCidrs, RemovesCoveredAndDuplicates) {
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"10.1.2.0/24", "10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/8", "10.255.255.255"}))),
            Strings{"10.0.0.0/8"});
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"fd00::1", "fd00::/8", "fc00::/7", "fd12:3456::/32"}))), Strings{"fc00::/7"});
  // ::/0 covers IPv4 as well (one 128-bit space).
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"10.0.0.0/8", "::/0", "fd00::/8"}))), Strings{"::/0"});
  // 0.0.0.0/0 is ::ffff:0:0/96: it covers every IPv4 network but no IPv6 one.
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"10.0.0.0/8", "0.0.0.0/0", "fd00::/8"}))), (Strings{"0.0.0.0/0", "fd00::/8"}));
  EXPECT_TRUE(ir::aggregateCidrs({}).empty());
}

TEST(AggregateCidrs, SortsIPv6BeforeMappedIPv4ByAddress) {
  // Sorted by address in the 128-bit space: ::1 < ::ffff:* < 2001:db8:: < fd00::.
  EXPECT_EQ(fmt(ir::aggregateCidrs(cidrs({"fd00::/8", "10.0.0.0/8", "2001:db8::/32", "::1"}))),
            (Strings{"::1/128", "10.0.0.0/8", "2001:db8::/32", "fd00::/8"}));
}

TEST(AggregateCidrs, SetsTheV4MappedFlag) {
  // Written in IPv6 but inside ::ffff:0:0/96: comes out as IPv4.
  auto out = ir::aggregateCidrs(cidrs({"::ffff:10.0.0.0/104"}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].v4);
  EXPECT_EQ(sema::formatCidr(out[0]), "10.0.0.0/8");
  out = ir::aggregateCidrs(cidrs({"::ffff:0:0/96"}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].v4);
  EXPECT_EQ(sema::formatCidr(out[0]), "0.0.0.0/0");
  // Written as IPv4, joined into a network that is wider than the IPv4 space: IPv6.
  out = ir::aggregateCidrs(cidrs({"::fffe:0:0/96", "0.0.0.0/0"}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].v4);
  EXPECT_EQ(sema::formatCidr(out[0]), "::fffe:0:0/95");
  // An IPv6 network never gets the flag.
  out = ir::aggregateCidrs(cidrs({"fd00::/8", "::/0"}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].v4);
  // The flag does not matter for de-duplication: the same network written both ways.
  out = ir::aggregateCidrs(cidrs({"10.0.0.0/8", "::ffff:10.0.0.0/104"}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].v4);
}

TEST(AggregateCidrs, RandomSetsKeepTheirMembers) {
  // Aggregation is exact: every address is in the result iff it was in the input.
  test::Generator gen(42);
  for (int round = 0; round < 500; ++round) {
    ir::ValueSet s = gen.valueSet(gen.chance(0.5) ? Field::Dip : Field::Sip);
    auto out = ir::aggregateCidrs(s.cidrs);
    // Disjoint and sorted.
    for (size_t i = 1; i < out.size(); ++i) {
      EXPECT_FALSE(ir::cidrCovers(out[i - 1], out[i]) || ir::cidrCovers(out[i], out[i - 1]));
      EXPECT_LT(out[i - 1].addr, out[i].addr);
    }
    ir::Program p;
    p.outbounds = {"direct", "block"};
    ir::Rule r;
    ir::Predicate q;
    q.field = Field::Dip;
    q.set = s;
    r.predicates = {q};
    r.outbound.id = 1;
    p.rules = {r};
    test::numberRules(p);
    for (int k = 0; k < 200; ++k) {
      auto t = gen.packet(p);
      auto in = [&](const std::vector<ir::Cidr>& v) {
        return std::any_of(v.begin(), v.end(), [&](const ir::Cidr& c) { return ir::cidrContains(c, t.pkt.dip); });
      };
      ASSERT_EQ(in(s.cidrs), in(out));
    }
  }
}

// ---- aggregatePorts --------------------------------------------------------------

std::vector<ir::PortRange> ports(std::initializer_list<std::pair<int, int>> list) {
  std::vector<ir::PortRange> out;
  for (auto [lo, hi] : list) out.push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
  return out;
}

TEST(AggregatePorts, MergesOverlappingAndAdjacent) {
  EXPECT_EQ(ir::aggregatePorts(ports({{91, 100}, {80, 90}})), ports({{80, 100}}));
  EXPECT_EQ(ir::aggregatePorts(ports({{80, 80}, {81, 81}, {82, 82}})), ports({{80, 82}}));
  EXPECT_EQ(ir::aggregatePorts(ports({{1000, 2000}, {1500, 3000}})), ports({{1000, 3000}}));
  EXPECT_EQ(ir::aggregatePorts(ports({{1, 1023}, {80, 80}, {443, 443}})), ports({{1, 1023}}));
  EXPECT_EQ(ir::aggregatePorts(ports({{443, 443}, {80, 80}, {443, 443}})), ports({{80, 80}, {443, 443}}));
}

TEST(AggregatePorts, KeepsGaps) {
  EXPECT_EQ(ir::aggregatePorts(ports({{80, 89}, {91, 100}})), ports({{80, 89}, {91, 100}}));
}

TEST(AggregatePorts, Edges) {
  EXPECT_EQ(ir::aggregatePorts(ports({{65535, 65535}, {65000, 65534}})), ports({{65000, 65535}}));
  EXPECT_EQ(ir::aggregatePorts(ports({{0, 0}, {1, 1}})), ports({{0, 1}}));
  EXPECT_EQ(ir::aggregatePorts(ports({{0, 65535}, {80, 80}})), ports({{0, 65535}}));
  EXPECT_EQ(ir::aggregatePorts(ports({{65535, 65535}, {0, 0}})), ports({{0, 0}, {65535, 65535}}));
  EXPECT_TRUE(ir::aggregatePorts({}).empty());
}

// ---- program builders --------------------------------------------------------------

ir::Predicate pred(Field f, bool negated = false) {
  ir::Predicate p;
  p.field = f;
  p.negated = negated;
  return p;
}
ir::Predicate dport(std::initializer_list<std::pair<int, int>> r, bool negated = false) {
  auto p = pred(Field::Dport, negated);
  p.set.ports = ports(r);
  return p;
}
ir::Predicate dip(std::initializer_list<const char*> c, bool negated = false) {
  auto p = pred(Field::Dip, negated);
  p.set.cidrs = cidrs(c);
  return p;
}
ir::Predicate l4(uint8_t mask, bool negated = false) {
  auto p = pred(Field::L4proto, negated);
  p.set.l4protoMask = mask;
  return p;
}
ir::Predicate ipver(uint8_t mask, bool negated = false) {
  auto p = pred(Field::IpVersion, negated);
  p.set.ipversionMask = mask;
  return p;
}
ir::Predicate mac(std::vector<ir::Mac> m, bool negated = false) {
  auto p = pred(Field::Mac, negated);
  p.set.macs = std::move(m);
  return p;
}
ir::Predicate pname(std::vector<std::string> n, bool negated = false) {
  auto p = pred(Field::Pname, negated);
  p.set.pnames = std::move(n);
  return p;
}

ir::Rule rule(std::vector<ir::Predicate> preds, uint8_t outbound, bool must = false, uint32_t mark = 0) {
  ir::Rule r;
  r.predicates = std::move(preds);
  r.outbound = {outbound, must, mark};
  return r;
}
ir::Rule mustRules(std::vector<ir::Predicate> preds) {
  ir::Rule r;
  r.predicates = std::move(preds);
  r.mustRules = true;
  return r;
}

ir::Program program(std::vector<ir::Rule> rules) {
  ir::Program p;
  p.outbounds = {"direct", "block", "g"};
  p.rules = std::move(rules);
  test::numberRules(p);
  ir::renumberDomainSets(p);
  return p;
}

// ---- aggregateSets -----------------------------------------------------------------

TEST(AggregateSets, NormalisesEverySet) {
  auto p = program({rule({dip({"10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16"}), dport({{443, 443}, {80, 80}, {81, 90}}),
                          mac({{2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}}), pname({"wget", "curl", "wget"})},
                         2)});
  ir::aggregateSets(p);
  const auto& s = p.rules[0].predicates;
  EXPECT_EQ(fmt(s[0].set.cidrs), Strings{"10.0.0.0/8"});
  EXPECT_EQ(s[1].set.ports, ports({{80, 90}, {443, 443}}));
  EXPECT_EQ(s[2].set.macs, (std::vector<ir::Mac>{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}}));
  EXPECT_EQ(s[3].set.pnames, (Strings{"curl", "wget"}));
}

// ---- mergeNeighbours ---------------------------------------------------------------

TEST(MergeNeighbours, MergesRulesThatDifferInOneSet) {
  auto p = program({rule({dport({{80, 80}})}, 2), rule({dport({{443, 443}})}, 2), rule({dport({{8080, 8080}})}, 2)});
  ir::mergeNeighbours(p);
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].predicates[0].set.ports, ports({{80, 80}, {443, 443}, {8080, 8080}}));
  ASSERT_EQ(p.rules[0].mergedFrom.size(), 3u);
  EXPECT_EQ(p.rules[0].mergedFrom[0].line, 1u);
  EXPECT_EQ(p.rules[0].mergedFrom[2].line, 3u);
}

TEST(MergeNeighbours, MergesTheDifferingSetOfAConjunction) {
  auto p = program({rule({l4(1), dip({"10.0.0.0/9"})}, 0), rule({l4(1), dip({"10.128.0.0/9"})}, 0)});
  ir::mergeNeighbours(p);
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(fmt(p.rules[0].predicates[1].set.cidrs), Strings{"10.0.0.0/8"});
}

TEST(MergeNeighbours, NeverMergesNegatedSets) {
  // `!dport(80) -> g; !dport(443) -> g` sends 80 and 443 to g (each passes the other
  // rule); `!dport(80, 443) -> g` would not.
  auto p = program({rule({dport({{80, 80}}, true)}, 2), rule({dport({{443, 443}}, true)}, 2)});
  ir::mergeNeighbours(p);
  ASSERT_EQ(p.rules.size(), 2u);
  // Nor a negated set with a positive one.
  p = program({rule({dport({{80, 80}}, true)}, 2), rule({dport({{443, 443}})}, 2)});
  ir::mergeNeighbours(p);
  EXPECT_EQ(p.rules.size(), 2u);
  // Rules that share a negated condition and differ in a positive one do merge.
  p = program({rule({dport({{80, 80}}, true), l4(1)}, 2), rule({dport({{80, 80}}, true), l4(2)}, 2)});
  ir::mergeNeighbours(p);
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].predicates[1].set.l4protoMask, 3);
  EXPECT_TRUE(p.rules[0].predicates[0].negated);
}

TEST(MergeNeighbours, NeedsTheSameOutboundMustAndMark) {
  for (auto second : {rule({dport({{443, 443}})}, 1), rule({dport({{443, 443}})}, 2, true),
                      rule({dport({{443, 443}})}, 2, false, 0x800)}) {
    auto p = program({rule({dport({{80, 80}})}, 2), second});
    ir::mergeNeighbours(p);
    EXPECT_EQ(p.rules.size(), 2u);
  }
  auto p = program({rule({dport({{80, 80}})}, 0, true, 0x800), rule({dport({{443, 443}})}, 0, true, 0x800)});
  ir::mergeNeighbours(p);
  EXPECT_EQ(p.rules.size(), 1u);
}

TEST(MergeNeighbours, OnlyNeighboursAndOnlyOneDifference) {
  auto p = program({rule({dport({{80, 80}})}, 2), rule({l4(1)}, 0), rule({dport({{443, 443}})}, 2)});
  ir::mergeNeighbours(p);
  EXPECT_EQ(p.rules.size(), 3u);
  p = program({rule({dport({{80, 80}}), l4(1)}, 2), rule({dport({{443, 443}}), l4(2)}, 2)});
  ir::mergeNeighbours(p);
  EXPECT_EQ(p.rules.size(), 2u);
  // Different fields, different shapes.
  p = program({rule({dport({{80, 80}})}, 2), rule({l4(1)}, 2)});
  ir::mergeNeighbours(p);
  EXPECT_EQ(p.rules.size(), 2u);
  p = program({rule({dport({{80, 80}})}, 2), rule({dport({{80, 80}}), l4(1)}, 2)});
  ir::mergeNeighbours(p);
  EXPECT_EQ(p.rules.size(), 2u);
}

TEST(MergeNeighbours, MustRulesMergeWithMustRules) {
  auto p = program({mustRules({dport({{53, 53}})}), mustRules({dport({{853, 853}})}), rule({dport({{5353, 5353}})}, 0)});
  ir::mergeNeighbours(p);
  ASSERT_EQ(p.rules.size(), 2u);
  EXPECT_TRUE(p.rules[0].mustRules);
  EXPECT_EQ(p.rules[0].predicates[0].set.ports, ports({{53, 53}, {853, 853}}));
  EXPECT_FALSE(p.rules[1].mustRules);
}

TEST(MergeNeighbours, RenumbersDomainSets) {
  auto dom = [](const char* v) {
    auto p = pred(Field::Domain);
    p.set.domains = {{sema::Matcher::Kind::DomainSuffix, v}};
    return p;
  };
  auto p = program({rule({dom("a.com")}, 2), rule({dom("b.com")}, 2), rule({dom("c.com")}, 0)});
  ASSERT_EQ(p.domainSets.size(), 3u);
  ir::mergeNeighbours(p);
  ASSERT_EQ(p.rules.size(), 2u);
  ASSERT_EQ(p.domainSets.size(), 2u);
  EXPECT_EQ(p.rules[0].predicates[0].domainSet, 0);
  EXPECT_EQ(p.domainSets[0].size(), 2u);
  EXPECT_EQ(p.rules[1].predicates[0].domainSet, 1);
}

// ---- removeUnreachable -------------------------------------------------------------

struct DiagRun {
  frontend::SourceManager sm;
  frontend::DiagnosticEngine diags{sm};
  DiagRun() { sm.add("t.dae", std::string(50, '\n')); }
  // "W<line>: message" and "N<line>" for each diagnostic.
  Strings summary() const {
    Strings out;
    for (const auto& d : diags.all())
      out.push_back((d.severity == frontend::Severity::Warning ? "W" : "N") + std::to_string(d.range.line) +
                    (d.severity == frontend::Severity::Warning ? ": " + d.message : ""));
    return out;
  }
};

void fixFiles(ir::Program& p) {
  for (auto& r : p.rules) r.range.file = 1;
}

Strings unreachable(ir::Program p, size_t* kept = nullptr) {
  DiagRun run;
  fixFiles(p);
  ir::aggregateSets(p);
  ir::removeUnreachable(p, run.diags, true);
  if (kept) *kept = p.rules.size();
  return run.summary();
}

TEST(RemoveUnreachable, Contradictions) {
  size_t kept = 0;
  EXPECT_EQ(unreachable(program({rule({l4(1), l4(2)}, 1)}), &kept),
            Strings{"W1: this rule can never match: two l4proto() conditions have nothing in common"});
  EXPECT_EQ(kept, 0u);
  EXPECT_EQ(unreachable(program({rule({dport({{80, 80}}), dport({{1, 1023}}, true)}, 1)})),
            Strings{"W1: this rule can never match: dport() and its negation exclude each other"});
  EXPECT_EQ(unreachable(program({rule({dip({"::/0"}, true)}, 1)})),
            Strings{"W1: this rule can never match: !dip() excludes every packet"});
  EXPECT_EQ(unreachable(program({rule({l4(3, true)}, 1)})),
            Strings{"W1: this rule can never match: !l4proto() excludes every packet"});
  EXPECT_EQ(unreachable(program({rule({ipver(1), dip({"fd00::/8", "2001:db8::/32"})}, 1)})),
            Strings{"W1: this rule can never match: ipversion(4) and dip() of the other IP version exclude each other"});
  EXPECT_EQ(unreachable(program({rule({ipver(2), dip({"10.0.0.0/8", "::ffff:192.168.0.0/112"})}, 1)})),
            Strings{"W1: this rule can never match: ipversion(6) and dip() of the other IP version exclude each other"});
  EXPECT_EQ(unreachable(program({rule({dip({"10.0.0.0/9"}), dip({"10.128.0.0/9"})}, 1)})),
            Strings{"W1: this rule can never match: two dip() conditions have nothing in common"});
  EXPECT_EQ(unreachable(program({rule({mac({{2, 0, 0, 0, 0, 1}}), mac({{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}}, true)}, 1)})),
            Strings{"W1: this rule can never match: mac() and its negation exclude each other"});
}

TEST(RemoveUnreachable, KeepsSatisfiableConjunctions) {
  size_t kept = 0;
  EXPECT_EQ(unreachable(program({rule({ipver(1), dip({"0.0.0.0/0"})}, 1), rule({ipver(2), dip({"2001:db8::/32"})}, 1),
                                 rule({ipver(6 & 2), dip({"fd00::/8", "10.0.0.0/8"})}, 1),
                                 rule({dport({{80, 90}}), dport({{85, 85}}, true)}, 1), rule({l4(1), l4(3)}, 1),
                                 rule({dip({"10.0.0.0/8"}), dip({"10.1.0.0/16"})}, 2)}),
                        &kept),
            Strings{});
  EXPECT_EQ(kept, 6u);
}

TEST(RemoveUnreachable, ShadowedRulesWithBothLocations) {
  size_t kept = 0;
  auto p = program({rule({dport({{80, 80}, {443, 443}})}, 2), rule({l4(1)}, 0), rule({dport({{443, 443}}), l4(2)}, 1)});
  EXPECT_EQ(unreachable(p, &kept), (Strings{"W3: this rule is shadowed by an earlier rule and can never match", "N1"}));
  EXPECT_EQ(kept, 2u);
  // Subset of a CIDR set, of a negated set, a positive set disjoint from a negated one.
  EXPECT_EQ(unreachable(program({rule({dip({"10.0.0.0/8"})}, 2), rule({dip({"10.1.2.0/24"})}, 1)})),
            (Strings{"W2: this rule is shadowed by an earlier rule and can never match", "N1"}));
  EXPECT_EQ(unreachable(program({rule({dport({{80, 80}}, true)}, 2), rule({dport({{80, 80}, {443, 443}}, true)}, 1)})),
            (Strings{"W2: this rule is shadowed by an earlier rule and can never match", "N1"}));
  EXPECT_EQ(unreachable(program({rule({dport({{80, 80}}, true)}, 2), rule({dport({{443, 443}})}, 1)})),
            (Strings{"W2: this rule is shadowed by an earlier rule and can never match", "N1"}));
  // A must_rules rule after a rule that decides everything it matches.
  EXPECT_EQ(unreachable(program({rule({dport({{0, 100}})}, 2), mustRules({dport({{53, 53}})})})),
            (Strings{"W2: this rule is shadowed by an earlier rule and can never match", "N1"}));
}

TEST(RemoveUnreachable, MustRulesNeverShadow) {
  // must_rules only sets a flag; the rule after it is still reached.
  size_t kept = 0;
  EXPECT_EQ(unreachable(program({mustRules({dport({{53, 53}})}), rule({dport({{53, 53}})}, 0)}), &kept), Strings{});
  EXPECT_EQ(kept, 2u);
}

TEST(RemoveUnreachable, NotMacNeverMatchesTheZeroMac) {
  // `!mac(x)` does not match a packet without a MAC, so `mac(00:..)` after it is reachable.
  size_t kept = 0;
  EXPECT_EQ(unreachable(program({rule({mac({{2, 0, 0, 0, 0, 1}}, true)}, 1), rule({mac({{0, 0, 0, 0, 0, 0}})}, 2)}), &kept),
            Strings{});
  EXPECT_EQ(kept, 2u);
  // ... but a non-zero MAC outside the negated set is shadowed.
  EXPECT_EQ(unreachable(program({rule({mac({{2, 0, 0, 0, 0, 1}}, true)}, 1), rule({mac({{2, 0, 0, 0, 0, 2}})}, 2)})),
            (Strings{"W2: this rule is shadowed by an earlier rule and can never match", "N1"}));
}

TEST(RemoveUnreachable, PnameOnlyForTheHostsTraffic) {
  // `!pname(curl)` matches every LAN packet, and `pname(wget)` is disjoint from curl.
  EXPECT_EQ(unreachable(program({rule({pname({"curl"}, true)}, 1), rule({pname({"wget"})}, 2)})),
            (Strings{"W2: this rule is shadowed by an earlier rule and can never match", "N1"}));
  size_t kept = 0;
  EXPECT_EQ(unreachable(program({rule({pname({"curl"})}, 1), rule({pname({"curl"}, true)}, 2)}), &kept), Strings{});
  EXPECT_EQ(kept, 2u);
}

TEST(RemoveUnreachable, WarnsWithoutRemovingWhenAsked) {
  auto p = program({rule({dport({{80, 80}})}, 2), rule({dport({{80, 80}})}, 1), rule({l4(1), l4(2)}, 1)});
  fixFiles(p);
  DiagRun run;
  ir::removeUnreachable(p, run.diags, false);
  EXPECT_EQ(p.rules.size(), 3u);
  EXPECT_EQ(run.diags.warningCount(), 2u);
}

// ---- optimize --------------------------------------------------------------------

TEST(Optimize, O1RunsEveryPassO0OnlyWarns) {
  auto make = [] {
    auto p = program({rule({dip({"10.0.0.0/9"})}, 0), rule({dip({"10.128.0.0/9"})}, 0), rule({dip({"10.1.0.0/16"})}, 1),
                      rule({dport({{80, 80}}, true)}, 2), rule({dport({{443, 443}}, true)}, 2)});
    fixFiles(p);
    return p;
  };
  {
    DiagRun run;
    auto p = make();
    ir::optimize(p, run.diags, 1);
    ASSERT_EQ(p.rules.size(), 3u);
    EXPECT_EQ(fmt(p.rules[0].predicates[0].set.cidrs), Strings{"10.0.0.0/8"});
    EXPECT_EQ(run.summary(), (Strings{"W3: this rule is shadowed by an earlier rule and can never match", "N1"}));
  }
  {
    DiagRun run;
    auto p = make();
    ir::optimize(p, run.diags, 0);
    EXPECT_EQ(p.rules.size(), 5u);
    EXPECT_EQ(p.rules[0].predicates[0].set.cidrs.size(), 1u);
    EXPECT_EQ(run.summary(), (Strings{"W3: this rule is shadowed by an earlier rule and can never match", "N1"}));
  }
}

}  // namespace
