/* Header parsing: Ethernet, 802.1Q / 802.1ad VLAN tags, IPv4, IPv6 with
 * extension headers, TCP, UDP.
 *
 * Every read goes through bpf_skb_load_bytes() into the stack rather than
 * direct packet access: it works on non-linear skbs (GRO, tunnels), takes
 * variable offsets without the bounds-proving dance the verifier wants for
 * skb->data, and only runs a handful of times per packet. */
#ifndef DAE_PARSE_H
#define DAE_PARSE_H

#include "dae/common.h"

/* What the skeleton needs from a packet. */
struct dae_pkt {
  struct dae_tuple tuple; /* ports in network byte order */
  __u8 ipversion;         /* 4 or 6 */
  __u8 dscp;
  __u8 tcp_flags;         /* byte 13 of the TCP header; 0 for UDP */
  __u8 pad;
  __u8 mac[6];            /* Ethernet source; zero without an L2 header */
  __u8 pad2[2];
};

/* Parse results. Anything but DAE_PARSE_OK means "not a flow we route": the
 * caller passes the packet untouched. */
enum {
  DAE_PARSE_OK = 0,
  DAE_PARSE_NOT_IP,       /* ARP, LLDP, too many VLAN tags, ... */
  DAE_PARSE_NOT_TCP_UDP,  /* ICMP, ESP, SCTP, ... */
  DAE_PARSE_FRAGMENT,     /* a non-first fragment: no L4 header to read */
  DAE_PARSE_MALFORMED,    /* truncated or inconsistent headers */
};

/* The fixed part of the headers, declared here instead of using linux/ip.h's
 * bitfields so that the layout does not depend on the headers' endianness
 * macros. */
struct dae_ipv4_hdr {
  __u8 ver_ihl;
  __u8 tos;
  __be16 tot_len;
  __be16 id;
  __be16 frag_off;
  __u8 ttl;
  __u8 protocol;
  __sum16 check;
  __be32 saddr;
  __be32 daddr;
};

struct dae_ipv6_hdr {
  __be32 ver_tc_flow;
  __be16 payload_len;
  __u8 nexthdr;
  __u8 hop_limit;
  __u32 saddr[4];
  __u32 daddr[4];
};

struct dae_ipv6_opt_hdr { /* hop-by-hop, routing, destination options, AH */
  __u8 nexthdr;
  __u8 hdrlen;
};

struct dae_ipv6_frag_hdr {
  __u8 nexthdr;
  __u8 reserved;
  __be16 frag_off; /* offset in the upper 13 bits, M flag in bit 0 */
  __be32 id;
};

struct dae_l4_ports {
  __be16 sport;
  __be16 dport;
};

#define DAE_IPV4_FRAG_OFFSET_MASK 0x1FFF
#define DAE_IPV6_FRAG_OFFSET_MASK 0xFFF8

static __always_inline void dae_ipv4_mapped(__u32 out[4], __be32 v4) {
  out[0] = 0;
  out[1] = 0;
  out[2] = bpf_htonl(0x0000FFFF);
  out[3] = v4;
}

/* Walks the Ethernet header and any VLAN tags. Returns the ethertype of the
 * payload (network order) and its offset through *off. Tags the NIC already
 * stripped into skb->vlan_tci are simply not in the data, so the same walk
 * serves offloaded and in-band tags. */
static __always_inline int dae_parse_l2(struct __sk_buff *skb, struct dae_pkt *pkt, __be16 *proto,
                                        __u32 *off) {
  struct ethhdr eth;
  if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0) return DAE_PARSE_MALFORMED;
  dae_memcpy(pkt->mac, eth.h_source, sizeof(pkt->mac));
  __be16 p = eth.h_proto;
  __u32 o = sizeof(eth);
  for (int i = 0; i < DAE_MAX_VLAN_TAGS; i++) {
    if (p != bpf_htons(ETH_P_8021Q) && p != bpf_htons(ETH_P_8021AD) &&
        p != bpf_htons(DAE_ETH_P_QINQ1))
      break;
    struct {
      __be16 tci;
      __be16 proto;
    } vlan;
    if (bpf_skb_load_bytes(skb, o, &vlan, sizeof(vlan)) < 0) return DAE_PARSE_MALFORMED;
    p = vlan.proto;
    o += sizeof(vlan);
  }
  *proto = p;
  *off = o;
  return DAE_PARSE_OK;
}

/* Fills the addresses and the L4 protocol from an IPv4 header at off; leaves
 * the L4 header's offset in *l4off. */
static __always_inline int dae_parse_ipv4(struct __sk_buff *skb, __u32 off, struct dae_pkt *pkt,
                                          __u8 *l4proto, __u32 *l4off) {
  struct dae_ipv4_hdr ip;
  if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0) return DAE_PARSE_MALFORMED;
  __u32 ihl = ip.ver_ihl & 0x0F;
  if ((ip.ver_ihl >> 4) != 4 || ihl < 5) return DAE_PARSE_MALFORMED;
  /* Later fragments carry no ports; they are passed and reassembled (or not)
   * by the stack like any other packet. */
  if (bpf_ntohs(ip.frag_off) & DAE_IPV4_FRAG_OFFSET_MASK) return DAE_PARSE_FRAGMENT;
  pkt->ipversion = 4;
  pkt->dscp = ip.tos >> 2;
  dae_ipv4_mapped(pkt->tuple.sip, ip.saddr);
  dae_ipv4_mapped(pkt->tuple.dip, ip.daddr);
  *l4proto = ip.protocol;
  *l4off = off + ihl * 4;
  return DAE_PARSE_OK;
}

