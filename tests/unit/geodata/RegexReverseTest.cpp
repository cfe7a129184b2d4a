// Regex reversal: reverse(R) matches reverse(t) exactly when R matches t, and the
// signatures never reject a name that R matches.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <filesystem>
#include <random>

#include "RegexSampler.h"
#include "dns/RegexReverse.h"
#include "geodata/Builder.h"

namespace {

using dae::dns::reverseRegex;
using dae::dns::SigItem;

bool fits(const SigItem& it, unsigned char b) { return (it.set[b / 64] >> (b % 64)) & 1; }

// Whether a prefix of `text` fits the signature (star items loop, an end item needs
// the end of the text).
bool sigAccepts(const std::vector<SigItem>& sig, const std::string& text, size_t item = 0, size_t pos = 0) {
  if (item == sig.size()) return true;
  if (sig[item].end) return pos == text.size();
  if (sig[item].star && sigAccepts(sig, text, item + 1, pos)) return true;
  if (pos == text.size() || !fits(sig[item], static_cast<unsigned char>(text[pos]))) return false;
  return sigAccepts(sig, text, sig[item].star ? item : item + 1, pos + 1);
}

void checkRegex(const std::string& r, const std::vector<std::string>& names) {
  auto rev = reverseRegex(r);
  ASSERT_TRUE(rev) << r;
  re2::RE2 forward(r);
  ASSERT_TRUE(forward.ok()) << r;
  re2::RE2 backward(rev->anchoredStart ? "^(?:" + rev->pattern + ")" : rev->pattern);
  ASSERT_TRUE(backward.ok()) << r << " reversed to " << rev->pattern << ": " << backward.error();
  for (const auto& n : names) {
    bool ascii = std::all_of(n.begin(), n.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!ascii) continue;
    std::string rn(n.rbegin(), n.rend());
    bool want = re2::RE2::PartialMatch(n, forward);
    ASSERT_EQ(re2::RE2::PartialMatch(rn, backward), want) << r << " / " << rev->pattern << " on '" << n << "'";
    if (want && rev->anchoredStart) {
      bool some = std::any_of(rev->signatures.begin(), rev->signatures.end(), [&](const auto& s) { return sigAccepts(s, rn); });
      ASSERT_TRUE(some) << r << ": no signature admits '" << n << "'";
      if (!rev->literal.empty()) {
        ASSERT_NE(n.find(rev->literal), std::string::npos) << r << " literal " << rev->literal;
      }
    }
  }
}

std::vector<std::string> namesFor(const std::string& r, std::mt19937_64& rng, int n) {
  std::vector<std::string> out;
  dae::test::RegexSampler sampler(r, rng);
  for (int i = 0; i < n; ++i) {
    std::string s = sampler.sample();
    out.push_back(s);
    out.push_back("a." + s);
    out.push_back(s + "x");
    if (!s.empty()) out.push_back(s.substr(1));
  }
  static const char* fixed[] = {"", "a", "example.com", "www.google.com", "cdn1-epicgames-22.file.myqcloud.com", "1.2.3",
                                "x\nb.a", "b.a\n"};
  out.insert(out.end(), std::begin(fixed), std::end(fixed));
  return out;
}

TEST(RegexReverse, HandWritten) {
  std::mt19937_64 rng(3);
  for (std::string r : {"abc", "^abc$", "a|b$", "(^|\\.)x[0-9]+\\.(com|net)$", "^a{2,3}b?c*$", "[^a-c\\d]\\.z$",
                        "(?:ab)+$", "(?P<n>ab|cd)e$", "\\bfoo\\b", "x\\.y\\-z$", "a.b$", "[]a]b$", "(a|)b$", "a$|b$",
                        "\\Aab\\z", "(?i:ab)c$", "(?m:^b)\\.a$", "[[:digit:]]x$", "\\x41b$", "\\pLb$", "é\\.cn$"})
    checkRegex(r, namesFor(r, rng, 40));
  auto anchored = reverseRegex("(^|\\.)ab\\.com$");
  ASSERT_TRUE(anchored);
  EXPECT_TRUE(anchored->anchoredStart);
  EXPECT_EQ(anchored->pattern, "(?:moc\\.ba(?:$|\\.))");
  EXPECT_EQ(anchored->literal, "ab.com");
  EXPECT_FALSE(reverseRegex("abc")->anchoredStart);
  EXPECT_FALSE(reverseRegex("a$|b")->anchoredStart);
  for (const char* unsupported : {"(?i)ab$", "\\Qa.b\\E$", "a\\C$", "\\1$", "a{2"})
    EXPECT_FALSE(reverseRegex(unsupported) && std::string(unsupported) != "a{2") << unsupported;
}

TEST(RegexReverse, CommunityRegexps) {
  const std::string dlc = std::string(DAE_SHARED_DATA) + "/domain-list-community/data";
  if (!std::filesystem::is_directory(dlc)) GTEST_SKIP() << "no " << dlc;
  auto src = dae::geodata::DlcSource::load(dlc);
  std::mt19937_64 rng(9);
  size_t n = 0;
  for (const auto& list : src.names())
    for (const auto& d : src.resolve(list))
      if (d.type == dae::geodata::DomainType::Regex) {
        checkRegex(d.value, namesFor(d.value, rng, 10));
        auto rev = reverseRegex(d.value);
        EXPECT_TRUE(rev->anchoredStart) << d.value;
        ++n;
      }
  EXPECT_GT(n, 100u);
}

}  // namespace
