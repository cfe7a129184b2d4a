// The group filter language, evaluated over the global node pool:
//
//   filter: name(a, b) && !name(keyword: 'x')       one line: calls AND-ed, the
//   filter: subtag(regex: '^sub') [add_latency: -10ms]  arguments of a call OR-ed
//
// name() matches a node's name: a plain argument exactly, keyword: as a
// substring, regex: anywhere in it (search, as Go's MatchString); subtag()
// matches the tag of the subscription a node came from (plain = exact, or
// regex:); nodes of `node { }` have the empty tag. `!` negates a whole call.
// Several filter lines are OR-ed; a node takes the add_latency of the first
// line it matches. No filter line: every node. Members keep the pool's order,
// except when every line is a plain name(...) list: then they follow the order
// the names are written in (so that fixed(N) counts as the user reads it).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "group/Options.h"

namespace dae::group {

struct PoolNodeInfo {
  std::string name;
  std::string tag;  // subscription tag; "" for nodes of the node section
};

struct FilterArg {
  std::string key;  // "", "keyword", "regex"
  std::string value;
};
struct FilterCall {
  std::string function;  // "name" or "subtag"
  bool negated = false;
  std::vector<FilterArg> args;
};
struct FilterLine {
  std::vector<FilterCall> calls;
  std::chrono::nanoseconds addLatency{0};
};

struct SelectedMember {
  std::size_t node;  // index into the pool
  std::chrono::nanoseconds addLatency{0};
};

// Evaluates the lines over the pool. Throws GroupError (naming `group`) for an
// unknown function or key, or an invalid regular expression.
std::vector<SelectedMember> selectMembers(const std::string& group, const std::vector<FilterLine>& lines,
                                          const std::vector<PoolNodeInfo>& pool);

// A filter line as the user wrote it ("name(keyword: 'hk') && !subtag(s1)"), for messages.
std::string describeLine(const FilterLine& line);

}  // namespace dae::group
