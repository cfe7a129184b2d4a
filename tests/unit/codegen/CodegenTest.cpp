// The data the code generators produce besides C: the contents of every map the
// generated code declares (LPM keys, port bitmaps, MAC and process-name keys, the
// table back end's rule records), the inline limit and the budget fallback.
#include <gtest/gtest.h>

#include <cstring>

#include "codegen/Codegen.h"
#include "sema/Values.h"

namespace {

using namespace dae;
using ir::Field;

ir::Cidr cidr(const char* s) { return std::get<ir::Cidr>(sema::parseCidr(s)); }

ir::Predicate pred(Field f, bool negated = false) {
  ir::Predicate p;
  p.field = f;
  p.negated = negated;
  return p;
}

ir::Rule rule(std::vector<ir::Predicate> preds, uint8_t outbound, bool must = false, uint32_t mark = 0) {
  ir::Rule r;
  r.predicates = std::move(preds);
  r.outbound = {outbound, must, mark};
  r.text = "rule";
  return r;
}

ir::Program program(std::vector<ir::Rule> rules) {
  ir::Program p;
  p.outbounds = {"direct", "block", "proxy"};
  p.rules = std::move(rules);
  p.fallback = {2, false, 0};
  return p;
}

const codegen::MapContents* findMap(const codegen::Generated& g, const std::string& name) {
  for (const auto& m : g.maps)
    if (m.map == name) return &m;
  return nullptr;
}

uint32_t le32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
uint64_t le64(const std::string& s, size_t at) {
  uint64_t v;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}

// ---- specialised back end ------------------------------------------------------

TEST(Specialized, SmallSetsStayInlineLargeOnesBecomeMaps) {
  auto dip = pred(Field::Dip);
  for (int i = 0; i < 8; ++i) dip.set.cidrs.push_back(cidr(("10.0.0." + std::to_string(2 * i + 1)).c_str()));
  auto g = codegen::generate(program({rule({dip}, 0)}));
  EXPECT_EQ(g.backend, codegen::Backend::Specialized);
  EXPECT_TRUE(g.maps.empty());
  dip.set.cidrs.push_back(cidr("10.0.0.99"));
  g = codegen::generate(program({rule({dip}, 0)}));
  ASSERT_EQ(g.maps.size(), 1u);
  EXPECT_EQ(g.maps[0].map, "dae_trie");
  // The limit is an option.
  codegen::CodegenOptions opts;
  opts.inlineLimit = 16;
  EXPECT_TRUE(codegen::generate(program({rule({dip}, 0)}), opts).maps.empty());
}

// Nine networks that do not aggregate, IPv4 and IPv6.
ir::Predicate nineNetworks() {
  auto dip = pred(Field::Dip);
  const char* nets[] = {"10.0.0.0/8", "12.0.0.0/8", "14.0.0.0/8", "16.0.0.0/8", "18.0.0.0/8",
                        "20.0.0.0/8", "22.0.0.0/8", "fd00::/8",   "2001:db8::1/128"};
  for (const char* n : nets) dip.set.cidrs.push_back(cidr(n));
  return dip;
}

TEST(Specialized, LpmKeysArePrefixThenAddress) {
  // Forced to LPM tries: one per part.
  codegen::CodegenOptions opts;
  opts.cidrSets = codegen::CidrSetForm::Lpm;
  auto g = codegen::generate(program({rule({nineNetworks()}, 0)}), opts);
  ASSERT_EQ(g.maps.size(), 2u);
  EXPECT_EQ(g.source.find("dae_trie"), std::string::npos);
  const auto* v4 = findMap(g, "dae_set_0");
  const auto* v6 = findMap(g, "dae_set_1");
  ASSERT_NE(v4, nullptr);
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ(v4->keySize, 20u);
  EXPECT_EQ(v4->valueSize, 1u);
  ASSERT_EQ(v4->keys.size(), 7u);
  ASSERT_EQ(v6->keys.size(), 2u);
  for (const auto* m : {v4, v6})
    for (const auto& v : m->values) EXPECT_EQ(v, std::string(1, '\1'));
  // 10.0.0.0/8 is ::ffff:10.0.0.0/104, sorted first.
  EXPECT_EQ(le32(v4->keys[0], 0), 104u);
  EXPECT_EQ(v4->keys[0].substr(4), std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\0", 16));
  EXPECT_EQ(le32(v6->keys[0], 0), 128u);
  EXPECT_EQ(v6->keys[0].substr(4), std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16));
  EXPECT_EQ(le32(v6->keys[1], 0), 8u);
}

TEST(Specialized, StrideTrieNodes) {
  // The IPv4 part: seven /8s, one level (root entries 10, 12, ... 22). The IPv6
  // part: fd00::/8 and one /128 host, whose cheapest structure is the LPM trie (a
  // trie would walk 16 levels, a length search probe twice).
  auto g = codegen::generate(program({rule({nineNetworks()}, 0)}));
  const auto* trie = findMap(g, "dae_trie");
  ASSERT_NE(trie, nullptr);
  EXPECT_EQ(trie->keySize, 4u);
  EXPECT_EQ(trie->valueSize, 512u);
  ASSERT_EQ(trie->keys.size(), 1u);
  EXPECT_EQ(le32(trie->keys[0], 0), 0u);
  const std::string& root = trie->values[0];
  for (int b = 0; b < 256; ++b) {
    uint16_t e = static_cast<uint8_t>(root[2 * b]) | static_cast<uint8_t>(root[2 * b + 1]) << 8;
    bool member = b >= 10 && b <= 22 && b % 2 == 0;
    EXPECT_EQ(e, member ? 0xffff : 0) << "entry " << b;
  }
  EXPECT_NE(g.source.find("IPv4 part: 7 networks, stride trie of 1 node (0), at most 1 level."), std::string::npos);
  EXPECT_NE(g.source.find("IPv6 part: 2 networks, LPM trie dae_set_0."), std::string::npos);
  const auto* lpm = findMap(g, "dae_set_0");
  ASSERT_NE(lpm, nullptr);
  EXPECT_EQ(lpm->keys.size(), 2u);
}

TEST(Specialized, LengthSearchEntries) {
  // Twenty IPv6 hosts: one prefix length, one hash probe (a trie would need a node
  // per byte of each host).
  auto dip = pred(Field::Dip);
  for (int i = 0; i < 20; ++i) dip.set.cidrs.push_back(cidr(("2001:db8::" + std::to_string(2 * i + 1)).c_str()));
  auto g = codegen::generate(program({rule({dip}, 0)}));
  EXPECT_NE(g.source.find("IPv4 part: no networks. IPv6 part: 20 networks, length search in dae_set_0 (/128 of 128, 0 "
                          "markers), at most 1 lookup."),
            std::string::npos);
  const auto* m = findMap(g, "dae_set_0");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->keySize, 20u);
  ASSERT_EQ(m->keys.size(), 20u);
  for (size_t i = 0; i < m->keys.size(); ++i) {
    EXPECT_EQ(le32(m->keys[i], 0), 128u);
    EXPECT_EQ(m->values[i], std::string(1, '\1'));
  }
  EXPECT_EQ(m->keys[0].substr(4), std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16));
}

