// Checks the dns section: upstreams, request and response routing, cache options.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "sema/CheckerImpl.h"
#include "sema/Values.h"

namespace dae::sema::detail {
namespace {

const std::vector<std::string> kUpstreamSchemes = {"udp", "tcp", "tcp+udp", "tls", "https", "h3", "http3", "quic"};

uint16_t defaultPort(const std::string& scheme) {
  if (scheme == "tls" || scheme == "quic") return 853;
  if (scheme == "https" || scheme == "h3" || scheme == "http3") return 443;
  return 53;
}

// Record type names qtype() accepts (the names of miekg/dns' StringToType, which
// upstream uses), compared without regard to case.
bool isRecordType(const std::string& name) {
  static const std::set<std::string> types = {
      "NONE",   "A",        "NS",       "MD",     "MF",       "CNAME",   "SOA",   "MB",      "MG",     "MR",
      "NULL",   "PTR",      "HINFO",    "MINFO",  "MX",       "TXT",     "RP",    "AFSDB",   "X25",    "ISDN",
      "RT",     "NSAPPTR",  "SIG",      "KEY",    "PX",       "GPOS",    "AAAA",  "LOC",     "NXT",    "EID",
      "NIMLOC", "SRV",      "ATMA",     "NAPTR",  "KX",       "CERT",    "DNAME", "OPT",     "APL",    "DS",
      "SSHFP",  "IPSECKEY", "RRSIG",    "NSEC",   "DNSKEY",   "DHCID",   "NSEC3", "NSEC3PARAM", "TLSA", "SMIMEA",
      "HIP",    "NINFO",    "RKEY",     "TALINK", "CDS",      "CDNSKEY", "OPENPGPKEY", "CSYNC", "ZONEMD", "SVCB",
      "HTTPS",  "SPF",      "UINFO",    "UID",    "GID",      "UNSPEC",  "NID",   "L32",     "L64",    "LP",
      "EUI48",  "EUI64",    "NXNAME",   "URI",    "CAA",      "AVC",     "AMTRELAY", "RESINFO", "TKEY", "TSIG",
      "IXFR",   "AXFR",     "MAILB",    "MAILA",  "ANY",      "TA",      "DLV",   "RESERVED"};
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return types.count(upper) > 0;
}

// Internal selectors route the runtime's own lookups; they may not be mixed with
// selectors of client queries in one rule (upstream's rule).
bool isInternalSelector(const std::string& fn) { return fn == "sub" || fn == "node" || fn == "subnode"; }

}  // namespace

void Checker::checkDns(const SectionList& sections) {
  static const std::vector<std::string> keys = {"ipversion_prefer", "fixed_domain_ttl", "upstream", "routing", "bind",
                                                "optimistic_cache", "optimistic_cache_ttl", "max_cache_size"};
  for (const ast::Section* s : sections) {
    for (const auto& item : s->items) {
      if (const auto* sub = std::get_if<std::unique_ptr<ast::Section>>(&item)) {
        const ast::Section& ss = **sub;
        if (ss.name == "upstream") {
          checkDnsUpstreams(ss);
        } else if (ss.name == "routing") {
          checkDnsRouting(ss);
        } else if (ss.name == "fixed_domain_ttl") {
          for (const auto& e : ss.items) {
            const auto* d = std::get_if<ast::Declaration>(&e);
            if (!d) {
              unexpectedItem(e, "fixed_domain_ttl", "'domain: seconds'");
              continue;
            }
            const ast::Literal* lit = singleValue(*d);
            if (!lit) continue;
            auto ttl = parseUint(lit->text, 0xffffffffULL);
            if (!ok(ttl))
              error(lit->range, "TTL of '" + d->key + "': " + message(ttl));
            else
              config_.dns.fixedDomainTtl.emplace_back(lower(d->key), static_cast<uint32_t>(std::get<0>(ttl)));
          }
        } else if (ss.name == "request" || ss.name == "response") {
          error(ss.nameRange, "'" + ss.name + "' must be inside 'dns { routing { " + ss.name + " { ... } } }'");
        } else {
          std::string guess = frontend::closestMatch(ss.name, {"upstream", "routing", "fixed_domain_ttl"});
          error(ss.nameRange, "unknown section '" + ss.name + "' in dns" + (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
        }
        continue;
      }
      const auto* d = std::get_if<ast::Declaration>(&item);
      if (!d) {
        unexpectedItem(item, "dns", "'key: value' or a subsection");
        continue;
      }
      if (d->key == "ipversion_prefer") {
        if (const ast::Literal* lit = singleValue(*d)) {
          if (lit->text == "4" || lit->text == "6" || lit->text == "0")
            config_.dns.ipversionPrefer = std::stoi(lit->text);
          else
            error(lit->range, "ipversion_prefer: expected 4 or 6");
        }
      } else if (d->key == "bind") {
        if (const ast::Literal* lit = singleValue(*d)) {
          std::string addr = lit->text;
          for (const char* p : {"tcp+udp://", "tcp://", "udp://"})
            if (addr.rfind(p, 0) == 0) addr = addr.substr(std::string(p).size());
          std::string err = checkIpPort(addr);
          err.empty() ? void(config_.dns.bind = lit->text) : error(lit->range, "bind: " + err);
        }
      } else if (d->key == "optimistic_cache") {
        if (const ast::Literal* lit = singleValue(*d)) {
          auto b = parseBool(lit->text);
          ok(b) ? void(config_.dns.optimisticCache = std::get<0>(b)) : error(lit->range, "optimistic_cache: " + message(b));
        }
      } else if (d->key == "optimistic_cache_ttl" || d->key == "max_cache_size") {
        if (const ast::Literal* lit = singleValue(*d)) {
          auto n = parseInt(lit->text, 0, INT32_MAX);
          if (!ok(n))
            error(lit->range, d->key + ": " + message(n));
          else
            (d->key == "max_cache_size" ? config_.dns.maxCacheSize : config_.dns.optimisticCacheTtl) = std::get<0>(n);
        }
      } else if (d->key == "upstream" || d->key == "routing" || d->key == "fixed_domain_ttl") {
        error(d->keyRange, "'" + d->key + "' is a section: write '" + d->key + " { ... }'");
      } else {
        unknownKey(*d, "dns", keys);
      }
    }
  }
}

void Checker::checkDnsUpstreams(const ast::Section& s) {
  for (const auto& item : s.items) {
    const auto* d = std::get_if<ast::Declaration>(&item);
    if (!d) {
      if (const auto* l = std::get_if<ast::LiteralItem>(&item))
        error(l->value.range, "a DNS upstream needs a name: write 'name: '" + l->value.text + "''");
      else
        unexpectedItem(item, "upstream", "'name: scheme://host:port'");
      continue;
    }
    const ast::Literal* lit = singleValue(*d);
    if (!lit) continue;
    DnsUpstream u;
    u.name = d->key;
    u.raw = lit->text;
    u.range = d->keyRange;
    std::string rest = lit->text;
    if (auto p = rest.find("://"); p != std::string::npos) {
      u.scheme = lower(rest.substr(0, p));
      rest = rest.substr(p + 3);
      if (std::find(kUpstreamSchemes.begin(), kUpstreamSchemes.end(), u.scheme) == kUpstreamSchemes.end()) {
        error(lit->range, "unknown DNS upstream scheme '" + u.scheme + "://'; expected udp, tcp, tcp+udp, tls, https, h3, http3 or quic");
        continue;
      }
    } else {
      u.scheme = "udp";
      warning(lit->range, "DNS upstream '" + lit->text + "' has no scheme; assuming udp://");
    }
    if (auto slash = rest.find('/'); slash != std::string::npos) {
      u.path = rest.substr(slash);
      rest.resize(slash);
    }
    std::string portText;
    if (!rest.empty() && rest[0] == '[') {
      auto close = rest.find(']');
      if (close == std::string::npos) {
        error(lit->range, "unterminated '[' in DNS upstream address");
        continue;
      }
      u.host = rest.substr(1, close - 1);
      if (close + 1 < rest.size() && rest[close + 1] == ':') portText = rest.substr(close + 2);
    } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
      u.host = rest.substr(0, colon);
      portText = rest.substr(colon + 1);
    } else {
      u.host = rest;
    }
    if (u.host.empty()) {
      error(lit->range, "DNS upstream '" + lit->text + "' has no host");
      continue;
    }
    u.port = defaultPort(u.scheme);
    if (!portText.empty()) {
      auto p = parseUint(portText, 65535);
      if (!ok(p) || std::get<0>(p) == 0) {
        error(lit->range, "invalid port '" + portText + "' in DNS upstream");
        continue;
      }
      u.port = static_cast<uint16_t>(std::get<0>(p));
    }
    for (const auto& other : config_.dns.upstreams)
      if (other.name == u.name) {
        error(d->keyRange, "duplicate DNS upstream '" + u.name + "'");
        note(other.range, "previous definition is here");
      }
    config_.dns.upstreams.push_back(std::move(u));
  }
}

void Checker::checkDnsRouting(const ast::Section& s) {
  for (const auto& item : s.items) {
    const auto* sub = std::get_if<std::unique_ptr<ast::Section>>(&item);
    if (!sub || ((*sub)->name != "request" && (*sub)->name != "response")) {
      if (sub)
        error((*sub)->nameRange, "unknown section '" + (*sub)->name + "' in dns routing; expected request or response");
      else
        unexpectedItem(item, "dns routing", "'request { ... }' or 'response { ... }'");
      continue;
    }
    bool request = (*sub)->name == "request";
    checkDnsRuleSection(**sub, request, request ? config_.dns.request : config_.dns.response);
  }
}

void Checker::checkDnsRuleSection(const ast::Section& s, bool request, DnsRouting& out) {
  out.present = true;
  const std::vector<std::string> functions =
      request ? std::vector<std::string>{"qname", "qtype", "sub", "node", "subnode"}
              : std::vector<std::string>{"qname", "qtype", "upstream", "ip"};
  const std::vector<std::string> builtins =
      request ? std::vector<std::string>{"asis", "reject"} : std::vector<std::string>{"accept", "reject"};
  auto checkTarget = [&](const std::string& name, frontend::SourceRange at) {
    if (std::find(builtins.begin(), builtins.end(), name) != builtins.end()) return;
    for (const auto& u : config_.dns.upstreams)
      if (u.name == name) return;
    std::vector<std::string> cands = builtins;
    for (const auto& u : config_.dns.upstreams) cands.push_back(u.name);
    std::string guess = frontend::closestMatch(name, cands);
    unresolved(at, "unknown DNS upstream '" + name + "' in dns " + s.name +
                       " routing; expected an upstream name or " + builtins[0] + "/" + builtins[1] +
                       (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
  };
  bool hasFallback = false;
  for (const auto& item : s.items) {
    if (const auto* d = std::get_if<ast::Declaration>(&item)) {
      if (d->key != "fallback" && d->key != "default") {
        unknownKey(*d, s.name, {"fallback"});
        continue;
      }
      if (hasFallback) error(d->keyRange, "dns " + s.name + " routing has more than one fallback");
      hasFallback = true;
      if (const ast::Literal* lit = singleValue(*d)) {
        out.fallback = lit->text;
        checkTarget(lit->text, lit->range);
      }
      continue;
    }
    const auto* r = std::get_if<ast::RoutingRule>(&item);
    if (!r) {
      unexpectedItem(item, "dns " + s.name + " routing", "a rule 'f(...) -> upstream' or 'fallback: ...'");
      continue;
    }
    DnsRule rule;
    rule.range = r->range;
    rule.outbound = r->outbound.name.text;
    if (r->outbound.hasParens) error(r->outbound.range, "DNS routing outbounds take no parameters");
    bool internal = false, client = false;
    std::string firstInternal, otherInternal;  // two different kinds of internal selector
    for (const auto& call : r->conditions) {
      if (std::find(functions.begin(), functions.end(), call.name) == functions.end()) {
        std::string guess = frontend::closestMatch(call.name, functions);
        error(call.nameRange, "unknown function '" + call.name + "' in dns " + s.name + " routing" +
                                  (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
        continue;
      }
      if (call.params.empty()) error(call.range, "'" + call.name + "()' needs at least one argument");
      (isInternalSelector(call.name) ? internal : client) = true;
      if (isInternalSelector(call.name)) {
        if (firstInternal.empty())
          firstInternal = call.name;
        else if (call.name != firstInternal && otherInternal.empty())
          otherInternal = call.name;
      }
      DnsCall dc{call.name, call.negated, {}, call.range};
      for (const auto& p : call.params) {
        std::string key = p.key.value_or("");
        if (call.name == "qname") {
          if (key != "" && key != "suffix" && key != "full" && key != "keyword" && key != "regex" && key != "geosite" && key != "ext")
            error(p.keyRange, "unknown parameter '" + key + "' of qname(); expected suffix:, full:, keyword:, regex:, geosite: or ext:");
          if (key == "regex") checkRegex(p.value.text, p.value.range);
        } else if (call.name == "ip") {
          if (key.empty()) {
            auto c = parseCidr(p.value.text);
            if (!ok(c)) error(p.value.range, message(c));
          } else if (key != "geoip" && key != "ext") {
            error(p.keyRange, "unknown parameter '" + key + "' of ip(); expected an address, geoip: or ext:");
          }
        } else if (call.name == "upstream") {
          checkTarget(p.value.text, p.value.range);
        } else if (call.name == "qtype") {
          if (!key.empty()) {
            error(p.keyRange, "qtype() takes record types such as a, aaaa or 65");
          } else if (!isRecordType(p.value.text) && !ok(parseUint(p.value.text, 65535))) {
            // Upstream: "unknown DNS request type".
            error(p.value.range, "unknown DNS record type '" + p.value.text +
                                     "' in qtype(); expected a type name such as a, aaaa, cname or https, or a number up to 65535");
          }
        } else if (isInternalSelector(call.name)) {
          // The keys upstream's internal DNS router understands for each selector.
          static const std::map<std::string, std::vector<std::string>> internalKeys = {
              {"sub", {"", "tag", "tag_regex", "regex", "link_keyword", "link_regex"}},
              {"node", {"", "name", "name_keyword", "name_regex", "link_keyword", "link_regex"}},
              {"subnode",
               {"", "subtag", "subtag_regex", "regex", "name", "name_keyword", "name_regex", "link_keyword", "link_regex"}},
          };
          const auto& allowed = internalKeys.at(call.name);
          if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            std::string list;
            for (size_t i = 1; i < allowed.size(); ++i) list += (i > 1 ? ", " : "") + allowed[i] + ":";
            error(p.keyRange, "unknown parameter '" + key + "' of " + call.name + "(); expected a plain value or one of " + list);
          } else if (key.size() >= 5 && key.compare(key.size() - 5, 5, "regex") == 0) {
            checkRegex(p.value.text, p.value.range);
          }
        }
        dc.args.emplace_back(key, p.value.text);
      }
      rule.conditions.push_back(std::move(dc));
    }
    if (internal && client)
      error(r->range, "a DNS rule cannot mix selectors of client queries (qname, qtype) with sub(), node() or subnode()");
    else if (!otherInternal.empty())
      error(r->range, "a DNS rule cannot mix " + firstInternal + "() and " + otherInternal + "(); write two rules");
    if (internal && !client &&
        std::find(builtins.begin(), builtins.end(), rule.outbound) != builtins.end()) {
      // sub(), node() and subnode() pick the upstream for dae's own lookups; upstream
      // dae accepts only names declared in dns.upstream there.
      error(r->outbound.range, "'" + rule.outbound + "' cannot answer dae's own lookups; a " + firstInternal +
                                   "() rule must name an upstream declared in 'dns { upstream { ... } }'");
    } else {
      checkTarget(rule.outbound, r->outbound.range);
    }
    out.rules.push_back(std::move(rule));
  }
  if (!hasFallback) error(s.nameRange, "dns " + s.name + " routing needs a fallback, e.g. 'fallback: " +
                                           (request ? std::string("asis") : std::string("accept")) + "'");
}

}  // namespace dae::sema::detail
