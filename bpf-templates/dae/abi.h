/* dae datapath ABI: every struct shared between the BPF programs and userspace.
 *
 * Plain C on purpose: the BPF skeleton and routers include it, and so do the
 * C++ compiler (which generates dae_route() against struct dae_route_ctx) and
 * the runtime (which reads and writes the maps). Only <linux/types.h> is
 * needed.
 *
 * Byte orders, stated once because mixing them up is the classic bug here:
 *   - addresses are always in network byte order, IPv4 mapped into the IPv6
 *     space as ::ffff:a.b.c.d, so one 128-bit comparison serves both families;
 *   - ports in struct dae_route_ctx are in HOST order (the generated code
 *     compares them against constants);
 *   - ports in struct dae_tuple (map keys) are in NETWORK order, as they are in
 *     a sockaddr, so userspace can build keys straight from accept()/recvmsg().
 *
 * Every struct has explicit padding and a size check: the layouts are an ABI
 * between separately compiled programs, so implicit padding is not allowed.
 */
#ifndef DAE_ABI_H
#define DAE_ABI_H

#include <linux/types.h>

#ifdef __cplusplus
#define DAE_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define DAE_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Bumped on any incompatible change of a struct or map below. */
#define DAE_ABI_VERSION 3

/* Words of the domain bitmap (32 domain() rule sets per word). The generated
 * router defines it before including dae/router.h; userspace should derive it
 * from the value size of dae_domain_map (value_size / 4) rather than trust
 * this default. The skeleton does not depend on it (struct dae_route_input). */
#ifndef DAE_DOMAIN_WORDS
#define DAE_DOMAIN_WORDS 1
#endif
DAE_STATIC_ASSERT(DAE_DOMAIN_WORDS >= 1 && DAE_DOMAIN_WORDS <= 32,
                  "DAE_DOMAIN_WORDS must be 1..32 (the route ctx lives on the 512-byte BPF stack)");

#define DAE_PNAME_LEN 16 /* TASK_COMM_LEN */

/* Outbound ids. 0 and 1 are fixed; groups are numbered from 2 in the order of
 * the compiler's outbound table (the .dae.outbounds section of rules.o). */
enum {
  DAE_OUTBOUND_DIRECT = 0,
  DAE_OUTBOUND_BLOCK = 1,
  DAE_OUTBOUND_FIRST_GROUP = 2,
};

/* Which hook saw a flow. Part of the conntrack key: on a gateway one flow can
 * pass both hooks and each decides on its own terms. */
enum {
  DAE_HOOK_LAN_INGRESS = 0, /* tc ingress of a lan_interface: LAN clients' traffic */
  DAE_HOOK_WAN_EGRESS = 1,  /* tc egress of a wan_interface: the host's own traffic */
};

/* What the skeleton does with every packet of a flow (struct dae_ct_entry). */
enum {
  DAE_ACTION_PASS = 0,    /* TC_ACT_OK, skb->mark set to res.mark if non-zero (LAN) */
  DAE_ACTION_DROP = 1,    /* TC_ACT_SHOT */
  DAE_ACTION_HANDOFF = 2, /* to the userspace engine: dae_handoff_proxy() */
};

/* Why a flow is handed to userspace (flags of dae_ct_entry / dae_flow_info). */
enum {
  DAE_FLOW_F_PROXY = 1u << 0,     /* outbound is a group */
  DAE_FLOW_F_DNS = 1u << 1,       /* port 53 under a rule that is not `must`: the DNS module */
  DAE_FLOW_F_MARK_DIAL = 1u << 2, /* WAN direct with a mark: the runtime dials with SO_MARK */
};

/* What the skeleton learns about a new flow: the fields of struct
 * dae_route_input, and the head of struct dae_route_ctx. */
