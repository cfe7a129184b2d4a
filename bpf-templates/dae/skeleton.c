/* The dae datapath skeleton: the tc programs shared by every generated
 * program. One skeleton, specialised at compile time by the feature macros of
 * dae/common.h. It does not depend on the rules: daec compiles it when it is
 * built, once per feature variant, and links each config's router
 * (dae/router.h, generated) to it with libbpf's static linker. The two meet
 * in dae_route_flow(), the router's entry point.
 *
 * Per packet:
 *   1. the runtime's own packets (skb->mark == so_mark_from_dae) pass;
 *   2. parse; anything but TCP/UDP over IPv4/IPv6 passes;
 *   3. a known flow reuses its cached decision (dae/conntrack.h);
 *   4. a new flow: build struct dae_route_input, call dae_route_flow() (which
 *      also counts dae_rule_hits[rule_index]), turn the result into an
 *      action, cache it;
 *   5. act: pass (with skb->mark for a LAN direct(mark)), drop, or hand off to
 *      the userspace engine (dae_handoff_proxy).
 */
#include "dae/common.h"
#include "dae/maps.h"
#include "dae/parse.h"
#include "dae/conntrack.h"
#if DAE_FEATURE_CGROUP
#include "dae/cgroup.h"
#endif

/* Builds the router's input for a new flow. *pid receives the owning process
 * at WAN egress when known. */
static __always_inline void dae_build_route_input(struct __sk_buff *skb, __u32 hook,
                                                  const struct dae_pkt *pkt,
                                                  struct dae_route_input *ctx, __u32 *pid) {
  dae_memset(ctx, 0, sizeof(*ctx));
  dae_memcpy(ctx->dip, pkt->tuple.dip, sizeof(ctx->dip));
  dae_memcpy(ctx->sip, pkt->tuple.sip, sizeof(ctx->sip));
  ctx->dport = bpf_ntohs(pkt->tuple.dport);
  ctx->sport = bpf_ntohs(pkt->tuple.sport);
  ctx->l4proto = pkt->tuple.l4proto;
  ctx->ipversion = pkt->ipversion;
  ctx->dscp = pkt->dscp;
  dae_memcpy(ctx->mac, pkt->mac, sizeof(ctx->mac));
  *pid = 0;

  if (hook == DAE_HOOK_WAN_EGRESS) {
    ctx->is_wan = 1;
#if DAE_FEATURE_PNAME
    /* A socket the hooks have not seen (created before they were attached,
     * or outside the cgroup) falls back to key 0, which the runtime never
     * writes. BPF_PROG_TEST_RUN gives the skb a dummy socket with a fresh
     * cookie, so the fallback is also how tests inject a name (abi.h). */
    __u64 cookie = bpf_get_socket_cookie(skb);
    const struct dae_sock_info *si = bpf_map_lookup_elem(&dae_sock_pname, &cookie);
    if (!si && cookie != 0) {
      cookie = 0;
      si = bpf_map_lookup_elem(&dae_sock_pname, &cookie);
    }
    if (si) {
      dae_memcpy(ctx->pname, si->pname, sizeof(ctx->pname));
      *pid = si->pid;
    }
#endif
  }
}

/* Turns the router's answer into what the skeleton does with the flow. */
static __always_inline void dae_decide(__u32 hook, const struct dae_route_input *ctx,
                                       struct dae_ct_entry *entry) {
  const struct dae_route_result *res = &entry->res;
  entry->flags = res->outbound >= DAE_OUTBOUND_FIRST_GROUP ? DAE_FLOW_F_PROXY : 0;
#if DAE_FEATURE_DNS_HIJACK
  /* DNS goes to the runtime's DNS module (which applies the dns section's
   * own routing) unless the user pinned it with a `must` rule. This comes
   * before block on purpose: the DNS module, not this rule, decides about
   * queries. */
  if (ctx->dport == 53 && !res->must) {
    entry->flags |= DAE_FLOW_F_DNS;
    entry->action = DAE_ACTION_HANDOFF;
    return;
  }
#endif
  if (res->outbound == DAE_OUTBOUND_BLOCK) {
    entry->action = DAE_ACTION_DROP;
  } else if (res->outbound == DAE_OUTBOUND_DIRECT) {
    /* The host's own packets are already routed by the time tc egress sees
     * them, so a mark set here could not change their route: the runtime
     * re-dials such flows with SO_MARK instead. */
    if (hook == DAE_HOOK_WAN_EGRESS && res->mark != 0) {
      entry->flags |= DAE_FLOW_F_MARK_DIAL;
      entry->action = DAE_ACTION_HANDOFF;
    } else {
      entry->action = DAE_ACTION_PASS;
    }
  } else {
    entry->action = DAE_ACTION_HANDOFF;
  }
}

