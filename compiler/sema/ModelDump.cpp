#include "sema/ModelDump.h"

#include <iomanip>
#include <sstream>

#include "sema/Options.h"
#include "sema/Values.h"

namespace dae::sema {
namespace {

std::string valueText(const OptionValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, Duration>) return formatDuration(x);
        else if constexpr (std::is_same_v<T, std::string>) return "'" + x + "'";
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string out = "[";
          for (size_t i = 0; i < x.size(); ++i) out += (i ? ", '" : "'") + x[i] + "'";
          return out + "]";
        } else return std::to_string(x);
      },
      v);
}

std::string paramText(const std::string& key, const std::string& value) {
  return key.empty() ? value : key + ": " + value;
}

// A group filter as written: name(a, keyword: b) && !subtag(c) [add_latency: 10ms].
std::string filterText(const GroupFilter& f) {
  std::string out;
  for (size_t i = 0; i < f.calls.size(); ++i) {
    const FilterCall& call = f.calls[i];
    out += std::string(i ? " && " : "") + (call.negated ? "!" : "") + call.function + "(";
    for (size_t j = 0; j < call.args.size(); ++j) out += (j ? ", " : "") + paramText(call.args[j].key, call.args[j].value);
    out += ")";
  }
  if (f.addLatency.ns) out += " [add_latency: " + formatDuration(f.addLatency) + "]";
  return out;
}

std::string dnsRuleText(const DnsRule& r) {
  std::string out;
  for (size_t i = 0; i < r.conditions.size(); ++i) {
    const DnsCall& call = r.conditions[i];
    out += std::string(i ? " && " : "") + (call.negated ? "!" : "") + call.function + "(";
    for (size_t j = 0; j < call.args.size(); ++j) out += (j ? ", " : "") + paramText(call.args[j].first, call.args[j].second);
    out += ")";
  }
  return out + " -> " + r.outbound;
}

}  // namespace

std::string formatMatcher(const Matcher& m) {
  using K = Matcher::Kind;
  switch (m.kind) {
    case K::Cidr: return formatCidr(m.cidr);
    case K::GeoIp: return "geoip:" + m.text;
    case K::ExtIp: return "ext:" + m.text;
    case K::ExtSite: return "ext:" + m.text;
    case K::Geosite: return "geosite:" + m.text;
    case K::Port: return m.port.lo == m.port.hi ? std::to_string(m.port.lo)
                                                 : std::to_string(m.port.lo) + "-" + std::to_string(m.port.hi);
    case K::L4proto: return m.num == 6 ? "tcp" : "udp";
    case K::IpVersion: return std::to_string(m.num);
    case K::Dscp: return std::to_string(m.num);
    case K::Mac: {
      std::ostringstream o;
      for (int i = 0; i < 6; ++i) o << (i ? ":" : "") << std::hex << std::setw(2) << std::setfill('0') << int(m.mac[i]);
      return o.str();
    }
    case K::Pname: return m.text;
    case K::DomainSuffix: return "suffix:" + m.text;
    case K::DomainFull: return "full:" + m.text;
    case K::DomainKeyword: return "keyword:" + m.text;
    case K::DomainRegex: return "regex:" + m.text;
  }
  return "?";
}

std::string formatOutbound(const OutboundRef& o) {
  if (o.isMustRules) return "must_rules";
  std::string out = o.name;
  std::string params;
  if (o.must) params += "must";
  if (o.mark) {
    std::ostringstream m;
    m << "mark: 0x" << std::hex << *o.mark;
    params += (params.empty() ? "" : ", ") + m.str();
  }
  return params.empty() ? out : out + "(" + params + ")";
}

std::string formatRule(const Rule& r) {
  std::string out;
  for (size_t i = 0; i < r.conditions.size(); ++i) {
    const Condition& cond = r.conditions[i];
    out += std::string(i ? " && " : "") + (cond.negated ? "!" : "") + fieldName(cond.field) + "(";
    for (size_t j = 0; j < cond.args.size(); ++j) out += (j ? ", " : "") + formatMatcher(cond.args[j]);
    out += ")";
  }
  return out + " -> " + formatOutbound(r.outbound);
}

void dumpModel(const Config& c, std::ostream& out) {
  out << "global:\n";
  for (const auto& spec : globalOptionSpecs()) {
    const Option& o = c.global.at(spec.name);
    out << "  " << spec.name << " = " << valueText(o.value) << (o.explicitlySet ? "" : "  (default)") << '\n';
  }
  out << "subscriptions: " << c.subscriptions.size() << '\n';
  for (const auto& s : c.subscriptions) out << "  " << (s.tag.empty() ? "(untagged)" : s.tag) << ": " << s.link << '\n';
  out << "nodes: " << c.nodes.size() << '\n';
  for (const auto& n : c.nodes) out << "  " << n.name << ": " << n.link << '\n';
  out << "groups: " << c.groups.size() << '\n';
  for (const auto& g : c.groups) {
    out << "  " << g.name << ": policy " << policyName(g.policy);
    if (g.policy == PolicyKind::Fixed) out << "(" << g.fixedIndex << ")";
    out << ", " << g.filters.size() << " filter(s)\n";
    for (const auto& f : g.filters) out << "    filter: " << filterText(f) << '\n';
    if (g.tcpCheckUrl) out << "    tcp_check_url = " << valueText(*g.tcpCheckUrl) << '\n';
    if (g.tcpCheckHttpMethod) out << "    tcp_check_http_method = " << valueText(*g.tcpCheckHttpMethod) << '\n';
    if (g.udpCheckDns) out << "    udp_check_dns = " << valueText(*g.udpCheckDns) << '\n';
    if (g.checkInterval) out << "    check_interval = " << formatDuration(*g.checkInterval) << '\n';
    if (g.checkTolerance) out << "    check_tolerance = " << formatDuration(*g.checkTolerance) << '\n';
  }
  out << "dns: " << c.dns.upstreams.size() << " upstream(s), " << c.dns.request.rules.size() << " request rule(s), "
      << c.dns.response.rules.size() << " response rule(s)\n";
  for (const auto& u : c.dns.upstreams)
    out << "  " << u.name << ": " << u.scheme << "://"
        << (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) << ":" << u.port << u.path << '\n';
  out << "  ipversion_prefer = " << c.dns.ipversionPrefer << ", bind = '" << c.dns.bind
      << "', optimistic_cache = " << (c.dns.optimisticCache ? "true" : "false")
      << ", optimistic_cache_ttl = " << c.dns.optimisticCacheTtl << ", max_cache_size = " << c.dns.maxCacheSize << '\n';
  for (const auto& [domain, ttl] : c.dns.fixedDomainTtl) out << "  fixed_domain_ttl " << domain << " = " << ttl << '\n';
  for (const auto* routing : {&c.dns.request, &c.dns.response}) {
    if (!routing->present) continue;
    out << "  " << (routing == &c.dns.request ? "request" : "response") << ":\n";
    for (const auto& r : routing->rules) out << "    " << r.range.line << ": " << dnsRuleText(r) << '\n';
    out << "    fallback -> " << routing->fallback << '\n';
  }
  out << "routing: " << c.routing.rules.size() << " rule(s)\n";
  for (const auto& r : c.routing.rules) out << "  " << r.range.line << ": " << formatRule(r) << '\n';
  out << "  fallback -> " << formatOutbound(c.routing.fallback) << (c.routing.fallbackExplicit ? "" : "  (default)") << '\n';
}

}  // namespace dae::sema