#define DAE_ROUTE_INPUT_FIELDS                                                    \
  __u32 dip[4];   /* network byte order; IPv4 as ::ffff:a.b.c.d */                \
  __u32 sip[4];                                                                   \
  __u16 dport;    /* host byte order */                                           \
  __u16 sport;                                                                    \
  __u8 l4proto;   /* IPPROTO_TCP or IPPROTO_UDP */                                \
  __u8 ipversion; /* 4 or 6 */                                                    \
  __u8 dscp;      /* the 6 DSCP bits of TOS / traffic class */                    \
  __u8 is_wan;    /* 1: the host's own traffic (WAN egress): pname is meaningful */ \
  __u8 mac[6];    /* source MAC of the Ethernet header; all zero if none */       \
  __u8 pad[2];                                                                    \
  char pname[DAE_PNAME_LEN]; /* process name, zero padded; empty if unknown */

/* Input of the router's entry point, dae_route_flow(): built by the skeleton
 * once per new flow. Its size does not depend on the rules, so that one
 * skeleton object, compiled when daec is built, serves every router. */
struct dae_route_input {
  DAE_ROUTE_INPUT_FIELDS
};
DAE_STATIC_ASSERT(sizeof(struct dae_route_input) == 64, "dae_route_input layout");

/* What the generated dae_route() reads: the input plus what only the router
 * knows the size of, the domain() sets the destination was resolved from. */
struct dae_route_ctx {
  DAE_ROUTE_INPUT_FIELDS
  __u32 domain_bitmap[DAE_DOMAIN_WORDS]; /* bit i: domain() set i resolved to dip */
};
DAE_STATIC_ASSERT(sizeof(struct dae_route_ctx) == 64 + 4 * DAE_DOMAIN_WORDS,
                  "dae_route_ctx layout");

/* Output of the router. The skeleton zeroes it before the call, so a
 * dae_route() that sets nothing means: direct, rule 0, no mark. */
struct dae_route_result {
  __u32 mark;       /* direct(mark: N) / group mark; 0: none */
  __u16 rule_index; /* index into dae_rule_hits and the .dae.rules table */
  __u8 outbound;    /* DAE_OUTBOUND_* or a group id */
  __u8 must;        /* 1: the rule is `must` (DNS packets are not diverted) */
};
DAE_STATIC_ASSERT(sizeof(struct dae_route_result) == 8, "dae_route_result layout");

/* A flow as userspace sees it on its socket. Key of dae_routing_result. */
struct dae_tuple {
  __u32 sip[4];  /* network byte order, IPv4 mapped */
  __u32 dip[4];
  __u16 sport;   /* NETWORK byte order */
  __u16 dport;
  __u8 l4proto;
  __u8 pad[3];   /* must be zero */
};
DAE_STATIC_ASSERT(sizeof(struct dae_tuple) == 40, "dae_tuple layout");

/* Key of dae_conntrack: the tuple plus the hook that saw it. */
struct dae_ct_key {
  struct dae_tuple tuple;
  __u32 hook; /* DAE_HOOK_* */
};
DAE_STATIC_ASSERT(sizeof(struct dae_ct_key) == 44, "dae_ct_key layout");

/* Value of dae_conntrack: the cached decision for every packet after the first. */
struct dae_ct_entry {
  struct dae_route_result res;
  __u8 action; /* DAE_ACTION_* */
  __u8 flags;  /* DAE_FLOW_F_* */
  __u8 pad[6];
  __u64 created_ns; /* bpf_ktime_get_ns() when the flow was routed */
};
DAE_STATIC_ASSERT(sizeof(struct dae_ct_entry) == 24, "dae_ct_entry layout");

/* Value of dae_routing_result: what userspace needs to log and dial a flow the
 * kernel handed to it. Starts with the route result so that readers that only
 * want the decision can read the first 8 bytes. */
