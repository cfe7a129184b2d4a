// Internal to codegen: how the specialised back end stores a large set of networks,
// so that its lookup costs the same whether the set holds ten networks or thousands.
//
// A set is split into its IPv4 part (networks inside ::ffff:0:0/96, walked over the
// 32 bits of the IPv4 address) and its IPv6 part (the rest, over 128 bits); the
// generated code tests which part an address belongs to first. Each part gets the
// cheapest of three structures (chooseCidrStructure):
//
//   stride trie    a multibit trie of 8-bit strides (controlled prefix expansion,
//                  Srinivasan & Varghese 1999): one node is 256 16-bit entries
//                  (0 nothing, kTrieMember in the set, else the next node), and a
//                  lookup reads one node per byte of the address, up to the longest
//                  prefix's byte. The nodes of every set live in one BPF array map,
//                  whose lookups the verifier inlines: a few instructions a level.
//   length search  one hash map of (prefix length, masked address) entries, searched
//                  by binary search on the prefix length (Waldvogel et al., SIGCOMM
//                  1997): at most ceil(log2(K + 1)) hash lookups for K distinct
//                  lengths. For parts whose trie would be deep or large (long IPv6
//                  prefixes, many scattered hosts) but whose lengths are few.
//   LPM trie       the kernel's longest-prefix-match trie: the fallback when both of
//                  the others would cost more; its walk deepens as the part grows.
//
// Length search: the search probes the middle length of the remaining range; an
// entry found there means "look at longer lengths", none means "look at shorter
// ones". So that a network of length L is found, every length probed on the way to L
// gets a marker entry (the network cut to that length). An entry's value says
// whether it is a network of the set (1) or only a marker (0); the address is in the
// set when the search finds a network, and the search stops there. Why that is
// exact: the set is aggregated, so no network covers another. If network P of length
// L contains address X, no entry of a length above L matches X (it would be a
// network inside P, or a marker of one), so every probe longer than L misses and the
// search takes P's own path: markers up to L, then P. If no network contains X,
// every entry the search finds is a marker. Costs: docs/route-testing.md.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "ir/Ir.h"

namespace dae::codegen::detail {

// ---- splitting a set into its IPv4 and IPv6 parts -------------------------------

struct CidrParts {
  std::vector<ir::Cidr> v4;  // inside ::ffff:0:0/96
  std::vector<ir::Cidr> v6;  // the rest (including networks that cover ::ffff:0:0/96)
  bool v4All = false;        // some network covers ::ffff:0:0/96: every IPv4 address
};
// Aggregates the set first.
CidrParts splitCidrParts(std::vector<ir::Cidr> nets);

// ---- stride trie ------------------------------------------------------------------

constexpr uint16_t kTrieMember = 0xffff;
constexpr size_t kTrieMaxNodes = 0xfffe;  // node numbers fit an entry, below kTrieMember

struct StrideTrie {
  int offsetBits = 0;  // where the walk starts in the 128-bit address (96 for IPv4)
  int levels = 0;      // bytes a lookup reads at most
  bool all = false;    // a network of length offsetBits: the whole part is in the set
  // nodes[0] is the root; a child entry holds its node's index (never 0).
  std::vector<std::array<uint16_t, 256>> nodes;
};
// Plans the trie of one part, or nothing when it would need more than maxNodes nodes.
std::optional<StrideTrie> planStrideTrie(const std::vector<ir::Cidr>& part, int offsetBits, size_t maxNodes);
bool strideTrieContains(const StrideTrie& trie, const std::array<uint8_t, 16>& addr);

// ---- length search ------------------------------------------------------------------

// One hash entry: the address cut to `prefix` bits (bits past it zero).
struct PrefixEntry {
  uint8_t prefix = 0;
  std::array<uint8_t, 16> addr{};
  bool member = false;  // the value: a network of the set (else a marker)
  auto operator<=>(const PrefixEntry&) const = default;
};

struct LengthSearch {
  std::vector<uint8_t> lengths;      // distinct prefix lengths, ascending
  std::vector<PrefixEntry> entries;  // networks and markers, sorted, unique
  size_t members = 0;                // networks after aggregation
};

// Plans the hash entries of a set of networks (aggregated here, so any input works).
LengthSearch planLengthSearch(std::vector<ir::Cidr> nets);
// The number of hash lookups a search over `lengths` distinct lengths needs at most.
int lengthSearchProbes(size_t lengths);
// The search over lengths[lo..hi] probes lengths[lengthSearchMiddle(lo, hi)] first.
inline size_t lengthSearchMiddle(size_t lo, size_t hi) { return lo + (hi - lo) / 2; }
// Runs the search in userspace, exactly as the generated C does (for tests).
bool lengthSearchContains(const LengthSearch& search, const std::array<uint8_t, 16>& addr);

// ---- the choice -------------------------------------------------------------------------

enum class CidrStructure { StrideTrie, LengthSearch, Lpm };
const char* cidrStructureName(CidrStructure s);

struct CidrChoice {
  CidrStructure structure = CidrStructure::Lpm;
  std::optional<StrideTrie> trie;
  std::optional<LengthSearch> search;
  double costNs = 0;  // the estimate the choice was made on (worst-case lookup)
};

struct CidrChoiceLimits {
  size_t trieNodesLeft = kTrieMaxNodes;  // of the program-wide trie map
  // Use this structure instead of the cheapest (a trie only if it fits trieNodesLeft,
  // else the LPM trie).
  std::optional<CidrStructure> force;
};

// The cheapest structure for one part (IPv4: offsetBits 96, IPv6: 0). A trie may use
// up to 4 nodes (2 KB) per network, and 64 more.
CidrChoice chooseCidrStructure(const std::vector<ir::Cidr>& part, int offsetBits, const CidrChoiceLimits& limits);

// The address cut to `prefix` bits.
std::array<uint8_t, 16> maskAddress(const std::array<uint8_t, 16>& addr, int prefix);

}  // namespace dae::codegen::detail
