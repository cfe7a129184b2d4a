/* The router half of a dae program: what generated code includes.
 *
 * A program (rules.o) is two BPF objects joined by libbpf's static linker:
 *   - the skeleton (dae/skeleton.c): parsing, connection tracking, the
 *     hand-off, the tc and cgroup programs. It does not depend on the rules,
 *     so it is compiled once, when daec is built, per feature variant;
 *   - the router, generated and compiled per config: this header, the rule
 *     sets and dae_route().
 * They meet in one global function, dae_route_flow() (declared in
 * dae/common.h, defined here), which the skeleton calls for each new flow.
 * The router also owns the maps whose shape the rules decide: dae_rule_hits
 * (one counter per rule) and dae_domain_map (DAE_DOMAIN_WORDS words a value).
 *
 * A generated router looks like this:
 *
 *     #define DAE_MAX_RULES 3
 *     #define DAE_DOMAIN_WORDS 1
 *     #define DAE_FEATURE_DOMAIN 1
 *     #include "dae/router.h"
 *
 *     ... maps and helpers of the generated code ...
 *
 *     static __always_inline void dae_route(const struct dae_route_ctx *ctx,
 *                                           struct dae_route_result *res) { ... }
 *
 * dae_route() is forward-declared below; being static and always_inline, the
 * definition that follows is inlined into dae_route_flow().
 */
#ifndef DAE_ROUTER_H
#define DAE_ROUTER_H

#include "dae/common.h"

#ifndef DAE_MAX_RULES
#error "the generated router must #define DAE_MAX_RULES before including dae/router.h"
#endif
#if DAE_MAX_RULES < 1 || DAE_MAX_RULES > 65536
#error "DAE_MAX_RULES must be 1..65536 (rule_index is 16 bits)"
#endif

/* New flows per rule. Per-CPU so that counting never contends; the runtime
 * sums the CPUs when it reads. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DAE_MAX_RULES);
  __type(key, __u32);
  __type(value, __u64);
} dae_rule_hits SEC(".maps");

/* DNS answers: address -> bitmap of the domain() rule sets that matched the
 * queried name. Written by the runtime before the client sees the answer. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, DAE_DOMAIN_ENTRIES);
  __type(key, struct dae_ip);
  __type(value, struct dae_domain_bitmap);
} dae_domain_map SEC(".maps");

/* Defined by the generated code, after this file. */
static __always_inline void dae_route(const struct dae_route_ctx *ctx, struct dae_route_result *res);

static __always_inline void dae_count_rule_hit(__u16 rule_index) {
  __u32 idx = rule_index;
  __u64 *hits = bpf_map_lookup_elem(&dae_rule_hits, &idx);
  /* Per-CPU slot: no other writer can race with this increment. An index past
   * DAE_MAX_RULES (a compiler bug) is simply not counted. */
  if (hits) *hits += 1;
}

/* The skeleton's call for a new flow: completes the context with the domain()
 * sets of the destination, runs the rules, counts the rule that decided. A
 * global function, so the verifier checks it once, on its own, with in and res
 * as plain memory (which is also why they are tested for NULL). */
__attribute__((noinline)) int dae_route_flow(const struct dae_route_input *in, struct dae_route_result *res) {
  if (!in || !res) return 0;
  struct dae_route_ctx ctx;
  dae_memset(&ctx, 0, sizeof(ctx));
  dae_memcpy(&ctx, in, sizeof(*in));
#if DAE_FEATURE_DOMAIN
  /* The key is the 16-byte dip, which ctx.dip already is. */
  const struct dae_domain_bitmap *bm = bpf_map_lookup_elem(&dae_domain_map, ctx.dip);
  if (bm) dae_memcpy(ctx.domain_bitmap, bm->words, sizeof(ctx.domain_bitmap));
#endif
  dae_route(&ctx, res);
  dae_count_rule_hit(res->rule_index);
  return 0;
}

#endif /* DAE_ROUTER_H */