struct dae_flow_info {
  struct dae_route_result res;
  __u16 flags;      /* DAE_FLOW_F_* */
  __u16 generation; /* dae_params.generation of the program that decided: after a
                     * reload, names the rule table and outbound table to read res by */
  __u32 pid;   /* WAN: the owning process if known, else 0 */
  char pname[DAE_PNAME_LEN];
  __u8 mac[6];
  __u8 dscp;
  __u8 hook;   /* DAE_HOOK_* */
};
DAE_STATIC_ASSERT(sizeof(struct dae_flow_info) == 40, "dae_flow_info layout");

/* Key of dae_domain_map. */
struct dae_ip {
  __u32 addr[4]; /* network byte order, IPv4 mapped */
};

/* Value of dae_domain_map. */
struct dae_domain_bitmap {
  __u32 words[DAE_DOMAIN_WORDS];
};

/* Value of dae_sock_pname, keyed by socket cookie (__u64). Written by the
 * cgroup socket hooks. Cookie 0 is a fallback entry: it is looked up when the
 * packet's socket has no entry of its own. The runtime never writes it; tests
 * and `dae-runtime --route` do, to inject a process name into
 * BPF_PROG_TEST_RUN, where the skb carries a dummy socket. */
struct dae_sock_info {
  char pname[DAE_PNAME_LEN];
  __u32 pid; /* tgid */
};
DAE_STATIC_ASSERT(sizeof(struct dae_sock_info) == 20, "dae_sock_info layout");

/* Flags of struct dae_params. */
enum {
  /* Drop LAN packets addressed to tproxy_port that the program did not steer
   * there itself, so that nobody can use the transparent listener directly. */
  DAE_PARAM_F_PROTECT_TPROXY = 1u << 0,
  /* Report new-flow decisions and drops through the dae_events ring buffer
   * (set when the runtime logs at debug or trace; off costs one test per flow). */
  DAE_PARAM_F_EVENTS = 1u << 1,
};

/* The single value of dae_params (key 0), written by the runtime before it
 * attaches anything. All zero means: no tproxy port yet, no own mark, and
 * proxied flows are not steered anywhere (they pass as if direct). */
struct dae_params {
  __u32 tproxy_port;      /* host byte order; 0: no listener, hand-offs pass untouched */
  __u32 so_mark_from_dae; /* packets with this skb->mark are the runtime's own; 0: none */
  __u32 flags;            /* DAE_PARAM_F_* */
  __u32 abi_version;      /* DAE_ABI_VERSION of the runtime that wrote it; informational */
  __u32 tproxy_mark;      /* skb->mark of steered packets: the runtime routes this mark locally */
  __u32 lo_ifindex;       /* loopback, where the host's own proxied packets are re-injected */
  __u32 generation;       /* which load of this runtime this program is (reloads count up) */
};
DAE_STATIC_ASSERT(sizeof(struct dae_params) == 28, "dae_params layout");

/* Kernel events (dae_events ring buffer), when DAE_PARAM_F_EVENTS is set. */
enum {
  DAE_EVENT_NEW_FLOW = 1, /* a flow's first packet was routed: res, action, flags */
  DAE_EVENT_DROP = 2,     /* a packet was dropped for `reason` (not the drops of a
                           * blocked flow after its first packet) */
};
enum {
  DAE_DROP_RULE = 1,        /* the flow's rule says block (reported with its NEW_FLOW) */
  DAE_DROP_PROTECT = 2,     /* a LAN packet addressed to tproxy_port itself */
  DAE_DROP_NO_LISTENER = 3, /* hand-off failed: no engine socket to assign it to */
};
struct dae_event {
  struct dae_tuple tuple;
  struct dae_route_result res; /* zero for a DROP without a decision */
  __u16 generation;
  __u8 type;   /* DAE_EVENT_* */
  __u8 hook;   /* DAE_HOOK_* */
  __u8 action; /* DAE_ACTION_* */
  __u8 flags;  /* DAE_FLOW_F_* */
  __u8 reason; /* DAE_DROP_*, 0 for NEW_FLOW */
  __u8 pad;
};
DAE_STATIC_ASSERT(sizeof(struct dae_event) == 56, "dae_event layout");

#endif /* DAE_ABI_H */
