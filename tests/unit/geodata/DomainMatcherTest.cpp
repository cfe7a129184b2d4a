// dns::DomainMatcher (hashed suffixes, Aho-Corasick keywords, reversed RE2 sets behind
// a prefilter) against a plain reference, on hand-written cases, random pattern sets
// and the real geosite lists.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <cctype>
#include <filesystem>
#include <random>
#include <unordered_set>

#include "RegexSampler.h"
#include "dns/DomainMatcher.h"
#include "geodata/Builder.h"
#include "geodata/Geodata.h"

namespace {

using dae::dns::DomainMatcher;
namespace artifact = dae::artifact;

struct Pattern {
  std::string kind, value;
};
using Sets = std::vector<std::vector<Pattern>>;

artifact::RuleTable table(const Sets& sets) {
  artifact::RuleTable t;
  for (size_t i = 0; i < sets.size(); ++i) {
    auto* s = t.add_domain_sets();
    s->set_index(static_cast<uint32_t>(i));
    for (const auto& p : sets[i]) {
      auto* pp = s->add_patterns();
      pp->set_kind(p.kind);
      pp->set_value(p.value);
    }
  }
  return t;
}

// The obvious implementation: per set, the suffixes and full names in hash sets (every
// label-aligned suffix of the name is looked up), keywords by find(), regexes one by one.
class Reference {
 public:
  explicit Reference(const Sets& sets) {
    for (const auto& set : sets) {
      Set s;
      for (const auto& p : set) {
        // A keyword is a substring: lower-cased, its dots (a final one too) kept.
        std::string v = p.kind == "regex" ? p.value : dae::dns::normalizeDomain(p.value);
        if (p.kind == "keyword") {
          v = p.value;
          for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (p.kind == "suffix" && !v.empty() && v[0] == '.') v.erase(0, 1);
        if (p.kind == "suffix" && !v.empty()) s.suffixes.insert(v);
        else if (p.kind == "full") s.fulls.insert(v);
        else if (p.kind == "keyword") s.keywords.push_back(v);
        else if (p.kind == "regex") s.regexes.push_back(std::make_shared<re2::RE2>(v));
      }
      sets_.push_back(std::move(s));
    }
  }
  std::vector<uint32_t> bitmap(std::string name, uint32_t words) const {
    name = dae::dns::normalizeDomain(name);
    std::vector<uint32_t> out(words, 0);
    for (size_t i = 0; i < sets_.size() && i / 32 < words; ++i)
      if (matches(sets_[i], name)) out[i / 32] |= 1u << (i % 32);
    return out;
  }

 private:
  struct Set {
    std::unordered_set<std::string> suffixes, fulls;
    std::vector<std::string> keywords;
    std::vector<std::shared_ptr<re2::RE2>> regexes;
  };
  static bool matches(const Set& s, const std::string& name) {
    if (s.fulls.count(name)) return true;
    for (size_t at = 0;;) {  // every suffix that starts a label
      if (s.suffixes.count(name.substr(at))) return true;
      size_t dot = name.find('.', at);
      if (dot == std::string::npos) break;
      at = dot + 1;
    }
    for (const auto& k : s.keywords)
      if (name.find(k) != std::string::npos) return true;
    for (const auto& r : s.regexes)
      if (re2::RE2::PartialMatch(name, *r)) return true;
    return false;
  }
  std::vector<Set> sets_;
};

TEST(DomainMatcher, Semantics) {
  Sets sets = {
      {{"suffix", "example.com"}},
      {{"full", "www.example.com"}},
      {{"keyword", "track"}},
      {{"regex", "^ad[0-9]+\\."}},
      {{"suffix", "COM"}, {"full", "Exact.Org."}},
  };
  DomainMatcher m(table(sets));
  auto bits = [&](const std::string& n) { return m.bitmap(n, 1)[0]; };
  EXPECT_EQ(bits("example.com"), 0b10001u);
  EXPECT_EQ(bits("a.b.example.com"), 0b10001u);
  EXPECT_EQ(bits("notexample.com"), 0b10000u);   // suffixes match on label boundaries
  EXPECT_EQ(bits("WWW.Example.COM."), 0b10011u);  // case and a trailing dot do not matter
  EXPECT_EQ(bits("x.www.example.com"), 0b10001u);
  EXPECT_EQ(bits("tracking.net"), 0b00100u);
  EXPECT_EQ(bits("ad12.example.net"), 0b01000u);
  EXPECT_EQ(bits("exact.org"), 0b10000u);
  EXPECT_EQ(bits("sub.exact.org"), 0u);
  EXPECT_EQ(bits(""), 0u);
  EXPECT_EQ(m.setCount(), 5u);
  uint32_t two[2] = {7, 7};
  m.match("example.com", two, 2);
  EXPECT_EQ(two[0], 0b10001u);
  EXPECT_EQ(two[1], 0u);
}

TEST(DomainMatcher, ManySetsAndWords) {
  Sets sets;
  for (int i = 0; i < 700; ++i) sets.push_back({{"full", "d" + std::to_string(i) + ".test"}, {"suffix", "all.test"}});
  DomainMatcher m(table(sets));
  Reference ref(sets);
  for (const char* n : {"d0.test", "d63.test", "d64.test", "d699.test", "x.all.test", "d700.test"})
    EXPECT_EQ(m.bitmap(n, 22), ref.bitmap(n, 22)) << n;
  EXPECT_EQ(m.bitmap("d40.test", 1)[0], 0u);  // set 40 is past the one word asked for
  EXPECT_EQ(m.bitmap("d40.test", 2)[1], 1u << 8);
}

TEST(DomainMatcher, Errors) {
  try {
    DomainMatcher m(table({{{"geosite", "cn"}}}));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("domain(geosite:cn) was not expanded"), std::string::npos) << e.what();
  }
  EXPECT_THROW(DomainMatcher(table({{{"regex", "(unclosed"}}})), std::runtime_error);
  EXPECT_THROW(DomainMatcher(table({{{"bogus", "x"}}})), std::runtime_error);
}

std::string randomName(std::mt19937_64& rng) {
  static const char* labels[] = {"a", "b", "ab", "ba", "abc", "c1", "1a", "x-y", "aa", "b2b"};
  static const char* tlds[] = {"com", "net", "cn", "a", "b"};
  std::string n;
  int k = static_cast<int>(rng() % 4);
  for (int i = 0; i < k; ++i) n += std::string(labels[rng() % 10]) + ".";
  n += tlds[rng() % 5];
  if (rng() % 10 == 0) n[rng() % n.size()] = static_cast<char>('A' + rng() % 3);
  if (rng() % 20 == 0) n += ".";
  if (rng() % 25 == 0) n.insert(rng() % n.size(), "\xc3\xa9");  // non-ASCII: the forward path
  return n;
}

// Random pattern sets over a tiny alphabet, so that collisions, nested suffixes and
// overlapping keywords are common; regexes of the shapes domain lists use.
TEST(DomainMatcher, RandomAgainstReference) {
  static const char* regexes[] = {
      "(^|\\.)a[bc]+\\.com$", "^ab?c\\.", "b\\d{1,2}$", "a.*b", "(^|\\.)ba\\..+$", "^[a-c]{2}\\.(com|net)$",
      "1a\\.(?:b|cn)$",       "x-y",       "c1\\.a$|^b\\.", "(?i:AB)\\.b$", "[^a]\\.cn$", "a\\Bb", "\\bab\\b.*$",
      "\xc3\xa9",             "b+$",       "(ab|ba){2}\\.a$", "^(a|b|c1)\\.(a|b)$", "a\\.b?\\.?cn$",
      "(?m:^b)\\.a$",          "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
  };
  std::mt19937_64 rng(11);
  for (int round = 0; round < 300; ++round) {
    Sets sets(1 + rng() % 5);
    for (auto& set : sets) {
      int n = 1 + static_cast<int>(rng() % 6);
      for (int i = 0; i < n; ++i) {
        switch (rng() % 4) {
          case 0: set.push_back({"suffix", randomName(rng)}); break;
          case 1: set.push_back({"full", randomName(rng)}); break;
          case 2: set.push_back({"keyword", std::string("ab.c1-").substr(rng() % 4, 1 + rng() % 3)}); break;
          case 3: set.push_back({"regex", regexes[rng() % (sizeof regexes / sizeof *regexes)]}); break;
        }
      }
    }
    DomainMatcher m(table(sets));
    Reference ref(sets);
    for (int q = 0; q < 200; ++q) {
      std::string name = randomName(rng);
      ASSERT_EQ(m.bitmap(name, 1), ref.bitmap(name, 1)) << "round " << round << " name '" << name << "'";
    }
  }
}

// The three lists the benchmark loads, plus every regexp of the community lists, on
// names from the lists, names generated from the regexps and random names.
TEST(DomainMatcher, RealListsAgainstReference) {
  const std::string dlc = std::string(DAE_SHARED_DATA) + "/domain-list-community/data";
  if (!std::filesystem::is_directory(dlc)) GTEST_SKIP() << "no " << dlc;
  namespace gd = dae::geodata;
  gd::DlcSource src = gd::DlcSource::load(dlc);
  Sets sets;
  std::vector<std::string> names;
  for (const char* list : {"cn", "geolocation-!cn", "category-ads-all"}) {
    sets.emplace_back();
    for (const auto& d : src.resolve(list)) {
      const char* kind = d.type == gd::DomainType::Full ? "full" : d.type == gd::DomainType::Domain ? "suffix"
                         : d.type == gd::DomainType::Plain ? "keyword" : "regex";
      sets.back().push_back({kind, d.value});
      if (d.type != gd::DomainType::Regex && names.size() < 6000) {
        names.push_back(d.value);
        names.push_back("www." + d.value);
        names.push_back("x" + d.value);
      }
    }
  }
  std::unordered_set<std::string> allRegexes;
  for (const auto& name : src.names())
    for (const auto& d : src.resolve(name))
      if (d.type == gd::DomainType::Regex) allRegexes.insert(d.value);
  sets.emplace_back();
  for (const auto& r : allRegexes) sets.back().push_back({"regex", r});
  std::mt19937_64 rng(5);
  size_t generated = 0;
  for (const auto& r : allRegexes) {
    re2::RE2 re(r);
    dae::test::RegexSampler sampler(r, rng);
    for (int i = 0; i < 12; ++i) {
      std::string s = sampler.sample();
      if (i % 3 == 1) s = "pre." + s;
      if (re2::RE2::PartialMatch(s, re)) names.push_back(s), ++generated;
    }
  }
  EXPECT_GT(generated, allRegexes.size() * 4) << "the sampler should produce matching names";
  for (int i = 0; i < 3000; ++i) names.push_back(randomName(rng) + ".com");
  DomainMatcher m(table(sets));
  Reference ref(sets);
  for (const auto& n : names) ASSERT_EQ(m.bitmap(n, 1), ref.bitmap(n, 1)) << "'" << n << "'";
}

}  // namespace
