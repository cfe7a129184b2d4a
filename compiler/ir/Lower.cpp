#include "ir/Lower.h"

#include <algorithm>
#include <filesystem>

#include "sema/ModelDump.h"
#include "sema/Values.h"

namespace dae::ir {

std::vector<Cidr> builtinPrivateNetworks() {
  static const char* nets[] = {
      "0.0.0.0/8",     "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8",  "169.254.0.0/16", "172.16.0.0/12",
      "192.0.0.0/24",  "192.0.2.0/24",   "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
      "203.0.113.0/24", "224.0.0.0/3",   "::/127",        "fc00::/7",     "fe80::/10",      "ff00::/8",
  };
  std::vector<Cidr> out;
  for (const char* n : nets) out.push_back(std::get<Cidr>(sema::parseCidr(n)));
  return out;
}

namespace {

class Lowerer {
 public:
  Lowerer(const sema::Config& config, frontend::DiagnosticEngine& diags, const LowerOptions& options)
      : config_(config), diags_(diags), options_(options) {}

  Program run() {
    Program p;
    p.outbounds = {"direct", "block"};
    for (const auto& g : config_.groups) p.outbounds.push_back(g.name);
    for (const auto& r : config_.routing.rules) {
      Rule rule;
      rule.range = r.range;
      rule.mergedFrom = {r.range};
      rule.text = sema::formatRule(r);
      rule.mustRules = r.outbound.isMustRules;
      if (!rule.mustRules) rule.outbound = outbound(r.outbound);
      for (const auto& c : r.conditions) rule.predicates.push_back(predicate(c, p));
      p.rules.push_back(std::move(rule));
    }
    p.fallback = outbound(config_.routing.fallback);
    return p;
  }

 private:
  Outbound outbound(const sema::OutboundRef& o) {
    Outbound out;
    int id = config_.outboundIndex(o.name);
    out.id = static_cast<uint8_t>(id < 0 ? 0 : id);
    out.must = o.must;
    out.mark = o.mark.value_or(0);
    return out;
  }

  Predicate predicate(const sema::Condition& c, Program& program) {
    Predicate p;
    p.field = c.field;
    p.negated = c.negated;
    p.range = c.range;
    using K = sema::Matcher::Kind;
    for (const auto& m : c.args) {
      switch (m.kind) {
        case K::Cidr: p.set.cidrs.push_back(m.cidr); break;
        case K::GeoIp:
        case K::ExtIp: {
          std::string source = (m.kind == K::GeoIp ? "geoip:" : "ext:") + m.text;
          if (m.kind == K::GeoIp && m.text == "private" && !options_.geoip) {
            // Built in, so the preset rules need no geodata file.
            auto nets = builtinPrivateNetworks();
            p.set.cidrs.insert(p.set.cidrs.end(), nets.begin(), nets.end());
          } else if (options_.geoip) {
            std::string err;
            if (auto nets = options_.geoip(source, err)) {
              p.set.cidrs.insert(p.set.cidrs.end(), nets->begin(), nets->end());
            } else if (m.kind == K::GeoIp && m.text == "private") {
              auto builtin = builtinPrivateNetworks();
              p.set.cidrs.insert(p.set.cidrs.end(), builtin.begin(), builtin.end());
            } else {
              diags_.error(m.range, err);
              p.set.geoTags.push_back(source);  // not empty: no "matches nothing" on top
            }
          } else {
            p.set.geoTags.push_back(source);
          }
          break;
        }
        case K::Port: p.set.ports.push_back(m.port); break;
        case K::L4proto: p.set.l4protoMask |= m.num == 6 ? 1 : 2; break;
        case K::IpVersion: p.set.ipversionMask |= m.num == 4 ? 1 : 2; break;
        case K::Dscp: p.set.dscpMask |= 1ULL << m.num; break;
        case K::Mac: p.set.macs.push_back(m.mac); break;
        case K::Pname: p.set.pnames.push_back(m.text); break;
        case K::Geosite:
        case K::ExtSite:
          if (options_.geosite) {
            std::string err;
            if (auto pats = options_.geosite((m.kind == K::Geosite ? "geosite:" : "ext:") + m.text, err)) {
              p.set.domains.insert(p.set.domains.end(), pats->begin(), pats->end());
            } else {
              diags_.error(m.range, err);
              p.set.domains.push_back({m.kind, m.text});  // not empty: no "matches nothing" on top
            }
          } else {
            p.set.domains.push_back({m.kind, m.text});
          }
          break;
        default: p.set.domains.push_back({m.kind, m.text}); break;
      }
    }
    if (p.field == Field::Domain) {
      // One kernel bit per distinct set of domain patterns.
      auto key = p.set.domains;
      std::sort(key.begin(), key.end());
      key.erase(std::unique(key.begin(), key.end()), key.end());
      auto it = std::find(program.domainSets.begin(), program.domainSets.end(), key);
      if (it == program.domainSets.end()) {
        program.domainSets.push_back(key);
        it = program.domainSets.end() - 1;
      }
      p.domainSet = static_cast<int>(it - program.domainSets.begin());
    }
    return p;
  }

  const sema::Config& config_;
  frontend::DiagnosticEngine& diags_;
  const LowerOptions& options_;
};

}  // namespace

Program lower(const sema::Config& config, const frontend::SourceManager&, frontend::DiagnosticEngine& diags,
              const LowerOptions& options) {
  return Lowerer(config, diags, options).run();
}

}  // namespace dae::ir
