#include "sema/Checker.h"

#include <re2/re2.h>

#include <algorithm>

#include "sema/CheckerImpl.h"
#include "sema/Options.h"
#include "sema/Values.h"

namespace dae::sema {

namespace detail {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void Checker::unresolved(frontend::SourceRange at, std::string msg) {
  if (options_.fragment)
    warning(at, std::move(msg));
  else
    error(at, std::move(msg));
}

void Checker::unknownKey(const ast::Declaration& d, const std::string& section, const std::vector<std::string>& known) {
  if (const RemovedKey* r = findRemovedKey(section, d.key)) {
    error(d.keyRange, "'" + d.key + "' is no longer supported in section '" + section + "': " + r->advice);
    return;
  }
  std::string msg = "unknown key '" + d.key + "' in section '" + section + "'";
  std::string guess = frontend::closestMatch(d.key, known);
  if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
  error(d.keyRange, msg);
}

void Checker::unexpectedItem(const ast::Item& item, const std::string& section, const char* expected) {
  error(ast::itemRange(item),
        std::string("unexpected ") + ast::itemKind(item) + " in section '" + section + "'; expected " + expected);
}

const ast::Literal* Checker::singleValue(const ast::Declaration& d) {
  if (d.isCalls) {
    error(d.calls.front().range, "'" + d.key + "' takes a value, not a function call");
    return nullptr;
  }
  if (d.values.size() != 1) {
    error(d.values[1].range, "'" + d.key + "' takes a single value");
    return nullptr;
  }
  if (d.hasAnnotation) warning(d.annotation.front().range, "annotation is ignored on '" + d.key + "'");
  return &d.values.front();
}

std::vector<std::string> Checker::listValue(const ast::Declaration& d) {
  std::vector<std::string> out;
  if (d.isCalls) {
    error(d.calls.front().range, "'" + d.key + "' takes values, not a function call");
    return out;
  }
  for (const auto& v : d.values) {
    size_t start = 0;
    while (start <= v.text.size()) {
      size_t comma = v.text.find(',', start);
      std::string part = trim(std::string_view(v.text).substr(start, comma - start));
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

bool Checker::checkRegex(const std::string& pattern, frontend::SourceRange at) {
  RE2::Options opts;
  opts.set_log_errors(false);
  RE2 re(pattern, opts);
  if (!re.ok()) {
    error(at, "invalid regular expression '" + pattern + "': " + re.error());
    return false;
  }
  return true;
}

// ---- global --------------------------------------------------------------------

static OptionValue defaultValue(const OptionSpec& spec) {
  std::string d = spec.defaultValue;
  switch (spec.type) {
    case OptionType::Bool: return d == "true";
    case OptionType::Port:
    case OptionType::Uint32:
    case OptionType::Uint: return static_cast<uint64_t>(std::stoull(d.empty() ? "0" : d));
    case OptionType::Int: return static_cast<int64_t>(std::stoll(d.empty() ? "0" : d));
    case OptionType::Duration: return std::get<Duration>(parseDuration(d.empty() ? "0" : d));
    case OptionType::Bandwidth: return std::get<uint64_t>(parseBandwidth(d.empty() ? "0" : d));
    case OptionType::List: {
      std::vector<std::string> out;
      size_t start = 0;
      while (!d.empty() && start <= d.size()) {
        size_t comma = d.find(',', start);
        out.push_back(d.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return out;
    }
    default: return d;
  }
}

void Checker::checkGlobal(const SectionList& sections) {
  std::vector<std::string> known;
  for (const auto& spec : globalOptionSpecs()) {
    known.emplace_back(spec.name);
    config_.global[spec.name] = Option{defaultValue(spec), false, {}};
  }
  std::map<std::string, frontend::SourceRange> seen;
  for (const ast::Section* s : sections) {
    for (const auto& item : s->items) {
      const auto* d = std::get_if<ast::Declaration>(&item);
      if (!d) {
        unexpectedItem(item, "global", "'key: value'");
        continue;
      }
      const OptionSpec* spec = findGlobalOption(d->key);
      if (!spec) {
        unknownKey(*d, "global", known);
        continue;
      }
      if (auto it = seen.find(d->key); it != seen.end()) {
        warning(d->keyRange, "option '" + d->key + "' is set more than once; this value replaces the earlier one");
        note(it->second, "earlier value is here");
      }
      seen[d->key] = d->keyRange;
      if (spec->deprecated) warning(d->keyRange, "option '" + d->key + "' is deprecated and has no effect");
      Option& opt = config_.global[d->key];
      opt.explicitlySet = true;
      opt.range = d->range;
      if (spec->type == OptionType::List) {
        opt.value = listValue(*d);
        continue;
      }
      const ast::Literal* lit = singleValue(*d);
      if (!lit) continue;
      const std::string& v = lit->text;
      auto fail = [&](const std::string& msg) { error(lit->range, "'" + d->key + "': " + msg); };
      switch (spec->type) {
        case OptionType::Bool: {
          auto p = parseBool(v);
          ok(p) ? void(opt.value = std::get<0>(p)) : fail(message(p));
          break;
        }
        case OptionType::Port:
        case OptionType::Uint32:
        case OptionType::Uint: {
          uint64_t max = spec->type == OptionType::Port ? 65535 : spec->type == OptionType::Uint32 ? 0xffffffffULL : UINT64_MAX;
          auto p = parseUint(v, max);
          ok(p) ? void(opt.value = std::get<0>(p)) : fail(message(p));
          break;
        }
        case OptionType::Int: {
          auto p = parseInt(v, INT64_MIN + 1, INT64_MAX);
          ok(p) ? void(opt.value = std::get<0>(p)) : fail(message(p));
          break;
        }
        case OptionType::Duration: {
          auto p = parseDuration(v);
          if (!ok(p)) {
            fail(message(p));
          } else if (std::get<0>(p).ns < 0) {
            fail("a negative duration makes no sense here");
          } else {
            opt.value = std::get<0>(p);
          }
          break;
        }
        case OptionType::Bandwidth: {
          auto p = parseBandwidth(v);
          ok(p) ? void(opt.value = std::get<0>(p)) : fail(message(p));
          break;
        }
        case OptionType::IpPort: {
          std::string err = checkIpPort(v);
          err.empty() ? void(opt.value = v) : fail(err);
          break;
        }
        case OptionType::Range: {
          auto p = parsePortRange(v);  // same shape: N or N-M
          ok(p) ? void(opt.value = v) : fail("invalid range '" + v + "'; expected N-M such as 50-100");
          break;
        }
        case OptionType::Enum: {
          if (std::find(spec->choices.begin(), spec->choices.end(), v) == spec->choices.end()) {
            std::string all;
            for (const auto& c : spec->choices) all += (all.empty() ? "" : ", ") + c;
            std::string guess = frontend::closestMatch(v, spec->choices);
            fail("invalid value '" + v + "'; expected one of " + all +
                 (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
          } else {
            opt.value = v;
          }
          break;
        }
        case OptionType::String:
        case OptionType::List: opt.value = v; break;
      }
    }
  }
}

// ---- nodes and subscriptions -----------------------------------------------------

static std::string linkScheme(const std::string& link) {
  auto p = link.find("://");
  return p == std::string::npos ? std::string() : lower(link.substr(0, p));
}

void Checker::checkNodes(const SectionList& sections) {
  static const std::vector<std::string> schemes = {
      "ss", "ssr", "vmess", "vless", "trojan", "trojan-go", "socks5", "socks4", "socks4a", "socks", "http",
      "https", "tuic", "juicity", "hysteria2", "hy2", "anytls", "shadowsocks", "group"};
  std::map<std::string, frontend::SourceRange> names;
  for (const ast::Section* s : sections) {
    for (const auto& item : s->items) {
      Node node;
      const ast::Literal* lit = nullptr;
      if (const auto* d = std::get_if<ast::Declaration>(&item)) {
        lit = singleValue(*d);
        node.name = d->key;
        node.tagged = true;
        node.range = d->keyRange;
      } else if (const auto* l = std::get_if<ast::LiteralItem>(&item)) {
        lit = &l->value;
        node.range = l->value.range;
      } else {
        unexpectedItem(item, "node", "a node link or 'name: link'");
        continue;
      }
      if (!lit) continue;
      node.link = lit->text;
      if (!node.tagged) {
        // Untagged links are named by their #fragment, as upstream does.
        auto hash = node.link.rfind('#');
        node.name = hash == std::string::npos ? node.link : node.link.substr(hash + 1);
      }
      // A chain `a -> b` dials b through a; check every hop.
      size_t start = 0;
      bool bad = false;
      while (!bad) {
        size_t arrow = node.link.find("->", start);
        std::string hop = trim(std::string_view(node.link).substr(start, arrow - start));
        std::string scheme = linkScheme(hop);
        if (hop.rfind("group(", 0) == 0) {
          // `group(NAME) -> link`: a group as the entry of a chain.
        } else if (scheme.empty()) {
          // Upstream treats links as opaque until it dials them and skips bad ones then.
          warning(lit->range, "'" + hop + "' is not a node link (expected scheme://... such as ss://, vmess:// or socks5://); the runtime will skip this node");
          bad = true;
        } else if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
          warning(lit->range, "unknown node link scheme '" + scheme + "://'");
        }
        if (arrow == std::string::npos) break;
        start = arrow + 2;
      }
      if (node.tagged) {
        if (auto it = names.find(node.name); it != names.end()) {
          error(node.range, "duplicate node name '" + node.name + "'");
          note(it->second, "previous definition is here");
        }
        names[node.name] = node.range;
      }
      config_.nodes.push_back(std::move(node));
    }
  }
}

void Checker::checkSubscriptions(const SectionList& sections) {
  static const std::vector<std::string> schemes = {"http", "https", "file", "http-file", "https-file"};
  std::map<std::string, frontend::SourceRange> tags;
  for (const ast::Section* s : sections) {
    for (const auto& item : s->items) {
      Subscription sub;
      const ast::Literal* lit = nullptr;
      if (const auto* d = std::get_if<ast::Declaration>(&item)) {
        lit = singleValue(*d);
        sub.tag = d->key;
        sub.range = d->keyRange;
        if (auto it = tags.find(sub.tag); it != tags.end()) {
          error(d->keyRange, "duplicate subscription tag '" + sub.tag + "'");
          note(it->second, "previous definition is here");
        }
        tags[sub.tag] = d->keyRange;
      } else if (const auto* l = std::get_if<ast::LiteralItem>(&item)) {
        lit = &l->value;
        sub.range = l->value.range;
      } else {
        unexpectedItem(item, "subscription", "a subscription link or 'tag: link'");
        continue;
      }
      if (!lit) continue;
      sub.link = lit->text;
      std::string scheme = linkScheme(sub.link);
      if (scheme.empty()) {
        std::string msg = "'" + sub.link + "' is not a subscription link; expected http://, https:// or file://";
        if (!sub.tag.empty() && sub.link.rfind("//", 0) == 0)
          msg += " (an unquoted link is read as 'tag: value'; quote it: '" + sub.tag + ":" + sub.link + "')";
        warning(lit->range, msg + "; the runtime will skip it");
      } else if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
        warning(lit->range, "unsupported subscription scheme '" + scheme + "://' (expected http, https, file, http-file or https-file); the runtime will skip it");
      }
      config_.subscriptions.push_back(std::move(sub));
    }
  }
}

// ---- groups ------------------------------------------------------------------------

void Checker::checkGroups(const SectionList& sections) {
  std::map<std::string, frontend::SourceRange> names;
  for (const ast::Section* s : sections) {
    for (const auto& item : s->items) {
      const auto* sec = std::get_if<std::unique_ptr<ast::Section>>(&item);
      if (!sec) {
        unexpectedItem(item, "group", "a group 'name { ... }'");
        continue;
      }
      const ast::Section& gs = **sec;
      Group g;
      g.name = gs.name;
      g.range = gs.nameRange;
      if (g.name == "direct" || g.name == "block" || g.name == "must_rules" || g.name.rfind("must_", 0) == 0) {
        error(gs.nameRange, "'" + g.name + "' cannot name a group: it is a built-in outbound" +
                                 (g.name.rfind("must_", 0) == 0 ? " prefix" : ""));
      }
      if (auto it = names.find(g.name); it != names.end()) {
        error(gs.nameRange, "duplicate group '" + g.name + "'");
        note(it->second, "previous definition is here");
      }
      names[g.name] = gs.nameRange;
      checkGroupBody(gs, g);
      config_.groups.push_back(std::move(g));
    }
  }
}

void Checker::checkGroupBody(const ast::Section& s, Group& g) {
  static const std::vector<std::string> keys = {"filter", "policy", "tcp_check_url", "tcp_check_http_method",
                                                "udp_check_dns", "check_interval", "check_tolerance", "lazy",
                                                "selection_members"};
  bool hasPolicy = false;
  for (const auto& item : s.items) {
    const auto* d = std::get_if<ast::Declaration>(&item);
    if (!d) {
      error(ast::itemRange(item), std::string("unexpected ") + ast::itemKind(item) + " in group '" + g.name +
                                      "'; expected 'filter: ...', 'policy: ...' or a check option");
      continue;
    }
    if (d->key == "filter") {
      if (!d->isCalls) {
        error(d->values.front().range, "'filter' takes function calls such as name(...) or subtag(...)");
        continue;
      }
      GroupFilter f;
      f.range = d->range;
      for (const auto& call : d->calls) {
        if (call.name != "name" && call.name != "subtag") {
          std::string guess = frontend::closestMatch(call.name, {"name", "subtag"});
          error(call.nameRange, "unknown filter function '" + call.name + "'; expected name() or subtag()" +
                                    (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
          continue;
        }
        if (call.params.empty()) error(call.range, "'" + call.name + "()' needs at least one argument");
        FilterCall fc{call.name, call.negated, {}, call.range};
        for (const auto& p : call.params) {
          std::string key = p.key.value_or("");
          // Upstream matches name() by exact name, keyword: or regex:, and subtag() only by
          // exact tag or regex:.
          bool isName = call.name == "name";
          if (key != "" && key != "regex" && !(isName && key == "keyword")) {
            error(p.keyRange, "unknown parameter '" + key + "' of " + call.name + "(); expected a plain " +
                                  (isName ? "name, keyword: or regex:" : "tag or regex:"));
            continue;
          }
          if (key == "regex") checkRegex(p.value.text, p.value.range);
          fc.args.push_back({key, p.value.text, p.range});
        }
        f.calls.push_back(std::move(fc));
      }
      for (const auto& a : d->annotation) {
        if (a.key.value_or("") != "add_latency") {
          error(a.range, "unknown filter annotation; expected [add_latency: DURATION]");
          continue;
        }
        auto dur = parseDuration(a.value.text);
        if (!ok(dur))
          error(a.value.range, "add_latency: " + message(dur));
        else
          f.addLatency = std::get<0>(dur);
      }
      g.filters.push_back(std::move(f));
    } else if (d->key == "policy") {
      hasPolicy = true;
      if (d->isCalls) {
        const ast::Call& c = d->calls.front();
        if (d->calls.size() > 1 || c.negated || c.name != "fixed") {
          error(c.range, "invalid policy; expected random, fixed(N), min, min_avg10 or min_moving_avg");
          continue;
        }
        if (c.params.size() != 1 || c.params[0].key) {
          error(c.range, "fixed() takes one node index, e.g. fixed(0)");
          continue;
        }
        auto n = parseUint(c.params[0].value.text, 0xffffffffULL);
        if (!ok(n)) {
          error(c.params[0].value.range, "fixed(): " + message(n));
          continue;
        }
        g.policy = PolicyKind::Fixed;
        g.fixedIndex = static_cast<uint32_t>(std::get<0>(n));
        continue;
      }
      const ast::Literal* lit = singleValue(*d);
      if (!lit) continue;
      static const std::vector<std::pair<std::string, PolicyKind>> policies = {
          {"random", PolicyKind::Random}, {"min", PolicyKind::Min}, {"min_avg10", PolicyKind::MinAvg10},
          {"min_moving_avg", PolicyKind::MinMovingAvg}, {"min_last_latency", PolicyKind::Min}};
      auto it = std::find_if(policies.begin(), policies.end(), [&](auto& p) { return p.first == lit->text; });
      if (it == policies.end()) {
        std::string guess = frontend::closestMatch(lit->text, {"random", "min", "min_avg10", "min_moving_avg", "fixed"});
        error(lit->range, "unknown policy '" + lit->text + "'; expected random, fixed(N), min, min_avg10 or min_moving_avg" +
                              (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
      } else {
        g.policy = it->second;
      }
    } else if (d->key == "tcp_check_url") {
      g.tcpCheckUrl = listValue(*d);
    } else if (d->key == "udp_check_dns") {
      g.udpCheckDns = listValue(*d);
    } else if (d->key == "tcp_check_http_method") {
      if (const ast::Literal* lit = singleValue(*d)) g.tcpCheckHttpMethod = lit->text;
    } else if (d->key == "check_interval" || d->key == "check_tolerance") {
      const ast::Literal* lit = singleValue(*d);
      if (!lit) continue;
      auto dur = parseDuration(lit->text);
      if (!ok(dur)) {
        error(lit->range, "'" + d->key + "': " + message(dur));
        continue;
      }
      (d->key == "check_interval" ? g.checkInterval : g.checkTolerance) = std::get<0>(dur);
    } else if (d->key == "lazy") {
      if (const ast::Literal* lit = singleValue(*d)) {
        auto b = parseBool(lit->text);
        if (!ok(b)) error(lit->range, "'lazy': " + message(b));
      }
    } else if (d->key == "selection_members") {
      listValue(*d);
    } else {
      unknownKey(*d, "group", keys);
    }
  }
  if (!hasPolicy) error(s.nameRange, "group '" + g.name + "' has no policy; add e.g. 'policy: min_moving_avg'");
}

// ---- the whole config ------------------------------------------------------------

Config Checker::run(const ast::Config& config) {
  static const std::vector<std::string> known = {"global", "subscription", "node", "group", "routing", "dns", "include"};
  std::map<std::string, SectionList> byName;
  for (const auto& file : config.files) {
    for (const auto& s : file.sections) {
      if (std::find(known.begin(), known.end(), s->name) == known.end()) {
        std::string guess = frontend::closestMatch(s->name, known);
        error(s->nameRange, "unknown section '" + s->name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
        continue;
      }
      byName[s->name].push_back(s.get());
    }
  }
  if (!options_.fragment) {
    frontend::SourceRange top{config.files.empty() ? 0u : config.files.front().fileId, 1, 1, 1};
    if (!byName.count("global")) error(top, "section 'global' is required in an entry config (it may be empty: 'global {}')");
    if (!byName.count("routing")) error(top, "section 'routing' is required in an entry config (e.g. 'routing { fallback: direct }')");
  }
  checkGlobal(byName["global"]);
  checkSubscriptions(byName["subscription"]);
  checkNodes(byName["node"]);
  checkGroups(byName["group"]);
  checkDns(byName["dns"]);
  checkRouting(byName["routing"]);
  resolveOutbounds();
  return std::move(config_);
}

}  // namespace detail

Config check(const ast::Config& config, frontend::DiagnosticEngine& diags, const CheckOptions& options) {
  detail::Checker checker(diags, options);
  return checker.run(config);
}

const char* policyName(PolicyKind p) {
  switch (p) {
    case PolicyKind::Random: return "random";
    case PolicyKind::Fixed: return "fixed";
    case PolicyKind::Min: return "min";
    case PolicyKind::MinAvg10: return "min_avg10";
    case PolicyKind::MinMovingAvg: return "min_moving_avg";
  }
  return "?";
}

int Config::outboundIndex(const std::string& name) const {
  if (name == "direct") return kOutboundDirect;
  if (name == "block") return kOutboundBlock;
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].name == name) return static_cast<int>(kFirstGroupOutbound + i);
  return -1;
}

}  // namespace dae::sema
