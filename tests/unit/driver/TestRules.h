// The hand-written "generated" router the driver tests compile and link to the
// skeleton: what daec's specialized back end emits, in miniature.
#pragma once

#include <string_view>

namespace dae::test {

// Rule indexes, as the compiler's rule table would number them.
enum : unsigned {
  kRuleBlock443 = 0,
  kRuleProxy80 = 1,
  kRuleDirectMark8080 = 2,
  kRulePnameCurl = 3,
  kRuleDomain0 = 4,
  kRuleFallback = 5,
  kRuleCount = 6,
};

inline constexpr std::string_view kTestRules = R"(/* rules.dae, compiled by hand */
#define DAE_MAX_RULES 6
#define DAE_DOMAIN_WORDS 1
#include "dae/router.h"

static __always_inline int dae_pname_is(const struct dae_route_ctx *ctx, const char *name, int len) {
  for (int i = 0; i < len; i++)
    if (ctx->pname[i] != name[i]) return 0;
  return len == DAE_PNAME_LEN || ctx->pname[len] == 0;
}

static __always_inline void dae_route(const struct dae_route_ctx *ctx,
                                      struct dae_route_result *res) {
  /* dport(443) -> block */
  if (ctx->dport == 443) {
    res->outbound = DAE_OUTBOUND_BLOCK;
    res->rule_index = 0;
    return;
  }
  /* dport(80) -> proxy(mark: 0x10) */
  if (ctx->dport == 80) {
    res->outbound = 2;
    res->mark = 0x10;
    res->rule_index = 1;
    return;
  }
  /* dport(8080) -> direct(mark: 0x20) */
  if (ctx->dport == 8080) {
    res->outbound = DAE_OUTBOUND_DIRECT;
    res->mark = 0x20;
    res->rule_index = 2;
    return;
  }
  /* pname(curl) -> group3 */
  if (ctx->is_wan && dae_pname_is(ctx, "curl", 4)) {
    res->outbound = 3;
    res->rule_index = 3;
    return;
  }
  /* domain(set 0) -> group4 */
  if (ctx->domain_bitmap[0] & 1u) {
    res->outbound = 4;
    res->rule_index = 4;
    return;
  }
  /* fallback: direct */
  res->outbound = DAE_OUTBOUND_DIRECT;
  res->rule_index = 5;
}
)";

}  // namespace dae::test
