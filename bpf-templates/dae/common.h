/* Common prelude of the BPF side: kernel/libbpf headers, the feature switches,
 * small helpers and the one function the skeleton and the router share.
 * Included first by dae/skeleton.c and dae/router.h. */
#ifndef DAE_COMMON_H
#define DAE_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dae/abi.h"

/* ---- Configuration macros ----
 *
 * The router (generated per config, see dae/router.h) defines:
 * DAE_MAX_RULES (required)      number of rules: size of dae_rule_hits.
 * DAE_DOMAIN_WORDS (default 1)  words of the domain bitmap (see abi.h).
 * DAE_FEATURE_DOMAIN (1)        look dip up in dae_domain_map for new flows;
 *                               0 leaves ctx->domain_bitmap zero (no domain() rules).
 *
 * The skeleton is compiled when daec is built, once per variant of these
 * (compiler/driver/Skeletons.cpp lists the variants):
 * DAE_FEATURE_PNAME (1)         look the socket up in dae_sock_pname at WAN egress.
 * DAE_FEATURE_DNS_HIJACK (1)    port-53 flows under a rule that is not `must`
 *                               go to the runtime's DNS module.
 * DAE_FEATURE_L3_PROGRAMS (1)   also emit the *_l3 tc programs for interfaces
 *                               without an Ethernet header (tun, wireguard, ppp).
 * DAE_FEATURE_CGROUP (1)        emit the cgroup socket hooks that fill dae_sock_pname.
 * DAE_MAX_VLAN_TAGS (2)         VLAN tags parsed in the packet (802.1ad + 802.1Q).
 * DAE_MAX_IPV6_EXT (8)          IPv6 extension headers walked before giving up.
 * DAE_CT_ENTRIES (65536), DAE_ROUTING_ENTRIES (65536), DAE_DOMAIN_ENTRIES (65536),
 * DAE_SOCK_ENTRIES (65536)      map sizes.
 * DAE_EVENTS_BYTES (262144)     size of the dae_events ring buffer (a power of 2).
 * DAE_LICENSE ("GPL")           the program's license string (the kernel gates
 *                               some helpers on a GPL-compatible one).
 */
#ifndef DAE_FEATURE_DOMAIN
#define DAE_FEATURE_DOMAIN 1
#endif
#ifndef DAE_FEATURE_PNAME
#define DAE_FEATURE_PNAME 1
#endif
#ifndef DAE_FEATURE_DNS_HIJACK
#define DAE_FEATURE_DNS_HIJACK 1
#endif
#ifndef DAE_FEATURE_L3_PROGRAMS
#define DAE_FEATURE_L3_PROGRAMS 1
#endif
#ifndef DAE_FEATURE_CGROUP
#define DAE_FEATURE_CGROUP 1
#endif
#ifndef DAE_MAX_VLAN_TAGS
#define DAE_MAX_VLAN_TAGS 2
#endif
#ifndef DAE_MAX_IPV6_EXT
#define DAE_MAX_IPV6_EXT 8
#endif
#ifndef DAE_CT_ENTRIES
#define DAE_CT_ENTRIES 65536
#endif
#ifndef DAE_ROUTING_ENTRIES
#define DAE_ROUTING_ENTRIES 65536
#endif
#ifndef DAE_DOMAIN_ENTRIES
#define DAE_DOMAIN_ENTRIES 65536
#endif
#ifndef DAE_SOCK_ENTRIES
#define DAE_SOCK_ENTRIES 65536
#endif
#ifndef DAE_EVENTS_BYTES
#define DAE_EVENTS_BYTES 262144
#endif
#ifndef DAE_LICENSE
#define DAE_LICENSE "GPL"
#endif

/* Ethertypes not in every linux/if_ether.h. */
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define DAE_ETH_P_QINQ1 0x9100 /* pre-standard QinQ, still seen on old switches */

/* IPv6 extension header numbers (linux/in6.h needs libc-compat games). */
#define DAE_NEXTHDR_HOP 0
#define DAE_NEXTHDR_ROUTING 43
#define DAE_NEXTHDR_FRAGMENT 44
#define DAE_NEXTHDR_AUTH 51
#define DAE_NEXTHDR_DEST 60

#define DAE_TCP_FLAG_SYN 0x02
#define DAE_TCP_FLAG_ACK 0x10

/* Copies helpers, so that no call to memcpy/memset survives into BPF code
 * (there is no libc; clang lowers these builtins to plain stores for the
 * constant sizes used here). */
#define dae_memset(p, c, n) __builtin_memset((p), (c), (n))
#define dae_memcpy(d, s, n) __builtin_memcpy((d), (s), (n))

/* The link between the two halves of a program: the router's entry point,
 * defined in dae/router.h and called by the skeleton for each new flow. res
 * arrives zeroed. A global (BTF-linkage) function: libbpf's static linker
 * resolves the skeleton's call to it, and the verifier checks it on its own. */
int dae_route_flow(const struct dae_route_input *in, struct dae_route_result *res);

#endif /* DAE_COMMON_H */
