// Address ranges and CIDR covers in the one 128-bit space (IPv4 as ::ffff:a.b.c.d).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sema/Model.h"

namespace dae::geodata {

using U128 = unsigned __int128;

U128 toU128(const std::array<uint8_t, 16>& a);
std::array<uint8_t, 16> fromU128(U128 v);

// The IPv4-mapped block ::ffff:0.0.0.0/96.
constexpr U128 kV4Base = static_cast<U128>(0xffff) << 32;
bool isV4Mapped(const sema::Cidr& c);

struct Range {
  U128 first = 0, last = 0;  // inclusive
  bool operator==(const Range&) const = default;
};

Range toRange(const sema::Cidr& c);
// Sorted, merged (overlapping and adjacent ranges joined).
std::vector<Range> mergeRanges(std::vector<Range> ranges);
std::vector<Range> toRanges(const std::vector<sema::Cidr>& cidrs);
// The smallest set of CIDRs whose union is exactly [first, last].
void coverRange(U128 first, U128 last, std::vector<sema::Cidr>& out);
// Minimal CIDR cover of merged ranges (sorted, disjoint, non-adjacent as mergeRanges gives).
std::vector<sema::Cidr> coverRanges(const std::vector<Range>& merged);
// Everything in the 128-bit space outside the merged ranges.
std::vector<Range> complement(const std::vector<Range>& merged);

// "1.2.3.4" or "2001:db8::1" to the 128-bit space; false when neither.
bool parseAddress(const std::string& text, U128& out, bool& v4);

}  // namespace dae::geodata
