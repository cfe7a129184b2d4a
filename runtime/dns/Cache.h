// The answer cache: upstream responses keyed by (name, type, class), served with the
// ID and the TTLs patched in place. TTL handling:
//   * positive answers live for the smallest TTL of the answer section;
//   * NXDOMAIN / NODATA live for min(SOA TTL, SOA minimum) (RFC 2308) and are not
//     cached without an SOA;
//   * SERVFAIL, REFUSED, truncated or otherwise odd responses are never cached;
//   * fixed_domain_ttl overrides the TTL of every record for its exact names (0: never
//     cached).
// With the optimistic cache (RFC 8767) an expired entry is still served, with TTL 30,
// for `staleWindow` after it expired (0: for ever, until evicted); the module refreshes
// it in the background. maxEntries bounds the size (least recently used evicted first).
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/Message.h"

namespace dae::dns {

using Clock = std::chrono::steady_clock;

inline constexpr uint32_t kStaleTtl = 30;  // RFC 8767 section 4

struct CacheEntry {
  std::string wire;  // the response, ID zeroed
  std::vector<std::pair<uint16_t, uint32_t>> ttls;  // TTL field offset -> TTL when stored
  uint32_t ttl = 0;                                 // seconds the entry is fresh
  Clock::time_point stored;
  std::vector<std::array<uint8_t, 16>> addresses;  // A / AAAA of the answer section (IPv4 mapped)
  Clock::time_point mapWritten;                    // last write of the addresses to dae_domain_map
  std::string upstream;                            // who answered (for logs)
};

struct CacheOptions {
  size_t maxEntries = 0;  // 0: unbounded
  bool optimistic = true;
  std::chrono::seconds staleWindow{60};  // 0 with optimistic: serve stale for ever
};

// How long a response may be cached: nullopt when it must not be. `fixedTtl` (from
// fixed_domain_ttl) replaces the computed TTL when set.
std::optional<uint32_t> cacheTtl(const Message& response, std::optional<uint32_t> fixedTtl);

// A cache entry for `wire` (parsed as `parsed`) living `ttl` seconds from `now`; every
// record's TTL is set to `ttl` when `rewriteTtls` (fixed_domain_ttl), else kept.
CacheEntry makeEntry(std::string wire, const Message& parsed, uint32_t ttl, bool rewriteTtls, Clock::time_point now);

std::string cacheKey(std::string_view canonicalName, uint16_t type, uint16_t qclass);

class Cache {
 public:
  enum class State { Miss, Fresh, Stale };

  explicit Cache(CacheOptions options) : options_(options) {}

  // On a hit, `out` receives the response with `id` and TTLs adjusted to the entry's
  // age (TTL kStaleTtl when stale); *entry, if given, points at the entry until the
  // next insert or sweep.
  State lookup(const std::string& key, Clock::time_point now, uint16_t id, std::string& out,
               CacheEntry** entry = nullptr);
  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  void insert(const std::string& key, CacheEntry entry);
  void erase(const std::string& key);
  // Drops every entry that can no longer be served at `now`.
  size_t sweep(Clock::time_point now);
  size_t size() const { return index_.size(); }
  const CacheOptions& options() const { return options_; }

  struct Stats {
    uint64_t fresh = 0, stale = 0, misses = 0, inserts = 0, evictions = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Node {
    std::string key;
    CacheEntry entry;
  };
  bool servable(const CacheEntry& e, Clock::time_point now, bool& stale) const;

  CacheOptions options_;
  std::list<Node> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Node>::iterator> index_;
  Stats stats_;
};

}  // namespace dae::dns
