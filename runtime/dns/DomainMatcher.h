// Which domain() rule sets a domain name belongs to. The DNS module writes the
// resulting bitmap into dae_domain_map for every address of an answer; `--route
// domain=NAME` uses the same code to inject a domain.
//
// Built for sets expanded from geosite lists (tens of thousands of patterns):
//   suffix and full  one hashed table of pattern strings; a lookup hashes the name
//                    once from its end and probes it at every label boundary
//   keyword          an Aho-Corasick automaton (a dense DFA over the bytes that occur
//                    in keywords), one table step per byte of the name
//   regex            one RE2::Set, asked first whether anything matches at all
// Every table entry carries the bitmap of the sets it belongs to (interned), so a
// lookup ORs a few bitmaps whatever the number of sets.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "artifact.pb.h"

namespace dae::dns {

class DomainMatcher {
 public:
  // Throws std::runtime_error for patterns it cannot evaluate (an invalid regex, or
  // geosite:/ext: patterns the compiler left unexpanded).
  explicit DomainMatcher(const artifact::RuleTable& rules);
  ~DomainMatcher();
  DomainMatcher(DomainMatcher&&) noexcept;
  DomainMatcher& operator=(DomainMatcher&&) noexcept;

  // Bit i of the result is set when domain set i matches `name` (case-insensitive,
  // a trailing dot ignored). `words` 32-bit words are returned.
  std::vector<uint32_t> bitmap(const std::string& name, uint32_t words) const;
  // The same into out[0, words) without allocating (out is cleared first).
  void match(std::string_view name, uint32_t* out, uint32_t words) const;

  size_t setCount() const;

  // What the constructor built (for benchmarks and tests).
  struct Stats {
    size_t names = 0;             // distinct suffix / full strings
    size_t keywordStates = 0;     // Aho-Corasick states
    size_t regexes = 0;           // distinct regexes
    size_t reversedRegexes = 0;   // of them, run reversed and anchored
    size_t prefilterStates = 0;   // 0: every ASCII name goes to RE2
    size_t prefilterLiterals = 0;
  };
  Stats stats() const;
  // Bytes held by the lookup structures (not counting RE2's lazily built DFA).
  size_t memoryBytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Lower-case, without a trailing dot.
std::string normalizeDomain(std::string name);

}  // namespace dae::dns
