// Which domain() rule sets a domain name belongs to. The DNS module writes the
// resulting bitmap into dae_domain_map for every address of an answer; `--route
// domain=NAME` uses the same code to inject a domain.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "artifact.pb.h"

namespace re2 {
class RE2;
}

namespace dae::dns {

class DomainMatcher {
 public:
  // Throws std::runtime_error for patterns it cannot evaluate (geosite:/ext: need
  // geodata files).
  explicit DomainMatcher(const artifact::RuleTable& rules);
  ~DomainMatcher();
  DomainMatcher(DomainMatcher&&) noexcept;

  // Bit i of the result is set when domain set i matches `name` (case-insensitive,
  // a trailing dot ignored). `words` 32-bit words are returned.
  std::vector<uint32_t> bitmap(const std::string& name, uint32_t words) const;
  size_t setCount() const { return sets_.size(); }

 private:
  struct Pattern {
    enum Kind { Suffix, Full, Keyword, Regex } kind;
    std::string value;
    std::shared_ptr<re2::RE2> re;
  };
  std::vector<std::vector<Pattern>> sets_;
};

// Lower-case, without a trailing dot.
std::string normalizeDomain(std::string name);

}  // namespace dae::dns