/* Same for IPv6, walking up to DAE_MAX_IPV6_EXT extension headers. The loop
 * has a constant bound, which is what lets the verifier accept it. */
static __always_inline int dae_parse_ipv6(struct __sk_buff *skb, __u32 off, struct dae_pkt *pkt,
                                          __u8 *l4proto, __u32 *l4off) {
  struct dae_ipv6_hdr ip6;
  if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0) return DAE_PARSE_MALFORMED;
  __u32 vtf = bpf_ntohl(ip6.ver_tc_flow);
  if ((vtf >> 28) != 6) return DAE_PARSE_MALFORMED;
  pkt->ipversion = 6;
  pkt->dscp = (__u8)((vtf >> 20) & 0xFF) >> 2;
  dae_memcpy(pkt->tuple.sip, ip6.saddr, sizeof(ip6.saddr));
  dae_memcpy(pkt->tuple.dip, ip6.daddr, sizeof(ip6.daddr));

  __u8 nh = ip6.nexthdr;
  off += sizeof(ip6);
  for (int i = 0; i < DAE_MAX_IPV6_EXT; i++) {
    switch (nh) {
    case DAE_NEXTHDR_HOP:
    case DAE_NEXTHDR_ROUTING:
    case DAE_NEXTHDR_DEST: {
      struct dae_ipv6_opt_hdr h;
      if (bpf_skb_load_bytes(skb, off, &h, sizeof(h)) < 0) return DAE_PARSE_MALFORMED;
      nh = h.nexthdr;
      off += ((__u32)h.hdrlen + 1) * 8; /* length in 8-octet units, not counting the first */
      break;
    }
    case DAE_NEXTHDR_AUTH: {
      struct dae_ipv6_opt_hdr h;
      if (bpf_skb_load_bytes(skb, off, &h, sizeof(h)) < 0) return DAE_PARSE_MALFORMED;
      nh = h.nexthdr;
      off += ((__u32)h.hdrlen + 2) * 4; /* AH counts 4-octet units, minus 2 */
      break;
    }
    case DAE_NEXTHDR_FRAGMENT: {
      struct dae_ipv6_frag_hdr f;
      if (bpf_skb_load_bytes(skb, off, &f, sizeof(f)) < 0) return DAE_PARSE_MALFORMED;
      if (bpf_ntohs(f.frag_off) & DAE_IPV6_FRAG_OFFSET_MASK) return DAE_PARSE_FRAGMENT;
      nh = f.nexthdr;
      off += sizeof(f);
      break;
    }
    default:
      *l4proto = nh;
      *l4off = off;
      return DAE_PARSE_OK;
    }
  }
  /* More extension headers than we walk: not something we can route. */
  return DAE_PARSE_MALFORMED;
}

/* Parses a packet whose first byte is an Ethernet header (has_l2) or an IP
 * header (L3 devices, where skb->protocol says which). */
static __always_inline int dae_parse(struct __sk_buff *skb, int has_l2, struct dae_pkt *pkt) {
  dae_memset(pkt, 0, sizeof(*pkt));
  __be16 proto;
  __u32 off = 0;
  if (has_l2) {
    int err = dae_parse_l2(skb, pkt, &proto, &off);
    if (err) return err;
  } else {
    proto = (__be16)skb->protocol;
  }

  __u8 l4proto = 0;
  __u32 l4off = 0;
  int err;
  if (proto == bpf_htons(ETH_P_IP))
    err = dae_parse_ipv4(skb, off, pkt, &l4proto, &l4off);
  else if (proto == bpf_htons(ETH_P_IPV6))
    err = dae_parse_ipv6(skb, off, pkt, &l4proto, &l4off);
  else
    return DAE_PARSE_NOT_IP;
  if (err) return err;

  if (l4proto == IPPROTO_TCP) {
    /* Ports plus the flags byte (offset 13). */
    __u8 tcp[14];
    if (bpf_skb_load_bytes(skb, l4off, tcp, sizeof(tcp)) < 0) return DAE_PARSE_MALFORMED;
    dae_memcpy(&pkt->tuple.sport, &tcp[0], 2);
    dae_memcpy(&pkt->tuple.dport, &tcp[2], 2);
    pkt->tcp_flags = tcp[13];
  } else if (l4proto == IPPROTO_UDP) {
    struct dae_l4_ports ports;
    if (bpf_skb_load_bytes(skb, l4off, &ports, sizeof(ports)) < 0) return DAE_PARSE_MALFORMED;
    pkt->tuple.sport = ports.sport;
    pkt->tuple.dport = ports.dport;
  } else {
    return DAE_PARSE_NOT_TCP_UDP;
  }
  pkt->tuple.l4proto = l4proto;
  return DAE_PARSE_OK;
}

#endif /* DAE_PARSE_H */
