#include "dns/Routing.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dns/DomainMatcher.h"
#include "dns/Message.h"

namespace dae::dns {
namespace {

using U128 = unsigned __int128;

U128 toU128(const std::array<uint8_t, 16>& a) {
  U128 v = 0;
  for (uint8_t b : a) v = (v << 8) | b;
  return v;
}

// The compiler's geoip:private (ir::builtinPrivateNetworks), for a dns section used
// without geodata files.
const char* const kPrivateNetworks[] = {
    "0.0.0.0/8",      "10.0.0.0/8",   "100.64.0.0/10",  "127.0.0.0/8",    "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24",   "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",  "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/3",  "::/127",         "fc00::/7",       "fe80::/10",      "ff00::/8",
};

struct Range {
  U128 first, last;
};

enum class Fn { Qname, Qtype, Upstream, Ip, Sub, Node, Subnode };

struct Call {
  Fn fn = Fn::Qname;
  bool negated = false;
  uint32_t domainSet = 0;                   // Qname: bit in the per-query bitmap
  std::set<uint16_t> types;                 // Qtype
  std::set<std::string> names;              // Upstream
  std::vector<Range> ranges;                // Ip: sorted, merged
  // Sub / Node / Subnode: (key, exact value or regex)
  std::vector<std::pair<std::string, std::string>> exact;
  std::vector<std::pair<std::string, std::shared_ptr<RE2>>> regexes;
  std::vector<std::pair<std::string, std::string>> keywords;
};

struct Rule {
  std::vector<Call> calls;
  Decision target;
  bool internal = false;  // uses sub/node/subnode
  std::string text;
};

std::string lowerAscii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::vector<Range> mergeRanges(std::vector<Range> r) {
  std::sort(r.begin(), r.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  std::vector<Range> out;
  for (const auto& x : r) {
    if (!out.empty() && (out.back().last == ~U128(0) || x.first <= out.back().last + 1)) {
      out.back().last = std::max(out.back().last, x.last);
    } else {
      out.push_back(x);
    }
  }
  return out;
}

bool inRanges(const std::vector<Range>& r, U128 v) {
  auto it = std::upper_bound(r.begin(), r.end(), v, [](U128 x, const Range& e) { return x < e.first; });
  if (it == r.begin()) return false;
  --it;
  return v <= it->last;
}

}  // namespace

bool parseCidr(std::string_view text, std::array<uint8_t, 16>& net, int& prefix) {
  std::string addr(text);
  int maxPrefix = 128;
  prefix = -1;
  if (auto slash = addr.find('/'); slash != std::string::npos) {
    std::string p = addr.substr(slash + 1);
    addr.resize(slash);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) return false;
    prefix = std::stoi(p);
  }
  net = {};
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, addr.c_str(), &v4) == 1) {
    net[10] = net[11] = 0xFF;
    std::memcpy(net.data() + 12, &v4, 4);
    if (prefix > 32) return false;
    prefix = prefix < 0 ? 128 : 96 + prefix;
  } else if (inet_pton(AF_INET6, addr.c_str(), &v6) == 1) {
    std::memcpy(net.data(), &v6, 16);
    if (prefix > maxPrefix) return false;
    if (prefix < 0) prefix = 128;
  } else {
    return false;
  }
  return true;
}

struct Router::Impl {
  bool request = true;
  std::vector<Rule> rules;
  Decision fallback;
  std::string fallbackText;
  std::unique_ptr<DomainMatcher> domains;  // one set per qname() call
  uint32_t words = 0;

  Decision target(const std::string& name, const std::set<std::string>& upstreams, const char* where) const {
    Decision d;
    if (request && name == "asis") {
      d.kind = Decision::Kind::Asis;
    } else if (name == "reject") {
      d.kind = Decision::Kind::Reject;
    } else if (!request && name == "accept") {
      d.kind = Decision::Kind::Accept;
    } else if (upstreams.count(name)) {
      d.kind = Decision::Kind::Upstream;
      d.upstream = name;
    } else {
      throw std::invalid_argument(std::string("dns ") + (request ? "request" : "response") + " routing " + where +
                                  ": unknown upstream '" + name + "'");
    }
    return d;
  }

