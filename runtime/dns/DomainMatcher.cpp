#include "dns/DomainMatcher.h"

#include <re2/re2.h>

#include <stdexcept>

namespace dae::dns {

std::string normalizeDomain(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

DomainMatcher::DomainMatcher(const artifact::RuleTable& rules) {
  for (const auto& set : rules.domain_sets()) {
    std::vector<Pattern> patterns;
    for (const auto& p : set.patterns()) {
      Pattern pat;
      pat.value = p.value();
      if (p.kind() == "suffix") pat.kind = Pattern::Suffix;
      else if (p.kind() == "full") pat.kind = Pattern::Full;
      else if (p.kind() == "keyword") pat.kind = Pattern::Keyword;
      else if (p.kind() == "regex") {
        pat.kind = Pattern::Regex;
        pat.re = std::make_shared<re2::RE2>(p.value());
        if (!pat.re->ok()) throw std::runtime_error("invalid regex '" + p.value() + "': " + pat.re->error());
      } else {
        throw std::runtime_error("domain(" + p.kind() + ":" + p.value() +
                                 ") needs geodata (geosite.dat), which this build cannot read yet");
      }
      patterns.push_back(std::move(pat));
    }
    sets_.push_back(std::move(patterns));
  }
}

DomainMatcher::~DomainMatcher() = default;
DomainMatcher::DomainMatcher(DomainMatcher&&) noexcept = default;

std::vector<uint32_t> DomainMatcher::bitmap(const std::string& rawName, uint32_t words) const {
  std::string name = normalizeDomain(rawName);
  std::vector<uint32_t> out(words, 0);
  for (size_t i = 0; i < sets_.size() && i / 32 < words; ++i) {
    for (const auto& p : sets_[i]) {
      bool hit = false;
      switch (p.kind) {
        case Pattern::Full: hit = name == p.value; break;
        case Pattern::Suffix:
          hit = name == p.value ||
                (name.size() > p.value.size() && name.compare(name.size() - p.value.size(), p.value.size(), p.value) == 0 &&
                 name[name.size() - p.value.size() - 1] == '.');
          break;
        case Pattern::Keyword: hit = name.find(p.value) != std::string::npos; break;
        case Pattern::Regex: hit = re2::RE2::PartialMatch(name, *p.re); break;
      }
      if (hit) {
        out[i / 32] |= 1u << (i % 32);
        break;
      }
    }
  }
  return out;
}

}  // namespace dae::dns
