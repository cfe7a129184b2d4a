// The structures of large sets of networks (codegen/CidrSets.h): stride tries and
// length searches, planned in userspace and walked exactly as the generated C walks
// them, must answer like the reference (ir::cidrContains) for every address; and
// the choice between them and LPM tries follows the cost model.
#include <gtest/gtest.h>

#include <random>

#include "codegen/CidrSets.h"
#include "sema/Values.h"

namespace {

using namespace dae;
using namespace dae::codegen::detail;
using Addr = std::array<uint8_t, 16>;

ir::Cidr cidr(const std::string& s) { return std::get<ir::Cidr>(sema::parseCidr(s)); }

bool reference(const std::vector<ir::Cidr>& set, const Addr& a) {
  for (const auto& c : set)
    if (ir::cidrContains(c, a)) return true;
  return false;
}

bool isMapped(const Addr& a) {
  static const Addr prefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(a.begin(), a.begin() + 12, prefix.begin());
}

// The generated function: the IPv4 part for ::ffff:0:0/96, the IPv6 part otherwise.
struct SplitTries {
  CidrParts parts;
  StrideTrie v4, v6;
  bool contains(const Addr& a) const {
    if (isMapped(a)) return parts.v4All || strideTrieContains(v4, a);
    return strideTrieContains(v6, a);
  }
};

SplitTries planTries(const std::vector<ir::Cidr>& set) {
  SplitTries s;
  s.parts = splitCidrParts(set);
  auto v4 = planStrideTrie(s.parts.v4, 96, kTrieMaxNodes);
  auto v6 = planStrideTrie(s.parts.v6, 0, kTrieMaxNodes);
  EXPECT_TRUE(v4 && v6);
  if (v4) s.v4 = *v4;
  if (v6) s.v6 = *v6;
  return s;
}

using Rng = std::mt19937_64;
int pick(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// Networks around a few bases, so that they nest, touch and share markers.
ir::Cidr randomNet(Rng& rng, bool v6) {
  ir::Cidr c;
  if (v6) {
    static const Addr bases[] = {{0x20, 0x01, 0x0d, 0xb8}, {0xfd, 0x00, 0x0d, 0xae}, {}};
    c.addr = bases[pick(rng, 0, 2)];
    for (int i = 4; i < 16; ++i) c.addr[i] = static_cast<uint8_t>(pick(rng, 0, 3) == 0 ? pick(rng, 0, 255) : pick(rng, 0, 2));
    c.prefix = static_cast<uint8_t>(pick(rng, 0, 9) == 0 ? pick(rng, 0, 128) : pick(rng, 16, 128));
  } else {
    c.addr[10] = c.addr[11] = 0xff;
    c.addr[12] = static_cast<uint8_t>(pick(rng, 9, 11));
    for (int i = 13; i < 16; ++i) c.addr[i] = static_cast<uint8_t>(pick(rng, 0, 3));
    c.prefix = static_cast<uint8_t>(96 + (pick(rng, 0, 19) == 0 ? pick(rng, 0, 32) : pick(rng, 8, 32)));
  }
  c.addr = maskAddress(c.addr, c.prefix);
  c.v4 = !v6;
  return c;
}

// An address inside one of the networks (random host bits), next to it, or random.
Addr randomAddr(Rng& rng, const std::vector<ir::Cidr>& set) {
  Addr a{};
  int how = pick(rng, 0, 3);
  if (how < 3 && !set.empty()) {
    const auto& c = set[pick(rng, 0, static_cast<int>(set.size()) - 1)];
    a = c.addr;
    for (int bit = c.prefix; bit < 128; ++bit)
      if (pick(rng, 0, 1)) a[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    if (how == 2 && c.prefix > 0) a[(c.prefix - 1) / 8] ^= static_cast<uint8_t>(0x80 >> ((c.prefix - 1) % 8));
  } else {
    bool v4 = pick(rng, 0, 1);
    if (v4) a[10] = a[11] = 0xff;
    for (int i = v4 ? 12 : 0; i < 16; ++i) a[i] = static_cast<uint8_t>(pick(rng, 0, 255));
  }
  return a;
}

TEST(CidrSets, TriesAndLengthSearchesAnswerLikeTheReference) {
  Rng rng(20261125);
  for (int round = 0; round < 300; ++round) {
    std::vector<ir::Cidr> set;
    int shape = round % 5;  // v4 only, v6 only, mixed, hosts only, one length
    int n = pick(rng, 1, round % 7 == 0 ? 400 : 40);
    int oneLength = pick(rng, 100, 128);
    for (int i = 0; i < n; ++i) {
      bool v6 = shape == 1 || (shape >= 2 && pick(rng, 0, 2) == 0);
      ir::Cidr c = randomNet(rng, v6);
      if (shape == 3) c.prefix = 128;
      if (shape == 4) c.prefix = static_cast<uint8_t>(v6 ? oneLength - 40 : oneLength);
      c.addr = maskAddress(c.addr, c.prefix);
      set.push_back(c);
    }
    if (round % 23 == 0) set.push_back(cidr("::ffff:0:0/96"));
    if (round % 29 == 0) set.push_back(cidr("::/64"));
    SplitTries tries = planTries(set);
    LengthSearch whole = planLengthSearch(set);
    LengthSearch v4 = planLengthSearch(tries.parts.v4), v6 = planLengthSearch(tries.parts.v6);
    for (int i = 0; i < 300; ++i) {
      Addr a = randomAddr(rng, set);
      bool want = reference(set, a);
      ASSERT_EQ(tries.contains(a), want) << "round " << round << " trie, address #" << i;
      ASSERT_EQ(lengthSearchContains(whole, a), want) << "round " << round << " length search, address #" << i;
      bool split = isMapped(a) ? tries.parts.v4All || lengthSearchContains(v4, a) : lengthSearchContains(v6, a);
      ASSERT_EQ(split, want) << "round " << round << " split length search, address #" << i;
    }
  }
}

TEST(CidrSets, SplitIntoParts) {
  // ::/1 covers ::ffff:0:0/96 (its first bit is 0): every IPv4 address is in.
  auto parts = splitCidrParts({cidr("10.0.0.0/8"), cidr("fd00::/8"), cidr("::ffff:1.2.3.4"), cidr("::/1")});
  EXPECT_TRUE(parts.v4All);
  EXPECT_TRUE(parts.v4.empty());
  EXPECT_EQ(parts.v6.size(), 2u);
  // 8000::/1 does not (and takes in fd00::/8).
  parts = splitCidrParts({cidr("10.0.0.0/8"), cidr("fd00::/8"), cidr("8000::/1")});
  EXPECT_FALSE(parts.v4All);
  ASSERT_EQ(parts.v4.size(), 1u);
  ASSERT_EQ(parts.v6.size(), 1u);
  parts = splitCidrParts({cidr("10.0.0.0/8"), cidr("::/0")});
  EXPECT_TRUE(parts.v4All);
  EXPECT_TRUE(parts.v4.empty());
  ASSERT_EQ(parts.v6.size(), 1u);
  parts = splitCidrParts({cidr("0.0.0.0/0"), cidr("fd00::/8")});
  EXPECT_FALSE(parts.v4All);  // 0.0.0.0/0 is ::ffff:0:0/96: the IPv4 part, whole
  ASSERT_EQ(parts.v4.size(), 1u);
  auto trie = planStrideTrie(parts.v4, 96, kTrieMaxNodes);
  ASSERT_TRUE(trie);
  EXPECT_TRUE(trie->all);
}

TEST(CidrSets, PrefixExpansionFillsTheEntriesOfAPartialByte) {
  // 10.0.0.0/23 is entries 0 and 1 of the node for 10.0; 10.0.4.0/22 entries 4-7;
  // 10.0.9.7/32 a fourth level.
  auto parts = splitCidrParts({cidr("10.0.0.0/23"), cidr("10.0.4.0/22"), cidr("10.0.9.7")});
  auto t = planStrideTrie(parts.v4, 96, kTrieMaxNodes);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->levels, 4);
  ASSERT_EQ(t->nodes.size(), 4u);  // root, 10., 10.0., 10.0.9.
  uint16_t n1 = t->nodes[0][10];
  ASSERT_NE(n1, 0);
  uint16_t n2 = t->nodes[n1][0];
  ASSERT_NE(n2, 0);
  for (int b = 0; b < 256; ++b) {
    bool member = b <= 1 || (b >= 4 && b <= 7);
    if (b == 9) EXPECT_NE(t->nodes[n2][b], 0);
    else EXPECT_EQ(t->nodes[n2][b], member ? kTrieMember : 0) << b;
  }
  EXPECT_EQ(t->nodes[t->nodes[n2][9]][7], kTrieMember);
  // The node budget is honoured.
  EXPECT_FALSE(planStrideTrie(parts.v4, 96, 3));
}

TEST(CidrSets, LengthSearchMarkers) {
  // Lengths /104 /120 /128 (IPv4 /8 /24 /32): the search probes /120 first. The /8
  // is found to the left without markers; each /32 needs a marker at /120, which two
  // hosts of one /24 share.
  auto s = planLengthSearch({cidr("11.0.0.0/8"), cidr("10.1.2.0/24"), cidr("10.1.3.1"), cidr("10.1.3.2")});
  EXPECT_EQ(s.lengths, (std::vector<uint8_t>{104, 120, 128}));
  EXPECT_EQ(s.members, 4u);
  ASSERT_EQ(s.entries.size(), 5u);
  int markers = 0;
  for (const auto& e : s.entries)
    if (!e.member) {
      ++markers;
      EXPECT_EQ(e.prefix, 120);
      EXPECT_EQ(e.addr, cidr("10.1.3.0/24").addr);
    }
  EXPECT_EQ(markers, 1);
  EXPECT_EQ(lengthSearchProbes(1), 1);
  EXPECT_EQ(lengthSearchProbes(2), 2);
  EXPECT_EQ(lengthSearchProbes(3), 2);
  EXPECT_EQ(lengthSearchProbes(7), 3);
  EXPECT_EQ(lengthSearchProbes(8), 4);
  EXPECT_EQ(lengthSearchProbes(129), 8);
}

TEST(CidrSets, ChoiceFollowsTheCostModel) {
  std::vector<ir::Cidr> v4, v6hosts, v6scattered;
  for (int i = 0; i < 1000; ++i) {
    // Every other /24 (no two are siblings, so they do not aggregate).
    v4.push_back(cidr("10." + std::to_string(2 * i / 256) + "." + std::to_string(2 * i % 256) + ".0/24"));
    char buf[64];
    std::snprintf(buf, sizeof buf, "2001:db8:%x::%x", i, i);
    v6hosts.push_back(cidr(buf));
    std::snprintf(buf, sizeof buf, "2001:db8:%x::/%d", i * 7, 48 + i % 60);
    v6scattered.push_back(cidr(buf));
  }
  auto parts = splitCidrParts(v4);
  // IPv4: a trie of root, 10. and one node for each of 10.0-10.7: 3 levels at most.
  auto c = chooseCidrStructure(parts.v4, 96, {});
  EXPECT_EQ(c.structure, CidrStructure::StrideTrie);
  ASSERT_TRUE(c.trie);
  EXPECT_EQ(c.trie->levels, 3);
  EXPECT_EQ(c.trie->nodes.size(), 2u + 8u);
  // 1,000 IPv6 hosts: a trie would need ~12 nodes each; one length, one probe.
  c = chooseCidrStructure(splitCidrParts(v6hosts).v6, 0, {});
  EXPECT_EQ(c.structure, CidrStructure::LengthSearch);
  ASSERT_TRUE(c.search);
  EXPECT_EQ(c.search->lengths.size(), 1u);
  // With no room left in the program's trie map, the next best: for one length a
  // length search, for 60 lengths (6 probes) the LPM trie.
  CidrChoiceLimits full;
  full.trieNodesLeft = 0;
  EXPECT_EQ(chooseCidrStructure(parts.v4, 96, full).structure, CidrStructure::LengthSearch);
  c = chooseCidrStructure(splitCidrParts(v6scattered).v6, 0, full);
  EXPECT_EQ(c.structure, CidrStructure::Lpm);
  EXPECT_FALSE(c.trie);
  EXPECT_FALSE(c.search);
}

}  // namespace
