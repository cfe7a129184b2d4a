#include "dns/Cache.h"

#include <algorithm>
#include <limits>

namespace dae::dns {

std::optional<uint32_t> cacheTtl(const Message& m, std::optional<uint32_t> fixedTtl) {
  if (!m.isResponse() || m.truncated() || m.opcode() != 0 || m.questions.size() != 1) return std::nullopt;
  Rcode rc = m.rcode();
  if (rc != Rcode::NoError && rc != Rcode::NxDomain) return std::nullopt;
  uint32_t ttl = std::numeric_limits<uint32_t>::max();
  bool positive = rc == Rcode::NoError && !m.answers.empty();
  if (positive) {
    for (const auto& r : m.answers) ttl = std::min(ttl, r.ttl);
  } else {
    // Negative answer: the SOA of the authority section says how long (RFC 2308 5).
    bool soa = false;
    for (const auto& r : m.authority)
      if (r.type == kTypeSOA) {
        ttl = std::min({ttl, r.ttl, r.soaMinimum});
        soa = true;
      }
    if (!soa) return fixedTtl && *fixedTtl > 0 ? fixedTtl : std::nullopt;
  }
  if (fixedTtl) ttl = *fixedTtl;
  if (ttl == 0) return std::nullopt;
  return ttl;
}

CacheEntry makeEntry(std::string wire, const Message& parsed, uint32_t ttl, bool rewriteTtls, Clock::time_point now) {
  CacheEntry e;
  if (rewriteTtls) setAllTtls(wire, parsed, ttl);
  setId(wire, 0);
  for (const auto* sec : {&parsed.answers, &parsed.authority, &parsed.additional})
    for (const auto& r : *sec)
      if (r.type != kTypeOPT) e.ttls.emplace_back(r.ttlOffset, rewriteTtls ? ttl : r.ttl);
  for (const auto& r : parsed.answers)
    if (r.address) e.addresses.push_back(*r.address);
  e.wire = std::move(wire);
  e.ttl = ttl;
  e.stored = now;
  return e;
}

std::string cacheKey(std::string_view canonicalName, uint16_t type, uint16_t qclass) {
  std::string k;
  k.reserve(canonicalName.size() + 5);
  k.append(canonicalName);
  k.push_back('\0');
  k.push_back(static_cast<char>(type >> 8));
  k.push_back(static_cast<char>(type & 0xFF));
  k.push_back(static_cast<char>(qclass >> 8));
  k.push_back(static_cast<char>(qclass & 0xFF));
  return k;
}

bool Cache::servable(const CacheEntry& e, Clock::time_point now, bool& stale) const {
  auto age = now - e.stored;
  stale = age >= std::chrono::seconds(e.ttl);
  if (!stale) return true;
  if (!options_.optimistic) return false;
  if (options_.staleWindow.count() == 0) return true;
  return age < std::chrono::seconds(e.ttl) + options_.staleWindow;
}

Cache::State Cache::lookup(const std::string& key, Clock::time_point now, uint16_t id, std::string& out,
                           CacheEntry** entry) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return State::Miss;
  }
  CacheEntry& e = it->second->entry;
  bool stale = false;
  if (!servable(e, now, stale)) {
    lru_.erase(it->second);
    index_.erase(it);
    ++stats_.misses;
    return State::Miss;
  }
  if (it->second != lru_.begin()) lru_.splice(lru_.begin(), lru_, it->second);
  out = e.wire;
  setId(out, id);
  uint32_t age = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now - e.stored).count());
  for (const auto& [offset, ttl] : e.ttls) {
    uint32_t v = stale ? kStaleTtl : (ttl > age ? ttl - age : 0);
    if (static_cast<size_t>(offset) + 4 > out.size()) continue;
    out[offset] = static_cast<char>(v >> 24);
    out[offset + 1u] = static_cast<char>((v >> 16) & 0xFF);
    out[offset + 2u] = static_cast<char>((v >> 8) & 0xFF);
    out[offset + 3u] = static_cast<char>(v & 0xFF);
  }
  if (entry) *entry = &e;
  ++(stale ? stats_.stale : stats_.fresh);
  return stale ? State::Stale : State::Fresh;
}

void Cache::insert(const std::string& key, CacheEntry entry) {
  ++stats_.inserts;
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->entry = std::move(entry);
    if (it->second != lru_.begin()) lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Node{key, std::move(entry)});
  index_.emplace(key, lru_.begin());
  while (options_.maxEntries != 0 && index_.size() > options_.maxEntries) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++stats_.evictions;
  }
}

void Cache::erase(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

size_t Cache::sweep(Clock::time_point now) {
  size_t removed = 0;
  for (auto it = lru_.begin(); it != lru_.end();) {
    bool stale = false;
    if (servable(it->entry, now, stale)) {
      ++it;
      continue;
    }
    index_.erase(it->key);
    it = lru_.erase(it);
    ++removed;
  }
  return removed;
}

}  // namespace dae::dns
