// The table back end: the rules as data, walked by one generic interpreter with
// bpf_loop. Its code does not grow with the rules, so it is both the baseline the
// specialised form is measured against and the fallback for programs too large to
// verify in specialised form.
#include <algorithm>
#include <sstream>

#include "codegen/Emit.h"
#include "ir/Passes.h"

namespace dae::codegen::detail {
namespace {

constexpr int kPortWordsPerSet = 1024;

// Layout of struct dae_tpred / dae_trule in the generated C below.
std::string encodePred(uint8_t field, bool negated, uint16_t set, uint64_t mask) {
  std::string out;
  out += static_cast<char>(field);
  out += static_cast<char>(negated ? 1 : 0);
  putU16(out, set);
  putU32(out, 0);
  putU64(out, mask);
  return out;
}

}  // namespace

Generated generateTable(const ir::Program& program, uint32_t domainWords) {
  size_t maxPreds = 1;
  for (const auto& r : program.rules) maxPreds = std::max(maxPreds, r.predicates.size());

  MapContents rules{"dae_t_rules", 4, static_cast<uint32_t>(8 + 16 * maxPreds), {}, {}};
  MapContents cidr{"dae_t_cidr", 24, 1, {}, {}};
  MapContents ports{"dae_t_ports", 4, 8, {}, {}};
  MapContents mac{"dae_t_mac", 12, 1, {}, {}};
  MapContents pname{"dae_t_pname", 20, 1, {}, {}};
  uint16_t cidrSets = 0, portSets = 0, macSets = 0, pnameSets = 0;

  for (size_t i = 0; i < program.rules.size(); ++i) {
    const ir::Rule& r = program.rules[i];
    std::string v;
    v += static_cast<char>(r.predicates.size());
    v += static_cast<char>(r.mustRules ? 1 : 0);
    v += static_cast<char>(r.outbound.id);
    v += static_cast<char>(r.outbound.must ? 1 : 0);
    putU32(v, r.outbound.mark);
    for (const auto& p : r.predicates) {
      const ir::ValueSet& s = p.set;
      uint16_t set = 0;
      uint64_t mask = 0;
      switch (p.field) {
        case ir::Field::L4proto: mask = s.l4protoMask; break;
        case ir::Field::IpVersion: mask = s.ipversionMask; break;
        case ir::Field::Dscp: mask = s.dscpMask; break;
        case ir::Field::Domain: mask = static_cast<uint64_t>(p.domainSet); break;
        case ir::Field::Dip:
        case ir::Field::Sip:
          set = cidrSets++;
          for (const auto& c : ir::aggregateCidrs(s.cidrs)) {
            std::string k;
            putU32(k, 32u + c.prefix);
            putU32(k, set);
            k.append(reinterpret_cast<const char*>(c.addr.data()), 16);
            cidr.keys.push_back(k);
            cidr.values.push_back(std::string(1, '\1'));
          }
          break;
        case ir::Field::Dport:
        case ir::Field::Sport: {
          set = portSets++;
          std::vector<uint64_t> words(kPortWordsPerSet, 0);
          for (const auto& pr : s.ports)
            for (uint32_t port = pr.lo; port <= pr.hi; ++port) words[port >> 6] |= 1ULL << (port & 63);
          for (int w = 0; w < kPortWordsPerSet; ++w) {
            if (!words[w]) continue;
            std::string k, val;
            putU32(k, static_cast<uint32_t>(set) * kPortWordsPerSet + w);
            putU64(val, words[w]);
            ports.keys.push_back(k);
            ports.values.push_back(val);
          }
          break;
        }
        case ir::Field::Mac:
          set = macSets++;
          for (const auto& m : s.macs) {
            std::string k;
            putU32(k, set);
            k.append(reinterpret_cast<const char*>(m.data()), 6);
            k += std::string(2, '\0');
            mac.keys.push_back(k);
            mac.values.push_back(std::string(1, '\1'));
          }
          break;
        case ir::Field::Pname:
          set = pnameSets++;
          for (const auto& n : s.pnames) {
            std::string k;
            putU32(k, set);
            std::string name(16, '\0');
            std::copy_n(n.begin(), std::min<size_t>(n.size(), 15), name.begin());
            k += name;
            pname.keys.push_back(k);
            pname.values.push_back(std::string(1, '\1'));
          }
          break;
      }
      v += encodePred(static_cast<uint8_t>(p.field), p.negated, set, mask);
    }
    v.resize(rules.valueSize, '\0');
    std::string k;
    putU32(k, static_cast<uint32_t>(i));
    rules.keys.push_back(k);
    rules.values.push_back(v);
  }

  std::ostringstream o;
  o << prelude(program, Backend::Table, domainWords);
  o << "#define DAE_T_RULES " << program.rules.size() << "\n";
  o << "#define DAE_T_MAX_PREDS " << maxPreds << "\n";
  o << "#define DAE_T_PORT_WORDS " << kPortWordsPerSet << "\n\n";
  o << R"(struct dae_tpred {
  __u8 field;   /* the IR's Field: 0 domain 1 dip 2 sip 3 dport 4 sport 5 l4proto 6 ipversion 7 mac 8 pname 9 dscp */
  __u8 negated;
  __u16 set;    /* which set of the field's map */
  __u32 pad;
  __u64 mask;   /* l4proto/ipversion/dscp bits, or the domain set index */
};
struct dae_trule {
  __u8 npreds;
  __u8 must_rules;
  __u8 outbound;
  __u8 must;
  __u32 mark;
  struct dae_tpred preds[DAE_T_MAX_PREDS];
};
struct dae_t_cidr_key { __u32 prefixlen; __u32 set; __u32 addr[4]; };
struct dae_t_mac_key { __u32 set; __u8 mac[6]; __u8 pad[2]; };
struct dae_t_pname_key { __u32 set; char pname[16]; };

)";
  auto mapDef = [&](const char* name, const char* type, const char* key, const char* value, size_t entries, const char* flags) {
    o << "struct {\n  __uint(type, " << type << ");\n";
    if (flags) o << "  __uint(map_flags, " << flags << ");\n";
    o << "  __uint(max_entries, " << std::max<size_t>(entries, 1) << ");\n  __type(key, " << key << ");\n  __type(value, "
      << value << ");\n} " << name << " SEC(\".maps\");\n";
  };
  mapDef("dae_t_rules", "BPF_MAP_TYPE_ARRAY", "__u32", "struct dae_trule", program.rules.size(), nullptr);
  mapDef("dae_t_cidr", "BPF_MAP_TYPE_LPM_TRIE", "struct dae_t_cidr_key", "__u8", cidr.keys.size(), "BPF_F_NO_PREALLOC");
  mapDef("dae_t_ports", "BPF_MAP_TYPE_ARRAY", "__u32", "__u64", static_cast<size_t>(portSets) * kPortWordsPerSet, nullptr);
  mapDef("dae_t_mac", "BPF_MAP_TYPE_HASH", "struct dae_t_mac_key", "__u8", mac.keys.size(), nullptr);
  mapDef("dae_t_pname", "BPF_MAP_TYPE_HASH", "struct dae_t_pname_key", "__u8", pname.keys.size(), nullptr);
  o << R"(
