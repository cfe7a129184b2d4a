// Reversal of RE2 regular expressions, so that a regex anchored at the end of a name
// (nearly every geosite regexp is `...\.example\.com$`) can run anchored at the start
// of the reversed name, where RE2's DFA gives up after the first bytes that fit no
// pattern instead of scanning the whole name.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dae::dns {

using ByteSet = std::array<uint64_t, 4>;  // bit b: byte b

// One position of a signature: a byte of `set`; with `star` any number of them; with
// `end` the end of the text (the original regex's `^`).
struct SigItem {
  ByteSet set{};
  bool star = false;
  bool end = false;
};

struct ReversedRegex {
  std::string pattern;         // matches reverse(t) somewhere iff the original matches t somewhere
  bool anchoredStart = false;  // every alternative began with `^`; `pattern` has them removed
  // For anchoredStart, a necessary condition: a reversed name it matches starts with
  // bytes that fit the items of some sig of `signatures` (one per way through the
  // regex's leading part, up to 16 items; alternatives, x? and x{n,m} unrolled).
  std::vector<std::vector<SigItem>> signatures;
  // Another: a string every match contains (the longest literal run at the top level).
  std::string literal;
};

// The reversal of `re` (RE2 syntax, already known to compile), or nullopt for
// constructs it does not handle (\Q..\E, \C, flags set without a group, backslash
// digits): those regexes are then matched forwards. Literal text is reversed by
// character, not byte, so callers must only apply the result to ASCII names.
std::optional<ReversedRegex> reverseRegex(const std::string& re);

}  // namespace dae::dns
