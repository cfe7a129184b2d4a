// The answer cache: which responses are cacheable and for how long, TTLs served
// decreasing with age, fixed_domain_ttl, the optimistic (stale) window, LRU bound.
#include <gtest/gtest.h>

#include "dns/Cache.h"

using namespace dae::dns;
using namespace std::chrono_literals;

namespace {

std::string rdataA(int a, int b, int c, int d) {
  return std::string{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)};
}

std::string answer(const std::string& name, std::vector<uint32_t> ttls, Rcode rc = Rcode::NoError) {
  std::string q = buildQuery(0x4242, name, kTypeA);
  std::vector<SimpleRecord> recs;
  int i = 1;
  for (uint32_t t : ttls) recs.push_back({name, kTypeA, t, rdataA(198, 18, 1, i++)});
  return buildReply(q, rc, recs);
}

// A negative answer with an SOA (TTL soaTtl, minimum soaMin) in the authority section.
std::string negative(const std::string& name, Rcode rc, uint32_t soaTtl, uint32_t soaMin) {
  std::string w = buildEmptyReply(buildQuery(1, name, kTypeA), rc);
  w[9] = 1;  // nscount
  std::string soa;
  soa += std::string{2, 'n', 's', 0, 1, 'h', 0};
  for (uint32_t v : {1u, 2u, 3u, 4u, soaMin})
    for (int s = 24; s >= 0; s -= 8) soa.push_back(static_cast<char>((v >> s) & 0xFF));
  w.push_back(0);  // owner: root
  w += std::string{0, 6, 0, 1};
  for (int s = 24; s >= 0; s -= 8) w.push_back(static_cast<char>((soaTtl >> s) & 0xFF));
  w.push_back(static_cast<char>(soa.size() >> 8));
  w.push_back(static_cast<char>(soa.size() & 0xFF));
  w += soa;
  return w;
}

Message parsed(const std::string& w) {
  auto r = parse(w);
  EXPECT_TRUE(r) << r.error;
  return *r.message;
}

std::vector<uint32_t> ttlsOf(const std::string& w) {
  std::vector<uint32_t> out;
  for (const auto& r : parsed(w).answers) out.push_back(r.ttl);
  return out;
}

}  // namespace

TEST(DnsCache, Cacheability) {
  EXPECT_EQ(cacheTtl(parsed(answer("a.test", {60, 30})), std::nullopt), 30u);
  EXPECT_EQ(cacheTtl(parsed(answer("a.test", {60, 30})), 600u), 600u);
  EXPECT_FALSE(cacheTtl(parsed(answer("a.test", {60})), 0u));  // fixed_domain_ttl 0: never cached
  EXPECT_FALSE(cacheTtl(parsed(answer("a.test", {0})), std::nullopt));
  EXPECT_FALSE(cacheTtl(parsed(answer("a.test", {60}, Rcode::ServFail)), std::nullopt));
  EXPECT_FALSE(cacheTtl(parsed(answer("a.test", {60}, Rcode::Refused)), std::nullopt));
  // NXDOMAIN / NODATA: min(SOA TTL, SOA minimum); without an SOA: not cached.
  EXPECT_EQ(cacheTtl(parsed(negative("nx.test", Rcode::NxDomain, 900, 120)), std::nullopt), 120u);
  EXPECT_EQ(cacheTtl(parsed(negative("nx.test", Rcode::NoError, 50, 120)), std::nullopt), 50u);
  EXPECT_FALSE(cacheTtl(parsed(buildEmptyReply(buildQuery(1, "x.test", kTypeA), Rcode::NxDomain)), std::nullopt));
  // Truncated answers and queries are never cached.
  std::string tc = answer("a.test", {60});
  tc[2] = static_cast<char>(tc[2] | 0x02);
  EXPECT_FALSE(cacheTtl(parsed(tc), std::nullopt));
  EXPECT_FALSE(cacheTtl(parsed(buildQuery(1, "a.test", kTypeA)), std::nullopt));
}

