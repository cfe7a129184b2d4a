/* The maps the skeleton owns. Their names are an interface: the runtime finds
 * them by name in rules.o (bpf_object__find_map_by_name), so renaming one is an
 * ABI change (bump DAE_ABI_VERSION). The maps whose shape depends on the rules
 * (dae_rule_hits, dae_domain_map) belong to the router (dae/router.h), and the
 * generated code defines its own sets (LPM tries, hash sets ...). */
#ifndef DAE_MAPS_H
#define DAE_MAPS_H

#include "dae/common.h"

/* Per-flow cached decision, so that only the first packet of a flow is routed.
 * LRU: flows are never deleted explicitly; idle ones age out under pressure. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, DAE_CT_ENTRIES);
  __type(key, struct dae_ct_key);
  __type(value, struct dae_ct_entry);
} dae_conntrack SEC(".maps");

/* Decision for every flow handed to userspace, keyed by the tuple its socket
 * sees, so that the engine knows which outbound the kernel chose. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, DAE_ROUTING_ENTRIES);
  __type(key, struct dae_tuple);
  __type(value, struct dae_flow_info);
} dae_routing_result SEC(".maps");

/* Socket cookie -> owning process, filled by the cgroup socket hooks. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, DAE_SOCK_ENTRIES);
  __type(key, __u64);
  __type(value, struct dae_sock_info);
} dae_sock_pname SEC(".maps");

/* Kernel events for the runtime's log (struct dae_event), only while
 * dae_params has DAE_PARAM_F_EVENTS. A full buffer loses events, never packets. */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, DAE_EVENTS_BYTES);
} dae_events SEC(".maps");

/* Load-time parameters (struct dae_params at key 0). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dae_params);
} dae_params SEC(".maps");

static __always_inline const struct dae_params *dae_get_params(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&dae_params, &zero);
}

#endif /* DAE_MAPS_H */
