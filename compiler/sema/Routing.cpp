// Checks the routing section: every function, parameter and outbound.
#include <netinet/in.h>

#include <algorithm>

#include "sema/CheckerImpl.h"
#include "sema/Values.h"

namespace dae::sema {

const char* fieldName(Field f) {
  switch (f) {
    case Field::Domain: return "domain";
    case Field::Dip: return "dip";
    case Field::Sip: return "sip";
    case Field::Dport: return "dport";
    case Field::Sport: return "sport";
    case Field::L4proto: return "l4proto";
    case Field::IpVersion: return "ipversion";
    case Field::Mac: return "mac";
    case Field::Pname: return "pname";
    case Field::Dscp: return "dscp";
  }
  return "?";
}

namespace detail {
namespace {

struct FunctionSpec {
  const char* name;
  Field field;
};
// `ip` and `port` are upstream's older spellings of dip and dport.
const FunctionSpec kFunctions[] = {
    {"domain", Field::Domain}, {"dip", Field::Dip},       {"ip", Field::Dip},           {"sip", Field::Sip},
    {"dport", Field::Dport},   {"port", Field::Dport},    {"sport", Field::Sport},      {"l4proto", Field::L4proto},
    {"ipversion", Field::IpVersion}, {"mac", Field::Mac}, {"pname", Field::Pname},      {"dscp", Field::Dscp},
};

// Process names are matched against the kernel's comm, which keeps 15 characters.
constexpr size_t kCommLen = 15;

// Skips the escape at re[i] ('\\'), returning the index after it: \pL, \p{Greek},
// \x41, \x{263a}, \Q...\E (returned in `quoted`), or a backslash and one character.
size_t skipEscape(const std::string& re, size_t i, std::string* quoted) {
  if (i + 1 >= re.size()) return re.size();
  char e = re[i + 1];
  if (e == 'Q') {
    size_t end = re.find("\\E", i + 2);
    if (quoted) *quoted = re.substr(i + 2, end == std::string::npos ? std::string::npos : end - i - 2);
    return end == std::string::npos ? re.size() : end + 2;
  }
  if ((e == 'p' || e == 'P' || e == 'x') && i + 2 < re.size() && re[i + 2] == '{') {
    size_t end = re.find('}', i + 3);
    return end == std::string::npos ? re.size() : end + 1;
  }
  if (e == 'p' || e == 'P') return std::min(re.size(), i + 3);
  if (e == 'x') return std::min(re.size(), i + 4);
  return i + 2;
}

}  // namespace

// Why a domain() regex (already known to be valid RE2) has a part that can never
// match, or "": the runtime matches regexes against names lower-cased and without
// their final dot. Two cases are reported. A literal upper-case letter outside a
// character class, unless the regex sets the `i` flag: that letter never matches
// (the regex may still match through another branch, which is why this is a warning).
// And a dot required at the very end of the name (`\.$`, `[.]$`, also with `\z`).
std::string domainRegexNeverMatches(const std::string& re) {
  // A flag group that sets `i`, e.g. (?i) or (?si:...): case is the author's business.
  bool caseless = false;
  for (size_t at = re.find("(?"); at != std::string::npos; at = re.find("(?", at + 2)) {
    for (size_t j = at + 2; j < re.size() && re[j] != ')' && re[j] != ':' && re[j] != '-' && re[j] != '<'; ++j)
      if (re[j] == 'i') caseless = true;
  }
  if (!caseless) {
    for (size_t i = 0; i < re.size();) {
      char c = re[i];
      if (c == '\\') {
        std::string quoted;
        i = skipEscape(re, i, &quoted);
        for (char q : quoted)
          if (q >= 'A' && q <= 'Z')
            return std::string("has the upper-case letter '") + q +
                   "', which never matches: names are matched in lower case (write it in lower case, or add (?i))";
        continue;
      }
      if (c == '[') {  // a class: its letters are a set, not literals
        size_t j = i + 1;
        if (j < re.size() && re[j] == '^') ++j;
        if (j < re.size() && re[j] == ']') ++j;  // a leading ']' is a member
        while (j < re.size() && re[j] != ']') {
          if (re[j] == '\\') j = skipEscape(re, j, nullptr);
          else if (re.compare(j, 2, "[:") == 0 && re.find(":]", j + 2) != std::string::npos) j = re.find(":]", j + 2) + 2;
          else ++j;
        }
        i = j + 1;
        continue;
      }
      if (c == '(' && re.compare(i, 4, "(?P<") == 0) {  // a group name
        size_t end = re.find('>', i);
        i = end == std::string::npos ? re.size() : end + 1;
        continue;
      }
      if (c == '(' && i + 1 < re.size() && re[i + 1] == '?') {  // flags: (?s) (?U:...)
        size_t j = i + 2;
        while (j < re.size() && re[j] != ')' && re[j] != ':') ++j;
        i = j + 1;
        continue;
      }
      if (c >= 'A' && c <= 'Z')
        return std::string("has the upper-case letter '") + c +
               "', which never matches: names are matched in lower case (write it in lower case, or add (?i))";
      ++i;
    }
  }
  for (const char* end : {"\\.$", "\\.\\z", "[.]$", "[.]\\z"}) {
    std::string e = end;
    if (re.size() >= e.size() && re.compare(re.size() - e.size(), e.size(), e) == 0 &&
        !(re.size() > e.size() && e[0] == '\\' && re[re.size() - e.size() - 1] == '\\'))
      return "requires a dot at the end of the name, which never matches: names are matched without their final dot";
  }
  return "";
}

Matcher Checker::checkRoutingArg(Field field, const ast::Param& p, const std::string& fn) {
  Matcher m{};
  m.range = p.value.range;
  m.text = p.value.text;
  const std::string key = p.key.value_or("");
  auto badKey = [&](const char* allowed) {
    error(p.keyRange, "unknown parameter '" + key + "' of " + fn + "(); expected " + allowed);
  };
  auto requireNoKey = [&]() {
    if (!key.empty()) {
      error(p.keyRange, fn + "() takes no 'key:' parameters");
      return false;
    }
    return true;
  };
  if (m.text.empty()) {
    error(p.value.range, "empty argument to " + fn + "()");
    return m;
  }
  switch (field) {
    case Field::Domain: {
      // Names are matched lower-cased and without their final dot (docs/language.md).
      m.text = lower(m.text);
      if (key.empty() || key == "suffix" || key == "full") {
        m.kind = key == "full" ? Matcher::Kind::DomainFull : Matcher::Kind::DomainSuffix;
        if (m.kind == Matcher::Kind::DomainSuffix && m.text.front() == '.') m.text.erase(0, 1);
        if (m.text == "." || m.text.empty()) {
          error(p.value.range, "'" + p.value.text + "' names no domain");
        } else if (m.text.back() == '.') {
          m.text.pop_back();
          warning(p.value.range, "'" + p.value.text + "' ends with a dot; names are matched without their final dot, so it means '" +
                                     m.text + "' (upstream dae never matches such a pattern)");
        }
      } else if (key == "keyword") {
        m.kind = Matcher::Kind::DomainKeyword;
      } else if (key == "regex") {
        m.kind = Matcher::Kind::DomainRegex;
        m.text = p.value.text;  // regexes keep their case
        if (checkRegex(m.text, p.value.range)) {
          std::string why = domainRegexNeverMatches(m.text);
          if (!why.empty()) warning(p.value.range, "regex '" + m.text + "' " + why);
        }
      } else if (key == "geosite") {
        m.kind = Matcher::Kind::Geosite;
      } else if (key == "ext") {
        m.kind = Matcher::Kind::ExtSite;
        m.text = p.value.text;
        if (m.text.find(':') == std::string::npos)
          error(p.value.range, "ext: takes \"FILE.dat:TAG\", e.g. ext:\"mysite.dat:tag\"");
      } else {
        badKey("suffix:, full:, keyword:, regex:, geosite: or ext:");
      }
      break;
    }
    case Field::Dip:
    case Field::Sip: {
      if (key.empty()) {
        m.kind = Matcher::Kind::Cidr;
        bool hostBits = false;
        auto c = parseCidr(p.value.text, &hostBits);
        if (!ok(c)) {
          error(p.value.range, message(c));
        } else {
          m.cidr = std::get<0>(c);
          if (hostBits)
            warning(p.value.range, "'" + p.value.text + "' has bits set past its prefix; it means " + formatCidr(m.cidr));
        }
      } else if (key == "geoip") {
        m.kind = Matcher::Kind::GeoIp;
        m.text = lower(m.text);
      } else if (key == "ext") {
        m.kind = Matcher::Kind::ExtIp;
        if (m.text.find(':') == std::string::npos)
          error(p.value.range, "ext: takes \"FILE.dat:TAG\", e.g. ext:\"myip.dat:tag\"");
      } else {
        badKey("an address or network, geoip: or ext:");
      }
      break;
    }
    case Field::Dport:
    case Field::Sport: {
      m.kind = Matcher::Kind::Port;
      if (!requireNoKey()) break;
      auto r = parsePortRange(p.value.text);
      ok(r) ? void(m.port = std::get<0>(r)) : error(p.value.range, message(r));
      break;
    }
    case Field::L4proto: {
      m.kind = Matcher::Kind::L4proto;
      if (!requireNoKey()) break;
      std::string v = lower(m.text);
      if (v == "tcp") m.num = IPPROTO_TCP;
      else if (v == "udp") m.num = IPPROTO_UDP;
      else error(p.value.range, "invalid l4proto '" + m.text + "'; expected tcp or udp");
      break;
    }
    case Field::IpVersion: {
      m.kind = Matcher::Kind::IpVersion;
      if (!requireNoKey()) break;
      if (m.text == "4") m.num = 4;
      else if (m.text == "6") m.num = 6;
      else error(p.value.range, "invalid ipversion '" + m.text + "'; expected 4 or 6");
      break;
    }
    case Field::Mac: {
      m.kind = Matcher::Kind::Mac;
      if (!requireNoKey()) break;
      auto mac = parseMac(m.text);
      ok(mac) ? void(m.mac = std::get<0>(mac)) : error(p.value.range, message(mac));
      break;
    }
    case Field::Pname: {
      m.kind = Matcher::Kind::Pname;
      if (!requireNoKey()) break;
      if (m.text.size() > kCommLen) {
        warning(p.value.range, "process name '" + m.text + "' is longer than the kernel's " +
                                   std::to_string(kCommLen) + " characters; it matches '" + m.text.substr(0, kCommLen) + "'");
        m.text.resize(kCommLen);
      }
      break;
    }
    case Field::Dscp: {
      m.kind = Matcher::Kind::Dscp;
      if (!requireNoKey()) break;
      auto v = parseUint(m.text, 63);
      ok(v) ? void(m.num = static_cast<uint8_t>(std::get<0>(v)))
            : error(p.value.range, "invalid dscp '" + m.text + "'; expected 0-63");
      break;
    }
  }
  return m;
}

Condition Checker::checkCondition(const ast::Call& call) {
  Condition c{};
  c.negated = call.negated;
  c.range = call.range;
  const FunctionSpec* spec = nullptr;
  for (const auto& f : kFunctions)
    if (call.name == f.name) spec = &f;
  if (!spec) {
    static const std::vector<std::string> dnsOnly = {"qname", "qtype", "upstream", "sub", "node", "subnode"};
    if (std::find(dnsOnly.begin(), dnsOnly.end(), call.name) != dnsOnly.end()) {
      error(call.nameRange, "'" + call.name + "()' can only be used in dns routing");
    } else {
      std::vector<std::string> names;
      for (const auto& f : kFunctions) names.emplace_back(f.name);
      std::string guess = frontend::closestMatch(call.name, names);
      error(call.nameRange, "unknown routing function '" + call.name + "'" +
                                (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
    c.field = Field::Domain;
    return c;
  }
  c.field = spec->field;
  if (call.params.empty()) error(call.range, "'" + call.name + "()' needs at least one argument");
  for (const auto& p : call.params) c.args.push_back(checkRoutingArg(c.field, p, call.name));
  return c;
}

OutboundRef Checker::checkOutbound(const ast::Literal& name, bool hasParens, const std::vector<ast::Param>& params,
                                   frontend::SourceRange range, bool isFallback) {
  OutboundRef o;
  o.name = name.text;
  o.range = range;
  if (o.name == "must_rules") {
    o.isMustRules = true;
    if (isFallback) error(name.range, "'must_rules' cannot be the fallback: it only marks the rules after it");
    if (hasParens) error(range, "'must_rules' takes no parameters");
    return o;
  }
  if (o.name.rfind("must_", 0) == 0) {
    o.must = true;
    o.name = o.name.substr(5);
    if (o.name.empty()) {
      error(name.range, "'must_' needs an outbound after it, such as 'must_direct' or 'must_my_group'");
      o.name = "direct";  // reported; do not report it again as an unknown outbound
    }
  }
  if (hasParens && params.empty()) error(range, "empty parameter list; write '" + name.text + "' without parentheses");
  for (const auto& p : params) {
    std::string key = p.key.value_or("");
    if (key.empty() && p.value.text == "must") {
      o.must = true;
    } else if (key == "mark") {
      auto m = parseUint(p.value.text, 0xffffffffULL);
      if (!ok(m))
        error(p.value.range, "mark: " + message(m));
      else
        o.mark = static_cast<uint32_t>(std::get<0>(m));
    } else {
      error(p.range, "unknown outbound parameter '" + (key.empty() ? p.value.text : key) + "'; expected 'must' or 'mark: N'");
    }
  }
  return o;
}

void Checker::checkRouting(const SectionList& sections) {
  const ast::Declaration* fallback = nullptr;
  for (const ast::Section* s : sections) {
    for (const auto& item : s->items) {
      if (const auto* r = std::get_if<ast::RoutingRule>(&item)) {
        Rule rule;
        rule.range = r->range;
        for (const auto& call : r->conditions) rule.conditions.push_back(checkCondition(call));
        rule.outbound = checkOutbound(r->outbound.name, r->outbound.hasParens, r->outbound.params, r->outbound.range, false);
        config_.routing.rules.push_back(std::move(rule));
        continue;
      }
      const auto* d = std::get_if<ast::Declaration>(&item);
      if (!d) {
        unexpectedItem(item, "routing", "a rule 'f(...) -> outbound' or 'fallback: outbound'");
        continue;
      }
      if (d->key != "fallback") {
        unknownKey(*d, "routing", {"fallback"});
        continue;
      }
      if (fallback) {
        // Upstream accepts this (the last one wins), so it is a warning, not an error.
        warning(d->keyRange, "routing has more than one fallback; this one replaces the earlier one");
        note(fallback->keyRange, "earlier fallback is here");
      }
      fallback = d;
      if (d->isCalls) {
        const ast::Call& c = d->calls.front();
        if (d->calls.size() > 1 || c.negated) {
          error(d->calls.front().range, "fallback takes one outbound");
          continue;
        }
        ast::Literal name;
        name.text = c.name;
        name.range = c.nameRange;
        config_.routing.fallback = checkOutbound(name, true, c.params, c.range, true);
      } else if (const ast::Literal* lit = singleValue(*d)) {
        config_.routing.fallback = checkOutbound(*lit, false, {}, lit->range, true);
      }
      config_.routing.fallbackExplicit = true;
    }
  }
  if (!fallback) config_.routing.fallback.name = "direct";  // upstream's default
}

void Checker::resolveOutbounds() {
  std::vector<std::string> names = {"direct", "block", "must_rules", "must_direct"};
  for (const auto& g : config_.groups) names.push_back(g.name);
  auto resolve = [&](const OutboundRef& o) {
    if (o.isMustRules || config_.outboundIndex(o.name) >= 0) return;
    std::string guess = frontend::closestMatch(o.name, names);
    if (guess == o.name) guess.clear();  // e.g. must_must_direct: 'must_direct' is not a group either
    unresolved(o.range, "unknown outbound '" + o.name + "': no group of that name" +
                            (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
  };
  for (const auto& r : config_.routing.rules) resolve(r.outbound);
  resolve(config_.routing.fallback);
}

}  // namespace detail
}  // namespace dae::sema