TEST(Specialized, PortBitmapHasExactlyTheSetsPorts) {
  auto dport = pred(Field::Dport);
  // Nine ranges, including both ends of the port space and a range across words.
  uint16_t singles[] = {0, 2, 4, 6, 8, 65535};
  for (uint16_t p : singles) dport.set.ports.push_back({p, p});
  dport.set.ports.push_back({60, 70});
  dport.set.ports.push_back({1000, 1200});
  dport.set.ports.push_back({65500, 65533});
  auto g = codegen::generate(program({rule({dport}, 0)}));
  const auto* m = findMap(g, "dae_set_0");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->keySize, 4u);
  EXPECT_EQ(m->valueSize, 8u);
  std::vector<uint64_t> words(1024, 0);
  for (size_t i = 0; i < m->keys.size(); ++i) {
    uint32_t w = le32(m->keys[i], 0);
    ASSERT_LT(w, 1024u);
    words[w] = le64(m->values[i], 0);
  }
  auto in = [&](uint32_t port) { return (words[port >> 6] >> (port & 63)) & 1; };
  for (uint32_t port = 0; port < 65536; ++port) {
    bool want = false;
    for (const auto& r : dport.set.ports) want |= port >= r.lo && port <= r.hi;
    ASSERT_EQ(in(port), want) << "port " << port;
  }
}