  static void addRanges(Call& c, const std::string& key, const std::string& value, const GeoResolvers& geo) {
    std::vector<std::string> cidrs;
    if (key.empty()) {
      cidrs.push_back(value);
    } else {
      std::string source = key + ":" + value;
      if (geo.ip) {
        cidrs = geo.ip(source);
      } else if (key == "geoip" && lowerAscii(value) == "private") {
        cidrs.assign(std::begin(kPrivateNetworks), std::end(kPrivateNetworks));
      } else {
        throw std::invalid_argument("ip(" + source + ") in dns routing needs geodata, and no geodata resolver was given");
      }
    }
    for (const auto& text : cidrs) {
      std::array<uint8_t, 16> net{};
      int prefix = 0;
      if (!parseCidr(text, net, prefix)) throw std::invalid_argument("ip(): '" + text + "' is not an address or network");
      U128 first = toU128(net);
      U128 mask = prefix == 0 ? 0 : (~U128(0)) << (128 - prefix);
      first &= mask;
      c.ranges.push_back({first, first | ~mask});
    }
  }
};

Router::Router(const artifact::DnsRouting& routing, bool request, const std::set<std::string>& upstreams,
               const GeoResolvers& geo)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.request = request;
  artifact::RuleTable domainSets;
  for (int ri = 0; ri < routing.rules_size(); ++ri) {
    const auto& r = routing.rules(ri);
    Rule rule;
    rule.target = m.target(r.outbound(), upstreams, ("rule " + std::to_string(ri + 1)).c_str());
    rule.target.rule = ri;
    for (const auto& c : r.conditions()) {
      if (!rule.text.empty()) rule.text += " && ";
      rule.text += (c.negated() ? "!" : "") + c.function() + "(";
      for (int i = 0; i < c.args_size(); ++i)
        rule.text += (i ? ", " : "") + (c.args(i).key().empty() ? "" : c.args(i).key() + ": ") + c.args(i).value();
      rule.text += ")";
      Call call;
      call.negated = c.negated();
      const std::string& fn = c.function();
      if (fn == "qname") {
        call.fn = Fn::Qname;
        call.domainSet = static_cast<uint32_t>(domainSets.domain_sets_size());
        auto* set = domainSets.add_domain_sets();
        set->set_index(call.domainSet);
        for (const auto& a : c.args()) {
          std::string kind = a.key().empty() ? "suffix" : a.key();
          if (kind == "geosite" || kind == "ext") {
            std::string source = kind + ":" + a.value();
            if (!geo.site)
              throw std::invalid_argument("qname(" + source + ") in dns routing needs geodata, and no geodata resolver was given");
            for (const auto& [k, v] : geo.site(source)) {
              auto* p = set->add_patterns();
              p->set_kind(k);
              p->set_value(v);
            }
          } else if (kind == "suffix" || kind == "full" || kind == "keyword" || kind == "regex") {
            auto* p = set->add_patterns();
            p->set_kind(kind);
            p->set_value(a.value());
          } else {
            throw std::invalid_argument("qname(): unknown parameter '" + a.key() + "'");
          }
        }
      } else if (fn == "qtype") {
        call.fn = Fn::Qtype;
        for (const auto& a : c.args()) {
          auto t = typeFromName(a.value());
          if (!t) throw std::invalid_argument("qtype(): unknown record type '" + a.value() + "'");
          call.types.insert(*t);
        }
      } else if (fn == "upstream") {
        call.fn = Fn::Upstream;
        for (const auto& a : c.args()) call.names.insert(a.value());
      } else if (fn == "ip") {
        call.fn = Fn::Ip;
        for (const auto& a : c.args()) Impl::addRanges(call, a.key(), a.value(), geo);
        call.ranges = mergeRanges(std::move(call.ranges));
      } else if (fn == "sub" || fn == "node" || fn == "subnode") {
        call.fn = fn == "sub" ? Fn::Sub : fn == "node" ? Fn::Node : Fn::Subnode;
        rule.internal = true;
        for (const auto& a : c.args()) {
          std::string key = a.key();
          if (key.empty()) key = fn == "node" ? "name" : "subtag";
          if (key == "tag") key = "subtag";
          if (key == "regex" || key == "tag_regex") key = "subtag_regex";
          size_t n = key.size();
          if (n > 8 && key.compare(n - 8, 8, "_keyword") == 0) {
            call.keywords.emplace_back(key.substr(0, n - 8), lowerAscii(a.value()));
          } else if (n > 6 && key.compare(n - 6, 6, "_regex") == 0) {
            auto re = std::make_shared<RE2>(a.value(), RE2::Quiet);
            if (!re->ok()) throw std::invalid_argument(fn + "(): invalid regex '" + a.value() + "': " + re->error());
            call.regexes.emplace_back(key.substr(0, n - 6), std::move(re));
          } else {
            call.exact.emplace_back(key, a.value());
          }
        }
      } else {
        throw std::invalid_argument("unknown function '" + fn + "' in dns routing");
      }
      rule.calls.push_back(std::move(call));
    }
    rule.text += " -> " + r.outbound();
    m.rules.push_back(std::move(rule));
  }
  std::string fb = routing.fallback().empty() ? (request ? "asis" : "accept") : routing.fallback();
  m.fallback = m.target(fb, upstreams, "fallback");
  m.fallbackText = "fallback -> " + fb;
  if (domainSets.domain_sets_size() > 0) {
    m.domains = std::make_unique<DomainMatcher>(domainSets);
    m.words = static_cast<uint32_t>((domainSets.domain_sets_size() + 31) / 32);
  }
}

Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

