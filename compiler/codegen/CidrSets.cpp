#include "codegen/CidrSets.h"

#include <algorithm>
#include <bitset>
#include <map>

#include "ir/Passes.h"

namespace dae::codegen::detail {

std::array<uint8_t, 16> maskAddress(const std::array<uint8_t, 16>& addr, int prefix) {
  std::array<uint8_t, 16> out{};
  for (int i = 0; i < 16; ++i) {
    int bits = std::clamp(prefix - 8 * i, 0, 8);
    out[i] = static_cast<uint8_t>(addr[i] & (0xff00 >> bits));
  }
  return out;
}

CidrParts splitCidrParts(std::vector<ir::Cidr> nets) {
  static const std::array<uint8_t, 12> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  CidrParts parts;
  for (auto& c : ir::aggregateCidrs(std::move(nets))) {
    if (c.prefix >= 96 && std::equal(mapped.begin(), mapped.end(), c.addr.begin())) {
      parts.v4.push_back(c);
      continue;
    }
    // A network of at most 96 bits either covers ::ffff:0:0/96 or misses it.
    if (c.prefix <= 96 && maskAddress(c.addr, c.prefix) == maskAddress({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, c.prefix))
      parts.v4All = true;
    parts.v6.push_back(c);
  }
  if (parts.v4All) parts.v4.clear();  // covered (aggregation already dropped them)
  return parts;
}

std::optional<StrideTrie> planStrideTrie(const std::vector<ir::Cidr>& part, int offsetBits, size_t maxNodes) {
  StrideTrie t;
  t.offsetBits = offsetBits;
  const int offsetBytes = offsetBits / 8;
  for (const auto& c : part) {
    int len = c.prefix - offsetBits;
    if (len <= 0) {
      t.all = true;
      continue;
    }
    if (t.nodes.empty()) t.nodes.emplace_back().fill(0);
    int last = (len - 1) / 8;  // the level whose entries the network covers
    size_t node = 0;
    bool covered = false;
    for (int level = 0; level < last; ++level) {
      uint16_t& e = t.nodes[node][c.addr[offsetBytes + level]];
      if (e == kTrieMember) {  // inside a network already in the trie
        covered = true;
        break;
      }
      if (e == 0) {
        if (t.nodes.size() >= maxNodes) return std::nullopt;
        e = static_cast<uint16_t>(t.nodes.size());
        t.nodes.emplace_back().fill(0);  // invalidates e
      }
      node = t.nodes[node][c.addr[offsetBytes + level]];
    }
    if (covered) continue;
    // The network's last, partial byte covers 2^(8 - bits) entries (prefix expansion).
    int bits = len - 8 * last;
    unsigned first = c.addr[offsetBytes + last] & (0xff00u >> bits) & 0xffu;
    for (unsigned b = first; b < first + (1u << (8 - bits)); ++b) t.nodes[node][b] = kTrieMember;
    t.levels = std::max(t.levels, last + 1);
  }
  if (t.all) {
    t.nodes.clear();
    t.levels = 0;
  }
  if (t.nodes.size() > maxNodes) return std::nullopt;
  return t;
}

bool strideTrieContains(const StrideTrie& t, const std::array<uint8_t, 16>& addr) {
  if (t.all) return true;
  if (t.nodes.empty()) return false;
  size_t node = 0;
  for (int level = 0; level < t.levels; ++level) {
    uint16_t e = t.nodes[node][addr[t.offsetBits / 8 + level]];
    if (e == kTrieMember) return true;
    if (e == 0) return false;
    node = e;
  }
  return false;
}

int lengthSearchProbes(size_t lengths) {
  int probes = 0;
  while ((size_t{1} << probes) < lengths + 1) ++probes;
  return probes;
}

LengthSearch planLengthSearch(std::vector<ir::Cidr> nets) {
  LengthSearch s;
  // Aggregated, no network covers another: then a marker (a network cut to a shorter
  // length) is never itself covered by a network of the set, unless it is one.
  nets = ir::aggregateCidrs(std::move(nets));
  s.members = nets.size();
  for (const auto& c : nets) s.lengths.push_back(c.prefix);
  std::sort(s.lengths.begin(), s.lengths.end());
  s.lengths.erase(std::unique(s.lengths.begin(), s.lengths.end()), s.lengths.end());

  // (prefix, address) -> member. A network wins over a marker of the same prefix.
  std::map<std::pair<uint8_t, std::array<uint8_t, 16>>, bool> entries;
  for (const auto& c : nets) {
    size_t lo = 0, hi = s.lengths.size() - 1;
    while (true) {
      size_t mid = lengthSearchMiddle(lo, hi);
      uint8_t m = s.lengths[mid];
      if (m == c.prefix) {
        entries[{m, maskAddress(c.addr, m)}] = true;
        break;
      }
      if (m < c.prefix) {
        entries.try_emplace({m, maskAddress(c.addr, m)}, false);
        lo = mid + 1;
      } else {
        hi = mid - 1;  // mid > lo here: c.prefix is one of lengths[lo..hi]
      }
    }
  }
  for (const auto& [key, member] : entries) s.entries.push_back({key.first, key.second, member});
  return s;
}

bool lengthSearchContains(const LengthSearch& s, const std::array<uint8_t, 16>& addr) {
  if (s.lengths.empty()) return false;
  size_t lo = 0, hi = s.lengths.size() - 1;
  while (true) {
    size_t mid = lengthSearchMiddle(lo, hi);
    PrefixEntry probe{s.lengths[mid], maskAddress(addr, s.lengths[mid]), false};
    auto it = std::lower_bound(s.entries.begin(), s.entries.end(), probe);
    bool found = it != s.entries.end() && it->prefix == probe.prefix && it->addr == probe.addr;
    if (found) {
      if (it->member) return true;
      if (mid == hi) break;
      lo = mid + 1;
    } else {
      if (mid == lo) break;
      hi = mid - 1;
    }
  }
  return false;
}

}  // namespace dae::codegen::detail

namespace dae::codegen::detail {

const char* cidrStructureName(CidrStructure s) {
  switch (s) {
    case CidrStructure::StrideTrie: return "stride trie";
    case CidrStructure::LengthSearch: return "length search";
    case CidrStructure::Lpm: return "LPM trie";
  }
  return "?";
}

// Worst-case lookup costs in nanoseconds, measured with bench_route on an x86_64 VM
// (kernel 6.18) over sets of 16 to 1,000 networks of 1 to 16 prefix lengths, IPv4
// and IPv6: only their ratios matter. A trie level is an array-map lookup, which the
// verifier inlines (no call); a hash probe calls into the kernel and hashes 20
// bytes; an LPM trie lookup grows with the depth of the trie, about log2(N).
constexpr double kTrieLevelNs = 4;
constexpr double kHashProbeNs = 30;
constexpr double kLpmBaseNs = 25;
constexpr double kLpmNodeNs = 7;

CidrChoice chooseCidrStructure(const std::vector<ir::Cidr>& part, int offsetBits, const CidrChoiceLimits& limits) {
  CidrChoice best;  // the LPM trie unless something is cheaper
  double log2n = 0;
  while ((size_t{1} << static_cast<int>(log2n)) < part.size() + 1) ++log2n;
  best.costNs = kLpmBaseNs + kLpmNodeNs * log2n;
  if (limits.force == CidrStructure::Lpm) return best;

  // The search's cost needs only the number of distinct lengths; its entries are
  // planned only when it is chosen.
  std::bitset<129> lengths;
  for (const auto& c : part) lengths.set(std::min<int>(c.prefix, 128));
  double searchNs = lengthSearchProbes(lengths.count()) * kHashProbeNs;
  bool search = limits.force == CidrStructure::LengthSearch || (!limits.force && searchNs < best.costNs);
  if (search) {
    best.structure = CidrStructure::LengthSearch;
    best.costNs = searchNs;
  }
  if (limits.force != CidrStructure::LengthSearch) {
    bool forceTrie = limits.force == CidrStructure::StrideTrie;
    size_t budget = forceTrie ? limits.trieNodesLeft : std::min(limits.trieNodesLeft, 4 * part.size() + 64);
    auto trie = planStrideTrie(part, offsetBits, budget);
    if (trie && (forceTrie || trie->levels * kTrieLevelNs < best.costNs)) {
      best.structure = CidrStructure::StrideTrie;
      best.costNs = trie->levels * kTrieLevelNs;
      best.trie = std::move(trie);
      return best;
    }
  }
  if (best.structure == CidrStructure::LengthSearch) best.search = planLengthSearch(part);
  return best;
}

}  // namespace dae::codegen::detail