TEST(Specialized, MacAndPnameKeys) {
  auto mac = pred(Field::Mac);
  for (uint8_t i = 1; i <= 9; ++i) mac.set.macs.push_back({0x02, 0x42, 0xac, 0x11, 0x00, i});
  auto pname = pred(Field::Pname);
  for (int i = 1; i <= 9; ++i) pname.set.pnames.push_back("proc" + std::to_string(i));
  pname.set.pnames.back() = "systemd-resolve";  // 15 characters, the longest comm
  auto g = codegen::generate(program({rule({mac}, 1), rule({pname}, 0)}));
  const auto* m = findMap(g, "dae_set_0");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->keySize, 8u);
  ASSERT_EQ(m->keys.size(), 9u);
  EXPECT_EQ(m->keys[0], std::string("\x02\x42\xac\x11\x00\x01\0\0", 8));
  const auto* p = findMap(g, "dae_set_1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->keySize, 16u);
  ASSERT_EQ(p->keys.size(), 9u);
  EXPECT_EQ(p->keys[0], std::string("proc1\0\0\0\0\0\0\0\0\0\0\0", 16));
  EXPECT_EQ(p->keys[8], std::string("systemd-resolve\0", 16));
  // Process names match only WAN traffic.
  EXPECT_NE(g.source.find("(ctx->is_wan && dae_in_dae_set_1(ctx))"), std::string::npos);
}

TEST(Specialized, RulesAreAGlobalFunctionReadThroughVolatile) {
  auto g = codegen::generate(program({rule({pred(Field::L4proto)}, 0)}));
  EXPECT_NE(g.source.find("__attribute__((noinline)) int dae_route_rules(const volatile struct dae_route_ctx *ctx, "
                          "struct dae_route_result *res) {"),
            std::string::npos);
  EXPECT_NE(g.source.find("static __always_inline void dae_route(const struct dae_route_ctx *ctx, struct "
                          "dae_route_result *res) {\n  dae_route_rules(ctx, res);\n}"),
            std::string::npos);
}

TEST(Specialized, OverBudgetFallsBackToTheTable) {
  auto p = program({rule({pred(Field::L4proto)}, 0), rule({pred(Field::Dport)}, 1)});
  codegen::CodegenOptions opts;
  opts.specializedBudget = 10;
  auto g = codegen::generate(p, opts);
  EXPECT_EQ(g.backend, codegen::Backend::Table);
  ASSERT_EQ(g.notes.size(), 1u);
  EXPECT_NE(g.notes[0].find("the table back end was used instead"), std::string::npos);
  opts.specializedBudget = 1000000;
  EXPECT_EQ(codegen::generate(p, opts).backend, codegen::Backend::Specialized);
}

TEST(Specialized, DomainWords) {
  ir::Program p = program({});
  for (int i = 0; i < 33; ++i) {
    auto d = pred(Field::Domain);
    d.set.domains = {{sema::Matcher::Kind::DomainFull, "d" + std::to_string(i)}};
    d.domainSet = i;
    p.domainSets.push_back(d.set.domains);
    p.rules.push_back(rule({d}, static_cast<uint8_t>(i % 2)));
  }
  auto g = codegen::generate(p);
  EXPECT_EQ(g.domainWords, 2u);
  EXPECT_NE(g.source.find("#define DAE_DOMAIN_WORDS 2\n"), std::string::npos);
  EXPECT_NE(g.source.find("((ctx->domain_bitmap[1] >> 0) & 1)"), std::string::npos);
}

// ---- table back end --------------------------------------------------------------