/* Reports to the runtime's log through dae_events (only while it asks for
 * them: DAE_PARAM_F_EVENTS). entry may be NULL for a drop without a decision. */
static __always_inline void dae_emit_event(const struct dae_params *params, __u8 type, __u8 reason,
                                           __u32 hook, const struct dae_pkt *pkt,
                                           const struct dae_ct_entry *entry) {
  if (!(params->flags & DAE_PARAM_F_EVENTS)) return;
  struct dae_event *ev = bpf_ringbuf_reserve(&dae_events, sizeof(*ev), 0);
  if (!ev) return; /* full: the event is lost, the packet is not */
  dae_memset(ev, 0, sizeof(*ev));
  dae_memcpy(&ev->tuple, &pkt->tuple, sizeof(ev->tuple));
  if (entry) {
    ev->res = entry->res;
    ev->action = entry->action;
    ev->flags = entry->flags;
  }
  ev->generation = (__u16)params->generation;
  ev->type = type;
  ev->hook = (__u8)hook;
  ev->reason = reason;
  bpf_ringbuf_submit(ev, 0);
}

/* Assigns the packet to the engine's transparent listener: the connected
 * socket of an accepted TCP flow when there is one, else the listener on
 * tproxy_port (which accepts it with the original destination as its local
 * address). The packet must also be routed locally; the runtime installs a
 * policy route for tproxy_mark. */
static __always_inline int dae_assign_tproxy(struct __sk_buff *skb, const struct dae_pkt *pkt,
                                             const struct dae_params *params) {
  struct bpf_sock_tuple t;
  __u32 size;
  dae_memset(&t, 0, sizeof(t));
  if (pkt->ipversion == 4) {
    t.ipv4.saddr = pkt->tuple.sip[3];
    t.ipv4.daddr = pkt->tuple.dip[3];
    t.ipv4.sport = pkt->tuple.sport;
    t.ipv4.dport = pkt->tuple.dport;
    size = sizeof(t.ipv4);
  } else {
    dae_memcpy(t.ipv6.saddr, pkt->tuple.sip, 16);
    dae_memcpy(t.ipv6.daddr, pkt->tuple.dip, 16);
    t.ipv6.sport = pkt->tuple.sport;
    t.ipv6.dport = pkt->tuple.dport;
    size = sizeof(t.ipv6);
  }
  struct bpf_sock *sk;
  /* TCP and UDP take separate paths: the verifier does not let one load
   * instruction read both a sock_common (skc lookup) and a full sock. */
  if (pkt->tuple.l4proto == IPPROTO_TCP) {
    sk = bpf_skc_lookup_tcp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
    if (sk && sk->state == BPF_TCP_LISTEN) {
      bpf_sk_release(sk);
      sk = 0;
    }
    if (!sk) {
      if (pkt->ipversion == 4)
        t.ipv4.dport = bpf_htons((__u16)params->tproxy_port);
      else
        t.ipv6.dport = bpf_htons((__u16)params->tproxy_port);
      sk = bpf_skc_lookup_tcp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
      if (!sk) return TC_ACT_SHOT; /* no engine: drop rather than leak the flow direct */
      if (sk->state != BPF_TCP_LISTEN) {
        bpf_sk_release(sk);
        return TC_ACT_SHOT;
      }
    }
  } else {
    /* UDP always goes to the listener: the engine's reply sockets are bound to
     * remote addresses and must not catch client packets. */
    if (pkt->ipversion == 4)
      t.ipv4.dport = bpf_htons((__u16)params->tproxy_port);
    else
      t.ipv6.dport = bpf_htons((__u16)params->tproxy_port);
    sk = bpf_sk_lookup_udp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
    if (!sk) return TC_ACT_SHOT;
  }
  long err = bpf_sk_assign(skb, sk, 0);
  bpf_sk_release(sk);
  if (err) return TC_ACT_SHOT;
  skb->mark = params->tproxy_mark;
  return TC_ACT_OK;
}

