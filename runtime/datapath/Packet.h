// Hand-built packets (for BPF_PROG_TEST_RUN: `--route` and tests): Ethernet (+ VLAN tags) + IPv4/IPv6 (+ extension
// headers) + TCP/UDP. Checksums are left zero: the datapath never checks them
// and BPF_PROG_TEST_RUN does not either.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "dae/abi.h"

namespace dae::datapath {

inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpAck = 0x10;

struct Packet {
  uint8_t l4proto = kTcp;
  int ipversion = 4;
  std::string src = "192.0.2.1";
  std::string dst = "198.51.100.7";
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint8_t tcpFlags = kTcpSyn;
  uint8_t dscp = 0;
  std::array<uint8_t, 6> srcMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  std::vector<uint16_t> vlanTpids;  // outermost first, e.g. {0x88a8, 0x8100}
  std::vector<uint8_t> ipv6Ext;     // IPv6 extension header numbers to chain, in order
  uint16_t etherType = 0;           // non-zero: raw ethertype with a dummy payload
};

namespace detail {

inline void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

inline void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}

inline std::vector<uint8_t> l4Header(const Packet& p) {
  std::vector<uint8_t> h;
  put16(h, p.sport);
  put16(h, p.dport);
  if (p.l4proto == kTcp) {
    put32(h, 1000);  // seq
    put32(h, 0);     // ack
    h.push_back(5 << 4);  // data offset: 20 bytes
    h.push_back(p.tcpFlags);
    put16(h, 65535);  // window
    put16(h, 0);      // checksum
    put16(h, 0);      // urgent
  } else {
    put16(h, 8 + 4);  // length: header + payload
    put16(h, 0);
  }
  for (int i = 0; i < 4; i++) h.push_back(0xAB);  // a little payload
  return h;
}

}  // namespace detail

// The address as the datapath stores it: network order, IPv4 mapped.
inline std::array<uint32_t, 4> mappedAddr(const std::string& text) {
  std::array<uint32_t, 4> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out[2] = htonl(0x0000FFFF);
    out[3] = v4.s_addr;
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) throw std::invalid_argument("bad address " + text);
  std::memcpy(out.data(), &v6, 16);
  return out;
}

inline dae_tuple tupleOf(const Packet& p) {
  dae_tuple t{};
  auto s = mappedAddr(p.src), d = mappedAddr(p.dst);
  std::memcpy(t.sip, s.data(), 16);
  std::memcpy(t.dip, d.data(), 16);
  t.sport = htons(p.sport);
  t.dport = htons(p.dport);
  t.l4proto = p.l4proto;
  return t;
}

inline std::vector<uint8_t> build(const Packet& p) {
  using detail::put16;
  using detail::put32;
  std::vector<uint8_t> b;
  const uint8_t dstMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xFE};
  b.insert(b.end(), dstMac, dstMac + 6);
  b.insert(b.end(), p.srcMac.begin(), p.srcMac.end());
  for (size_t i = 0; i < p.vlanTpids.size(); i++) {
    put16(b, p.vlanTpids[i]);
    put16(b, static_cast<uint16_t>(100 + i));  // TCI: VLAN id 100, 101, ...
  }
  if (p.etherType != 0) {
    put16(b, p.etherType);
    b.insert(b.end(), 46, 0);
    return b;
  }

  std::vector<uint8_t> l4 = detail::l4Header(p);
  if (p.ipversion == 4) {
    put16(b, 0x0800);
    in_addr s{}, d{};
    inet_pton(AF_INET, p.src.c_str(), &s);
    inet_pton(AF_INET, p.dst.c_str(), &d);
    b.push_back(0x45);
    b.push_back(static_cast<uint8_t>(p.dscp << 2));
    put16(b, static_cast<uint16_t>(20 + l4.size()));
    put16(b, 1);       // id
    put16(b, 0x4000);  // DF
    b.push_back(64);
    b.push_back(p.l4proto);
    put16(b, 0);
    const auto* sp = reinterpret_cast<const uint8_t*>(&s.s_addr);
    const auto* dp = reinterpret_cast<const uint8_t*>(&d.s_addr);
    b.insert(b.end(), sp, sp + 4);
    b.insert(b.end(), dp, dp + 4);
  } else {
    put16(b, 0x86DD);
    in6_addr s{}, d{};
    inet_pton(AF_INET6, p.src.c_str(), &s);
    inet_pton(AF_INET6, p.dst.c_str(), &d);
    // Extension headers, each 8 bytes (hdrlen 0), chained to the L4 header.
    std::vector<uint8_t> ext;
    for (size_t i = 0; i < p.ipv6Ext.size(); i++) {
      uint8_t next = i + 1 < p.ipv6Ext.size() ? p.ipv6Ext[i + 1] : p.l4proto;
      ext.push_back(next);
      if (p.ipv6Ext[i] == 44) {  // fragment: offset 0, M=1 (a first fragment)
        ext.push_back(0);
        put16(ext, 0x0001);
        put32(ext, 0x12345678);
      } else {
        ext.push_back(0);  // hdrlen 0: 8 bytes
        for (int k = 0; k < 6; k++) ext.push_back(k == 0 ? 1 : 0);  // PadN option
      }
    }
    put32(b, (6u << 28) | (static_cast<uint32_t>(p.dscp) << 22));
    put16(b, static_cast<uint16_t>(ext.size() + l4.size()));
    b.push_back(p.ipv6Ext.empty() ? p.l4proto : p.ipv6Ext[0]);
    b.push_back(64);
    b.insert(b.end(), s.s6_addr, s.s6_addr + 16);
    b.insert(b.end(), d.s6_addr, d.s6_addr + 16);
    b.insert(b.end(), ext.begin(), ext.end());
  }
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

}  // namespace dae::datapath