TEST(DnsCache, ServesWithDecreasingTtlAndPatchedId) {
  Cache c({});
  auto t0 = Clock::now();
  std::string w = answer("a.test", {60, 30});
  Message m = parsed(w);
  c.insert("k", makeEntry(w, m, *cacheTtl(m, std::nullopt), false, t0));
  std::string out;
  CacheEntry* e = nullptr;
  ASSERT_EQ(c.lookup("k", t0 + 10s, 0x7777, out, &e), Cache::State::Fresh);
  EXPECT_EQ(getId(out), 0x7777);
  EXPECT_EQ(ttlsOf(out), (std::vector<uint32_t>{50, 20}));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->addresses.size(), 2u);
  // Past the smallest TTL without the optimistic cache: gone.
  Cache strict({0, false, 60s});
  strict.insert("k", makeEntry(w, m, 30, false, t0));
  EXPECT_EQ(strict.lookup("k", t0 + 29s, 1, out), Cache::State::Fresh);
  EXPECT_EQ(strict.lookup("k", t0 + 30s, 1, out), Cache::State::Miss);
  EXPECT_EQ(strict.size(), 0u);
}

TEST(DnsCache, FixedTtlRewritesRecords) {
  Cache c({});
  auto t0 = Clock::now();
  std::string w = answer("ddns.test", {60, 30});
  Message m = parsed(w);
  auto ttl = cacheTtl(m, 10u);
  ASSERT_EQ(ttl, 10u);
  c.insert("k", makeEntry(w, m, *ttl, true, t0));
  std::string out;
  ASSERT_EQ(c.lookup("k", t0 + 3s, 1, out), Cache::State::Fresh);
  EXPECT_EQ(ttlsOf(out), (std::vector<uint32_t>{7, 7}));
}

TEST(DnsCache, OptimisticWindow) {
  auto t0 = Clock::now();
  std::string w = answer("a.test", {30});
  Message m = parsed(w);
  Cache c({0, true, 60s});
  c.insert("k", makeEntry(w, m, 30, false, t0));
  std::string out;
  EXPECT_EQ(c.lookup("k", t0 + 31s, 1, out), Cache::State::Stale);
  EXPECT_EQ(ttlsOf(out), (std::vector<uint32_t>{kStaleTtl}));
  EXPECT_EQ(c.lookup("k", t0 + 89s, 1, out), Cache::State::Stale);
  EXPECT_EQ(c.lookup("k", t0 + 90s, 1, out), Cache::State::Miss);
  // A window of 0 serves stale answers until they are evicted.
  Cache forever({0, true, 0s});
  forever.insert("k", makeEntry(w, m, 30, false, t0));
  EXPECT_EQ(forever.lookup("k", t0 + 24h, 1, out), Cache::State::Stale);
  EXPECT_EQ(forever.sweep(t0 + 24h), 0u);
}

TEST(DnsCache, LruBound) {
  auto t0 = Clock::now();
  Cache c({2, true, 60s});
  std::string w = answer("a.test", {300});
  Message m = parsed(w);
  c.insert("a", makeEntry(w, m, 300, false, t0));
  c.insert("b", makeEntry(w, m, 300, false, t0));
  std::string out;
  ASSERT_EQ(c.lookup("a", t0, 1, out), Cache::State::Fresh);  // a is now the most recent
  c.insert("c", makeEntry(w, m, 300, false, t0));
  EXPECT_EQ(c.size(), 2u);
  EXPECT_TRUE(c.contains("a"));
  EXPECT_FALSE(c.contains("b"));
  EXPECT_TRUE(c.contains("c"));
  EXPECT_EQ(c.stats().evictions, 1u);
  // Re-inserting a key replaces it without growing.
  c.insert("c", makeEntry(w, m, 300, false, t0));
  EXPECT_EQ(c.size(), 2u);
  for (int i = 0; i < 1000; ++i) c.insert("k" + std::to_string(i), makeEntry(w, m, 300, false, t0));
  EXPECT_EQ(c.size(), 2u);
}

TEST(DnsCache, SweepDropsExpired) {
  auto t0 = Clock::now();
  Cache c({0, true, 10s});
  std::string w = answer("a.test", {30});
  Message m = parsed(w);
  c.insert("short", makeEntry(w, m, 5, false, t0));
  c.insert("long", makeEntry(w, m, 300, false, t0));
  EXPECT_EQ(c.sweep(t0 + 14s), 0u);  // still in the stale window
  EXPECT_EQ(c.sweep(t0 + 15s), 1u);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_TRUE(c.contains("long"));
}

TEST(DnsCache, KeysSeparateTypeAndClass) {
  EXPECT_NE(cacheKey("a.test", kTypeA, kClassIN), cacheKey("a.test", kTypeAAAA, kClassIN));
  EXPECT_NE(cacheKey("a.test", kTypeA, kClassIN), cacheKey("a.test", kTypeA, 3));
  EXPECT_NE(cacheKey("a.tes", kTypeA, kClassIN), cacheKey("a.test", kTypeA, kClassIN));
}