/* THE HAND-OFF POINT. A flow whose action is DAE_ACTION_HANDOFF belongs to
 * the userspace engine (a proxy group, the DNS module, or a marked direct
 * dial at WAN egress).
 *
 * For a new flow (info != NULL) the decision is published in
 * dae_routing_result under the tuple the engine's socket will see. Then:
 *   LAN ingress: the packet is assigned to the engine's listener here;
 *   WAN egress: the host's own packet has already been routed out, so it is
 *     re-injected at loopback's ingress (with the tproxy mark, and the
 *     Ethernet destination cleared so loopback takes it as its own), where
 *     dae_lo_ingress assigns it. The engine's replies reach the host's socket
 *     through loopback like any local traffic.
 * With no tproxy port configured (dae_params all zero: --route, tests) the
 * packet passes untouched. */
static __always_inline int dae_handoff_proxy(struct __sk_buff *skb, __u32 hook,
                                             const struct dae_pkt *pkt,
                                             const struct dae_ct_entry *entry,
                                             const struct dae_flow_info *info,
                                             const struct dae_params *params, int has_l2) {
  (void)entry;
  if (info) bpf_map_update_elem(&dae_routing_result, &pkt->tuple, info, BPF_ANY);
  if (params->tproxy_port == 0) return TC_ACT_OK;
  if (hook == DAE_HOOK_LAN_INGRESS) return dae_assign_tproxy(skb, pkt, params);
  if (has_l2) {
    __u8 zero_mac[6] = {0, 0, 0, 0, 0, 0};
    if (bpf_skb_store_bytes(skb, 0, zero_mac, sizeof(zero_mac), 0)) return TC_ACT_SHOT;
  }
  skb->mark = params->tproxy_mark;
  return bpf_redirect(params->lo_ifindex, BPF_F_INGRESS);
}

static __always_inline int dae_apply(struct __sk_buff *skb, __u32 hook, const struct dae_pkt *pkt,
                                     const struct dae_ct_entry *entry,
                                     const struct dae_flow_info *info,
                                     const struct dae_params *params, int has_l2) {
  switch (entry->action) {
  case DAE_ACTION_DROP:
    return TC_ACT_SHOT;
  case DAE_ACTION_HANDOFF:
    return dae_handoff_proxy(skb, hook, pkt, entry, info, params, has_l2);
  default:
    /* direct(mark: N) at LAN ingress: the mark steers policy routing on the
     * way out. Set on every packet: the mark lives in the skb, not the flow. */
    if (entry->res.mark != 0) skb->mark = entry->res.mark;
    return TC_ACT_OK;
  }
}

/* One copy for every program: compiled (and verified) once as a BPF-to-BPF
 * call instead of inlined into each of them. */