TEST(Table, RuleRecords) {
  auto dip = pred(Field::Dip);
  dip.set.cidrs = {cidr("10.0.0.0/8"), cidr("fd00::/8")};
  auto l4 = pred(Field::L4proto, true);
  l4.set.l4protoMask = 2;
  auto dscp = pred(Field::Dscp);
  dscp.set.dscpMask = 1ULL << 46;
  ir::Rule mustRules = rule({dscp}, 0);
  mustRules.mustRules = true;
  auto p = program({rule({dip, l4}, 2, true, 0x800), mustRules});
  codegen::CodegenOptions opts;
  opts.backend = codegen::Backend::Table;
  auto g = codegen::generate(p, opts);
  EXPECT_EQ(g.backend, codegen::Backend::Table);
  const auto* rules = findMap(g, "dae_t_rules");
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->valueSize, 8u + 16u * 2);  // header + two predicate slots
  ASSERT_EQ(rules->keys.size(), 2u);
  const std::string& r0 = rules->values[0];
  EXPECT_EQ(r0[0], 2);     // npreds
  EXPECT_EQ(r0[1], 0);     // must_rules
  EXPECT_EQ(r0[2], 2);     // outbound
  EXPECT_EQ(r0[3], 1);     // must
  EXPECT_EQ(le32(r0, 4), 0x800u);
  // Predicate 0: dip (field 1), set 0. Predicate 1: !l4proto (field 5), mask udp.
  EXPECT_EQ(r0[8], static_cast<char>(Field::Dip));
  EXPECT_EQ(r0[9], 0);
  EXPECT_EQ(r0[24], static_cast<char>(Field::L4proto));
  EXPECT_EQ(r0[25], 1);
  EXPECT_EQ(le64(r0, 24 + 8), 2u);
  const std::string& r1 = rules->values[1];
  EXPECT_EQ(r1[0], 1);
  EXPECT_EQ(r1[1], 1);  // must_rules
  EXPECT_EQ(r1[8], static_cast<char>(Field::Dscp));
  EXPECT_EQ(le64(r1, 16), 1ULL << 46);
  // The CIDRs: prefixlen counts the 32-bit set id in front of the address.
  const auto* c = findMap(g, "dae_t_cidr");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->keySize, 24u);
  ASSERT_EQ(c->keys.size(), 2u);
  EXPECT_EQ(le32(c->keys[0], 0), 32u + 104u);  // 10.0.0.0/8 is ::ffff:10.0.0.0/104, sorted first
  EXPECT_EQ(le32(c->keys[0], 4), 0u);
  EXPECT_EQ(le32(c->keys[1], 0), 32u + 8u);
  // The fallback is code, not data.
  EXPECT_NE(g.source.find("res->outbound = 2;\n  res->mark = 0x00000000u;\n  res->must = st.must | 0;\n  res->rule_index = 2;"),
            std::string::npos);
}

TEST(Table, PortSetsAreSeparateBitmaps) {
  auto a = pred(Field::Dport);
  a.set.ports = {{80, 80}};
  auto b = pred(Field::Sport);
  b.set.ports = {{443, 443}};
  codegen::CodegenOptions opts;
  opts.backend = codegen::Backend::Table;
  auto g = codegen::generate(program({rule({a}, 0), rule({b}, 1)}), opts);
  const auto* m = findMap(g, "dae_t_ports");
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->keys.size(), 2u);
  EXPECT_EQ(le32(m->keys[0], 0), 80u >> 6);
  EXPECT_EQ(le64(m->values[0], 0), 1ULL << (80 & 63));
  EXPECT_EQ(le32(m->keys[1], 0), 1024u + (443u >> 6));
  EXPECT_EQ(le64(m->values[1], 0), 1ULL << (443 & 63));
  EXPECT_NE(g.source.find("__uint(max_entries, 2048);"), std::string::npos);
}

TEST(Table, DomainBitmapIsReadAtConstantOffsets) {
  // A variable index into the bitmap on the stack is refused by the verifier.
  codegen::CodegenOptions opts;
  opts.backend = codegen::Backend::Table;
  auto g = codegen::generate(program({}), opts);
  EXPECT_EQ(g.source.find("ctx->domain_bitmap[w]"), std::string::npos);
  EXPECT_NE(g.source.find("if (w == i) word = ctx->domain_bitmap[i];"), std::string::npos);
}

}  // namespace
