#include "group/Filter.h"

#include <memory>

#include <re2/re2.h>

namespace dae::group {

namespace {

// One call with its regular expressions compiled once.
struct CompiledCall {
  const FilterCall* call;
  bool onName;
  std::vector<std::unique_ptr<RE2>> regexes;  // parallel to call->args (null for non-regex)
};

std::vector<CompiledCall> compile(const std::string& group, const FilterLine& line) {
  std::vector<CompiledCall> out;
  for (const auto& c : line.calls) {
    CompiledCall cc{&c, c.function == "name", {}};
    if (c.function != "name" && c.function != "subtag")
      throw GroupError("group '" + group + "': unknown filter function '" + c.function +
                       "'; expected name() or subtag()");
    for (const auto& a : c.args) {
      if (a.key == "regex") {
        RE2::Options opts;
        opts.set_log_errors(false);
        auto re = std::make_unique<RE2>(a.value, opts);
        if (!re->ok())
          throw GroupError("group '" + group + "': invalid regular expression '" + a.value + "' in " + c.function +
                           "(): " + re->error());
        cc.regexes.push_back(std::move(re));
        continue;
      }
      if (!(a.key.empty() || (cc.onName && a.key == "keyword")))
        throw GroupError("group '" + group + "': unknown parameter '" + a.key + "' of " + c.function + "()");
      cc.regexes.push_back(nullptr);
    }
    out.push_back(std::move(cc));
  }
  return out;
}

bool callHits(const CompiledCall& cc, const PoolNodeInfo& node) {
  const std::string& value = cc.onName ? node.name : node.tag;
  bool hit = false;
  for (std::size_t i = 0; i < cc.call->args.size() && !hit; ++i) {
    const FilterArg& a = cc.call->args[i];
    if (cc.regexes[i]) hit = RE2::PartialMatch(value, *cc.regexes[i]);
    else if (a.key == "keyword") hit = value.find(a.value) != std::string::npos;
    else hit = value == a.value;
  }
  return hit != cc.call->negated;
}

bool lineHits(const std::vector<CompiledCall>& calls, const PoolNodeInfo& node) {
  for (const auto& cc : calls)
    if (!callHits(cc, node)) return false;
  return true;
}

bool plainNameList(const FilterLine& line) {
  if (line.calls.size() != 1) return false;
  const FilterCall& c = line.calls[0];
  if (c.function != "name" || c.negated || c.args.empty()) return false;
  for (const auto& a : c.args)
    if (!a.key.empty()) return false;
  return true;
}

}  // namespace

std::vector<SelectedMember> selectMembers(const std::string& group, const std::vector<FilterLine>& lines,
                                          const std::vector<PoolNodeInfo>& pool) {
  std::vector<SelectedMember> out;
  if (lines.empty()) {
    for (std::size_t i = 0; i < pool.size(); ++i) out.push_back({i, std::chrono::nanoseconds(0)});
    return out;
  }
  std::vector<std::vector<CompiledCall>> compiled;
  for (const auto& l : lines) compiled.push_back(compile(group, l));

  bool declarationOrder = true;
  for (const auto& l : lines) declarationOrder = declarationOrder && plainNameList(l);
  if (declarationOrder) {
    std::vector<bool> taken(pool.size(), false);
    for (const auto& l : lines)
      for (const auto& a : l.calls[0].args)
        for (std::size_t i = 0; i < pool.size(); ++i)
          if (!taken[i] && pool[i].name == a.value) {
            taken[i] = true;
            out.push_back({i, l.addLatency});
          }
    return out;
  }
  for (std::size_t i = 0; i < pool.size(); ++i)
    for (std::size_t j = 0; j < lines.size(); ++j)
      if (lineHits(compiled[j], pool[i])) {
        out.push_back({i, lines[j].addLatency});
        break;
      }
  return out;
}

std::string describeLine(const FilterLine& line) {
  std::string out;
  for (std::size_t i = 0; i < line.calls.size(); ++i) {
    const FilterCall& c = line.calls[i];
    if (i) out += " && ";
    if (c.negated) out += '!';
    out += c.function + "(";
    for (std::size_t j = 0; j < c.args.size(); ++j) {
      if (j) out += ", ";
      if (!c.args[j].key.empty()) out += c.args[j].key + ": ";
      out += "'" + c.args[j].value + "'";
    }
    out += ")";
  }
  if (line.addLatency.count() != 0)
    out += " [add_latency: " + std::string(line.addLatency.count() > 0 ? "+" : "") + formatLatency(line.addLatency) + "]";
  return out;
}

}  // namespace dae::group
