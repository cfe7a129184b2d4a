#include "geodata/Cidrs.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace dae::geodata {

U128 toU128(const std::array<uint8_t, 16>& a) {
  U128 v = 0;
  for (uint8_t b : a) v = (v << 8) | b;
  return v;
}

std::array<uint8_t, 16> fromU128(U128 v) {
  std::array<uint8_t, 16> a{};
  for (int i = 15; i >= 0; --i) {
    a[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return a;
}

bool isV4Mapped(const sema::Cidr& c) { return c.prefix >= 96 && (toU128(c.addr) >> 32) == 0xffff; }

static U128 hostMask(int prefix) {  // the bits past the prefix
  return prefix >= 128 ? 0 : (~static_cast<U128>(0)) >> prefix;
}

Range toRange(const sema::Cidr& c) {
  U128 m = hostMask(c.prefix);
  U128 first = toU128(c.addr) & ~m;
  return {first, first | m};
}

std::vector<Range> mergeRanges(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  std::vector<Range> out;
  for (const Range& r : ranges) {
    if (!out.empty() && (out.back().last == ~static_cast<U128>(0) || r.first <= out.back().last + 1)) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

std::vector<Range> toRanges(const std::vector<sema::Cidr>& cidrs) {
  std::vector<Range> r;
  r.reserve(cidrs.size());
  for (const auto& c : cidrs) r.push_back(toRange(c));
  return mergeRanges(std::move(r));
}

static int countTrailingZeros(U128 v) {
  if (v == 0) return 128;
  uint64_t lo = static_cast<uint64_t>(v);
  if (lo) return __builtin_ctzll(lo);
  return 64 + __builtin_ctzll(static_cast<uint64_t>(v >> 64));
}

static int floorLog2(U128 v) {  // v > 0
  uint64_t hi = static_cast<uint64_t>(v >> 64);
  if (hi) return 127 - __builtin_clzll(hi);
  return 63 - __builtin_clzll(static_cast<uint64_t>(v));
}

static sema::Cidr makeCidr(U128 first, int prefix) {
  sema::Cidr c;
  c.addr = fromU128(first);
  c.prefix = static_cast<uint8_t>(prefix);
  c.v4 = isV4Mapped(c);
  return c;
}

void coverRange(U128 first, U128 last, std::vector<sema::Cidr>& out) {
  const U128 max = ~static_cast<U128>(0);
  if (first > last) return;
  if (first == 0 && last == max) {
    out.push_back(makeCidr(0, 0));
    return;
  }
  while (true) {
    // The largest aligned block that starts at `first` and ends by `last`.
    int k = std::min(countTrailingZeros(first), floorLog2(last - first + 1));
    out.push_back(makeCidr(first, 128 - k));
    U128 end = first + ((static_cast<U128>(1) << k) - 1);
    if (end >= last) return;
    first = end + 1;
  }
}

std::vector<sema::Cidr> coverRanges(const std::vector<Range>& merged) {
  std::vector<sema::Cidr> out;
  for (const Range& r : merged) coverRange(r.first, r.last, out);
  return out;
}

std::vector<Range> complement(const std::vector<Range>& merged) {
  std::vector<Range> out;
  U128 next = 0;  // the first address not yet accounted for
  bool done = false;
  for (const Range& r : merged) {
    if (r.first > next) out.push_back({next, r.first - 1});
    if (r.last == ~static_cast<U128>(0)) {
      done = true;
      break;
    }
    next = r.last + 1;
  }
  if (!done) out.push_back({next, ~static_cast<U128>(0)});
  return out;
}

bool parseAddress(const std::string& text, U128& out, bool& v4) {
  unsigned char buf[16];
  if (text.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, text.c_str(), buf) != 1) return false;
    uint32_t a = (uint32_t(buf[0]) << 24) | (uint32_t(buf[1]) << 16) | (uint32_t(buf[2]) << 8) | buf[3];
    out = kV4Base | a;
    v4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) != 1) return false;
  std::array<uint8_t, 16> a;
  std::memcpy(a.data(), buf, 16);
  out = toU128(a);
  v4 = false;
  return true;
}

}  // namespace dae::geodata