static __always_inline int dae_t_in(const struct dae_route_ctx *ctx, const struct dae_tpred *p) {
  switch (p->field) {
  case 1: case 2: {
    const __u32 *a = p->field == 1 ? ctx->dip : ctx->sip;
    struct dae_t_cidr_key k = {.prefixlen = 160, .set = p->set};
    k.addr[0] = a[0]; k.addr[1] = a[1]; k.addr[2] = a[2]; k.addr[3] = a[3];
    return bpf_map_lookup_elem(&dae_t_cidr, &k) != 0;
  }
  case 3: case 4: {
    __u16 port = p->field == 3 ? ctx->dport : ctx->sport;
    __u32 k = (__u32)p->set * DAE_T_PORT_WORDS + (port >> 6);
    const __u64 *w = bpf_map_lookup_elem(&dae_t_ports, &k);
    return w && ((*w >> (port & 63)) & 1);
  }
  case 5: return (ctx->l4proto == 6 && (p->mask & 1)) || (ctx->l4proto == 17 && (p->mask & 2));
  case 6: return (ctx->ipversion == 4 && (p->mask & 1)) || (ctx->ipversion == 6 && (p->mask & 2));
  case 9: return (p->mask >> (ctx->dscp & 63)) & 1;
  case 7: {
    struct dae_t_mac_key k = {.set = p->set};
    __builtin_memcpy(k.mac, ctx->mac, 6);
    return bpf_map_lookup_elem(&dae_t_mac, &k) != 0;
  }
  case 8: {
    if (!ctx->is_wan) return 0;
    struct dae_t_pname_key k = {.set = p->set};
    __builtin_memcpy(k.pname, ctx->pname, 16);
    return bpf_map_lookup_elem(&dae_t_pname, &k) != 0;
  }
  case 0: {
    /* ctx is on the caller's stack, where the verifier refuses a read at a
     * variable offset whose bound it lost (clang checks one copy of the index
     * and loads with another); read the words at constant offsets instead. */
    __u32 idx = (__u32)p->mask;
    __u32 w = idx >> 5, word = 0;
    for (__u32 i = 0; i < DAE_DOMAIN_WORDS; i++)
      if (w == i) word = ctx->domain_bitmap[i];
    return (word >> (idx & 31)) & 1;
  }
  }
  return 0;
}