namespace {

bool fieldMatches(const InternalLookup& l, const std::string& field, const std::string& value, bool keyword,
                  const RE2* re) {
  const std::string* v = nullptr;
  if (field == "subtag") v = &l.subscription;
  else if (field == "name") v = &l.node;
  else if (field == "link") v = &l.link;
  if (!v) return false;
  if (re) return RE2::PartialMatch(*v, *re);
  if (keyword) return lowerAscii(*v).find(value) != std::string::npos;
  return *v == value;
}

bool internalCall(const Call& c, const InternalLookup* l) {
  if (!l) return false;
  using K = InternalLookup::Kind;
  if (c.fn == Fn::Sub && l->kind != K::Subscription) return false;
  if (c.fn == Fn::Node && (l->kind != K::Node || !l->subscription.empty())) return false;
  if (c.fn == Fn::Subnode && (l->kind != K::Node || l->subscription.empty())) return false;
  for (const auto& [f, v] : c.exact)
    if (fieldMatches(*l, f, v, false, nullptr)) return true;
  for (const auto& [f, v] : c.keywords)
    if (fieldMatches(*l, f, v, true, nullptr)) return true;
  for (const auto& [f, re] : c.regexes)
    if (fieldMatches(*l, f, {}, false, re.get())) return true;
  return false;
}

}  // namespace

Decision Router::route(const RequestQuery& q) const {
  const Impl& m = *impl_;
  uint32_t small[8] = {};
  std::vector<uint32_t> big;
  uint32_t* bits = small;
  if (m.words > 8) {
    big.assign(m.words, 0);
    bits = big.data();
  }
  if (m.domains) m.domains->match(q.qname, bits, m.words);
  for (const auto& r : m.rules) {
    if (r.internal && !q.internal) continue;
    bool all = true;
    for (const auto& c : r.calls) {
      bool hit = false;
      switch (c.fn) {
        case Fn::Qname: hit = (bits[c.domainSet / 32] >> (c.domainSet % 32)) & 1u; break;
        case Fn::Qtype: hit = c.types.count(q.qtype) != 0; break;
        case Fn::Sub:
        case Fn::Node:
        case Fn::Subnode: hit = internalCall(c, q.internal); break;
        default: hit = false; break;
      }
      if (hit == c.negated) {
        all = false;
        break;
      }
    }
    if (all) return r.target;
  }
  return m.fallback;
}

Decision Router::route(const ResponseView& v) const {
  const Impl& m = *impl_;
  uint32_t small[8] = {};
  std::vector<uint32_t> big;
  uint32_t* bits = small;
  if (m.words > 8) {
    big.assign(m.words, 0);
    bits = big.data();
  }
  if (m.domains) m.domains->match(v.qname, bits, m.words);
  for (const auto& r : m.rules) {
    bool all = true;
    for (const auto& c : r.calls) {
      bool hit = false;
      switch (c.fn) {
        case Fn::Qname: hit = (bits[c.domainSet / 32] >> (c.domainSet % 32)) & 1u; break;
        case Fn::Qtype: hit = c.types.count(v.qtype) != 0; break;
        case Fn::Upstream: hit = c.names.count(std::string(v.upstream)) != 0; break;
        case Fn::Ip:
          if (v.addresses)
            for (const auto& a : *v.addresses)
              if (inRanges(c.ranges, toU128(a))) {
                hit = true;
                break;
              }
          break;
        default: hit = false; break;
      }
      if (hit == c.negated) {
        all = false;
        break;
      }
    }
    if (all) return r.target;
  }
  return m.fallback;
}

std::string Router::describe(int rule) const {
  if (rule < 0 || static_cast<size_t>(rule) >= impl_->rules.size()) return impl_->fallbackText;
  return impl_->rules[static_cast<size_t>(rule)].text;
}

size_t Router::ruleCount() const { return impl_->rules.size(); }

std::set<std::string> Router::referencedUpstreams() const {
  std::set<std::string> out;
  for (const auto& r : impl_->rules)
    if (r.target.kind == Decision::Kind::Upstream) out.insert(r.target.upstream);
  if (impl_->fallback.kind == Decision::Kind::Upstream) out.insert(impl_->fallback.upstream);
  return out;
}

}  // namespace dae::dns