static __attribute__((noinline)) int dae_process(struct __sk_buff *skb, __u32 hook, int has_l2) {
  const struct dae_params *params = dae_get_params();
  if (!params) return TC_ACT_OK; /* cannot happen for an ARRAY; the verifier wants it */
  if (params->so_mark_from_dae != 0 && skb->mark == params->so_mark_from_dae) return TC_ACT_OK;

  struct dae_pkt pkt;
  if (dae_parse(skb, has_l2, &pkt) != DAE_PARSE_OK) return TC_ACT_OK;

  /* Nobody may talk to the transparent listener directly from the LAN. */
  if (hook == DAE_HOOK_LAN_INGRESS && (params->flags & DAE_PARAM_F_PROTECT_TPROXY) &&
      params->tproxy_port != 0 && pkt.tuple.dport == bpf_htons((__u16)params->tproxy_port)) {
    dae_emit_event(params, DAE_EVENT_DROP, DAE_DROP_PROTECT, hook, &pkt, NULL);
    return TC_ACT_SHOT;
  }

  struct dae_ct_key key;
  dae_ct_make_key(&key, &pkt, hook);
  struct dae_ct_entry entry;
  int verdict;
  switch (dae_ct_lookup(&key, &pkt, &entry)) {
  case DAE_CT_KNOWN:
    verdict = dae_apply(skb, hook, &pkt, &entry, NULL, params, has_l2);
    if (verdict == TC_ACT_SHOT && entry.action == DAE_ACTION_HANDOFF)
      dae_emit_event(params, DAE_EVENT_DROP, DAE_DROP_NO_LISTENER, hook, &pkt, &entry);
    return verdict;
  case DAE_CT_UNTRACKED:
    return TC_ACT_OK;
  default:
    break;
  }

  /* A new flow. */
  struct dae_route_input ctx;
  __u32 pid;
  dae_build_route_input(skb, hook, &pkt, &ctx, &pid);
  dae_memset(&entry, 0, sizeof(entry));
  dae_route_flow(&ctx, &entry.res);
  dae_decide(hook, &ctx, &entry);
  entry.created_ns = bpf_ktime_get_ns();
  dae_ct_store(&key, &entry);
  dae_emit_event(params, DAE_EVENT_NEW_FLOW, entry.action == DAE_ACTION_DROP ? DAE_DROP_RULE : 0, hook,
                 &pkt, &entry);

  if (entry.action != DAE_ACTION_HANDOFF) return dae_apply(skb, hook, &pkt, &entry, NULL, params, has_l2);
  struct dae_flow_info info;
  dae_memset(&info, 0, sizeof(info));
  info.res = entry.res;
  info.flags = entry.flags;
  info.pid = pid;
  dae_memcpy(info.pname, ctx.pname, sizeof(info.pname));
  dae_memcpy(info.mac, ctx.mac, sizeof(info.mac));
  info.dscp = ctx.dscp;
  info.hook = (__u8)hook;
  info.generation = (__u16)params->generation;
  verdict = dae_apply(skb, hook, &pkt, &entry, &info, params, has_l2);
  if (verdict == TC_ACT_SHOT)
    dae_emit_event(params, DAE_EVENT_DROP, DAE_DROP_NO_LISTENER, hook, &pkt, &entry);
  return verdict;
}

/* LAN: traffic of the clients behind a lan_interface, at tc ingress. */
SEC("tc")
int dae_lan_ingress(struct __sk_buff *skb) {
  return dae_process(skb, DAE_HOOK_LAN_INGRESS, 1);
}

/* WAN: the host's own traffic, at tc egress of a wan_interface. Forwarded
 * packets (from the LAN) carry the index of the interface they came in on and
 * were already decided at LAN ingress, so they are skipped. */
static __always_inline int dae_wan_process(struct __sk_buff *skb, int has_l2) {
  if (skb->ingress_ifindex != 0) return TC_ACT_OK;
  return dae_process(skb, DAE_HOOK_WAN_EGRESS, has_l2);
}

SEC("tc")
int dae_wan_egress(struct __sk_buff *skb) {
  return dae_wan_process(skb, 1);
}

/* Loopback ingress: the host's own proxied packets that dae_wan_egress
 * re-injected here (recognised by the tproxy mark) are assigned to the
 * engine's listener. Everything else on loopback passes untouched. */
SEC("tc")
int dae_lo_ingress(struct __sk_buff *skb) {
  const struct dae_params *params = dae_get_params();
  if (!params || params->tproxy_port == 0 || skb->mark != params->tproxy_mark) return TC_ACT_OK;
  struct dae_pkt pkt;
  if (dae_parse(skb, 1, &pkt) != DAE_PARSE_OK) return TC_ACT_OK;
  return dae_assign_tproxy(skb, &pkt, params);
}

#if DAE_FEATURE_L3_PROGRAMS
/* The same for interfaces without an Ethernet header (tun, wireguard, ppp):
 * the packet starts with the IP header and skb->protocol names it. The
 * runtime attaches these to such interfaces and disables their autoload
 * otherwise, so that the verifier does not pay for unused variants. */
SEC("tc")
int dae_lan_ingress_l3(struct __sk_buff *skb) {
  return dae_process(skb, DAE_HOOK_LAN_INGRESS, 0);
}

SEC("tc")
int dae_wan_egress_l3(struct __sk_buff *skb) {
  return dae_wan_process(skb, 0);
}
#endif

char _license[] SEC("license") = DAE_LICENSE;