static __always_inline int dae_t_match(const struct dae_route_ctx *ctx, const struct dae_tpred *p) {
  int in = dae_t_in(ctx, p);
  if (!p->negated) return in;
  /* !mac() never matches a packet without a source MAC. */
  if (p->field == 7 && (*(const __u32 *)&ctx->mac[0] | *(const __u16 *)&ctx->mac[4]) == 0) return 0;
  return !in;
}

struct dae_t_state {
  const struct dae_route_ctx *ctx;
  struct dae_route_result *res;
  __u8 must;
  __u8 done;
};

static long dae_t_step(__u32 index, void *data) {
  struct dae_t_state *st = data;
  const struct dae_trule *r = bpf_map_lookup_elem(&dae_t_rules, &index);
  if (!r) return 1;
  for (int i = 0; i < DAE_T_MAX_PREDS; i++) {
    if (i >= r->npreds) break;
    if (!dae_t_match(st->ctx, &r->preds[i])) return 0;
  }
  if (r->must_rules) {
    st->must = 1;
    return 0;
  }
  st->res->outbound = r->outbound;
  st->res->mark = r->mark;
  st->res->must = st->must | r->must;
  st->res->rule_index = index;
  st->done = 1;
  return 1;
}

static __always_inline void dae_route(const struct dae_route_ctx *ctx, struct dae_route_result *res) {
  struct dae_t_state st = {.ctx = ctx, .res = res};
  if (DAE_T_RULES > 0) bpf_loop(DAE_T_RULES, dae_t_step, &st, 0);
  if (st.done) return;
)";
  o << "  res->outbound = " << int(program.fallback.id) << ";\n";
  o << "  res->mark = " << hex32(program.fallback.mark) << ";\n";
  o << "  res->must = st.must | " << (program.fallback.must ? 1 : 0) << ";\n";
  o << "  res->rule_index = " << program.rules.size() << ";\n}\n";

  Generated g;
  g.backend = Backend::Table;
  g.domainWords = domainWords;
  g.source = o.str();
  for (auto* m : {&rules, &cidr, &ports, &mac, &pname})
    if (!m->keys.empty()) g.maps.push_back(std::move(*m));
  return g;
}

}  // namespace dae::codegen::detail
