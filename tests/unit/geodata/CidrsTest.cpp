// Address ranges and minimal CIDR covers.
#include <gtest/gtest.h>

#include <random>

#include "geodata/Cidrs.h"
#include "sema/Values.h"

namespace {

using namespace dae::geodata;
using dae::sema::Cidr;

Cidr cidr(const char* text) { return std::get<Cidr>(dae::sema::parseCidr(text)); }
std::string fmt(const std::vector<Cidr>& v) {
  std::string out;
  for (const auto& c : v) out += (out.empty() ? "" : " ") + dae::sema::formatCidr(c);
  return out;
}
U128 v4(uint32_t a) { return kV4Base | a; }

TEST(Cidrs, CoverOfARangeIsMinimal) {
  std::vector<Cidr> out;
  coverRange(v4(0x0a000000), v4(0x0a0000ff), out);  // 10.0.0.0 - 10.0.0.255
  EXPECT_EQ(fmt(out), "10.0.0.0/24");
  out.clear();
  coverRange(v4(0x0a000001), v4(0x0a000006), out);  // 10.0.0.1 - 10.0.0.6
  EXPECT_EQ(fmt(out), "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32");
  out.clear();
  coverRange(0, ~static_cast<U128>(0), out);
  EXPECT_EQ(fmt(out), "::/0");
  out.clear();
  coverRange(1, ~static_cast<U128>(0), out);  // everything but ::
  EXPECT_EQ(out.size(), 128u);
  EXPECT_TRUE(out[0].v4 == false);
  out.clear();
  coverRange(v4(0), v4(0xffffffff), out);
  EXPECT_EQ(fmt(out), "0.0.0.0/0");
  EXPECT_TRUE(out[0].v4);
}

TEST(Cidrs, MergeJoinsOverlapsAndNeighbours) {
  auto m = mergeRanges({{10, 20}, {21, 30}, {5, 12}, {40, 50}, {45, 46}});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], (Range{5, 30}));
  EXPECT_EQ(m[1], (Range{40, 50}));
  auto top = mergeRanges({{~static_cast<U128>(0) - 5, ~static_cast<U128>(0)}, {3, 4}, {~static_cast<U128>(0) - 9, ~static_cast<U128>(0) - 6}});
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[1].first, ~static_cast<U128>(0) - 9);
}

TEST(Cidrs, ComplementCoversTheRestOfTheSpace) {
  auto merged = toRanges({cidr("10.0.0.0/8"), cidr("fc00::/7")});
  auto comp = complement(merged);
  // Together they are the whole space, without overlap.
  std::vector<Range> both = merged;
  both.insert(both.end(), comp.begin(), comp.end());
  auto all = mergeRanges(both);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], (Range{0, ~static_cast<U128>(0)}));
  for (const auto& c : comp)
    for (const auto& m : merged) EXPECT_TRUE(c.last < m.first || m.last < c.first);
  EXPECT_EQ(fmt(coverRanges(complement(toRanges({cidr("::/0")})))), "");
  EXPECT_EQ(fmt(coverRanges(complement({}))), "::/0");
}

// Random ranges: the cover is exact, disjoint, and no two blocks are mergeable
// siblings (which, for disjoint aligned blocks, means it is the minimal cover).
TEST(Cidrs, RandomCoversAreExactAndMinimal) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::vector<Range> ranges;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      U128 a = rng() % 5000, b = a + rng() % 3000;
      if (round % 2) a += kV4Base, b += kV4Base;
      ranges.push_back({a, b});
    }
    auto merged = mergeRanges(ranges);
    auto cover = coverRanges(merged);
    EXPECT_EQ(toRanges(cover), merged);
    for (size_t i = 0; i + 1 < cover.size(); ++i) {
      Range a = toRange(cover[i]), b = toRange(cover[i + 1]);
      EXPECT_LT(a.last, b.first);
      bool siblings = cover[i].prefix == cover[i + 1].prefix && cover[i].prefix > 0 && a.last + 1 == b.first &&
                      ((a.first >> (128 - cover[i].prefix)) & 1) == 0;
      EXPECT_FALSE(siblings) << fmt(cover);
    }
  }
}

TEST(Cidrs, ParseAddress) {
  U128 v;
  bool is4;
  ASSERT_TRUE(parseAddress("1.2.3.4", v, is4));
  EXPECT_TRUE(is4);
  EXPECT_EQ(v, v4(0x01020304));
  ASSERT_TRUE(parseAddress("2001:db8::1", v, is4));
  EXPECT_FALSE(is4);
  EXPECT_EQ(static_cast<uint64_t>(v >> 96), 0x20010db8u);
  EXPECT_FALSE(parseAddress("1.2.3", v, is4));
  EXPECT_FALSE(parseAddress("", v, is4));
  EXPECT_FALSE(parseAddress("zz::1::2", v, is4));
}

}  // namespace
