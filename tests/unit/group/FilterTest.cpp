// The group filter language over a node pool (semantics of upstream dae).
#include <gtest/gtest.h>

#include "group/Filter.h"

using namespace dae::group;
using namespace std::chrono_literals;

namespace {

const std::vector<PoolNodeInfo> kPool = {
    {"HK-01", ""},          {"HK-02 Netflix", ""},  {"SG-01", ""},        {"US-01 disney", ""},
    {"JP-01", "sub-fast"},  {"HK-03", "sub-fast"},  {"TW-01", "sub-cheap"}, {"hk-lower", "other"},
};

FilterCall call(std::string fn, std::vector<FilterArg> args, bool negated = false) {
  return FilterCall{std::move(fn), negated, std::move(args)};
}

FilterLine line(std::vector<FilterCall> calls, std::chrono::nanoseconds add = 0ns) {
  return FilterLine{std::move(calls), add};
}

std::vector<std::string> names(const std::vector<FilterLine>& lines) {
  std::vector<std::string> out;
  for (const auto& m : selectMembers("g", lines, kPool)) out.push_back(kPool[m.node].name);
  return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST(Filter, NoFilterSelectsEveryNode) {
  auto m = selectMembers("g", {}, kPool);
  ASSERT_EQ(m.size(), kPool.size());
  for (std::size_t i = 0; i < m.size(); ++i) EXPECT_EQ(m[i].node, i);
}

TEST(Filter, NameExactKeywordRegex) {
  EXPECT_EQ(names({line({call("name", {{"", "HK-01"}})})}), V{"HK-01"});
  EXPECT_EQ(names({line({call("name", {{"", "HK"}})})}), V{});  // exact, not a prefix
  EXPECT_EQ(names({line({call("name", {{"keyword", "HK"}})})}), (V{"HK-01", "HK-02 Netflix", "HK-03"}));
  // Case-sensitive as upstream.
  EXPECT_EQ(names({line({call("name", {{"keyword", "hk"}})})}), V{"hk-lower"});
  // regex: searches anywhere in the name (Go's MatchString); anchors work.
  EXPECT_EQ(names({line({call("name", {{"regex", "0[12]$"}})})}),
            (V{"HK-01", "SG-01", "JP-01", "TW-01"}));
  EXPECT_EQ(names({line({call("name", {{"regex", "(?i)^hk"}})})}), (V{"HK-01", "HK-02 Netflix", "HK-03", "hk-lower"}));
  // The arguments of one call are OR-ed.
  EXPECT_EQ(names({line({call("name", {{"", "SG-01"}, {"keyword", "disney"}, {"regex", "^JP"}})})}),
            (V{"SG-01", "US-01 disney", "JP-01"}));
}

TEST(Filter, Subtag) {
  EXPECT_EQ(names({line({call("subtag", {{"", "sub-fast"}})})}), (V{"JP-01", "HK-03"}));
  EXPECT_EQ(names({line({call("subtag", {{"regex", "^sub-"}})})}), (V{"JP-01", "HK-03", "TW-01"}));
  // Nodes of the node section have the empty tag.
  EXPECT_EQ(names({line({call("subtag", {{"regex", "^$"}})})}), (V{"HK-01", "HK-02 Netflix", "SG-01", "US-01 disney"}));
}

TEST(Filter, NegationAndConjunction) {
  // !name(keyword: HK) && subtag(regex: ^sub)
  EXPECT_EQ(names({line({call("name", {{"keyword", "HK"}}, true), call("subtag", {{"regex", "^sub"}})})}),
            (V{"JP-01", "TW-01"}));
  // `!` negates the whole OR of a call.
  EXPECT_EQ(names({line({call("name", {{"keyword", "HK"}, {"keyword", "hk"}, {"regex", "^(SG|JP|TW)"}}, true)})}),
            (V{"US-01 disney"}));
  // name(keyword: HK) && !name(keyword: Netflix)
  EXPECT_EQ(names({line({call("name", {{"keyword", "HK"}}), call("name", {{"keyword", "Netflix"}}, true)})}),
            (V{"HK-01", "HK-03"}));
}

TEST(Filter, SeveralLinesAreOredAndTheFirstMatchingLineGivesAddLatency) {
  std::vector<FilterLine> lines = {
      line({call("name", {{"keyword", "HK"}})}, 30ms),
      line({call("subtag", {{"", "sub-fast"}})}, -10ms),  // HK-03 matched line 1 already
      line({call("name", {{"", "SG-01"}})}),
  };
  auto m = selectMembers("g", lines, kPool);
  // Pool order (not all lines are plain name lists).
  std::vector<std::pair<std::string, std::chrono::nanoseconds>> got;
  for (const auto& s : m) got.emplace_back(kPool[s.node].name, s.addLatency);
  std::vector<std::pair<std::string, std::chrono::nanoseconds>> want = {
      {"HK-01", 30ms}, {"HK-02 Netflix", 30ms}, {"SG-01", 0ns}, {"JP-01", -10ms}, {"HK-03", 30ms}};
  EXPECT_EQ(got, want);
}

TEST(Filter, PlainNameListsKeepTheWrittenOrder) {
  std::vector<FilterLine> lines = {line({call("name", {{"", "TW-01"}, {"", "HK-01"}})}, 5ms),
                                   line({call("name", {{"", "SG-01"}, {"", "TW-01"}, {"", "missing"}})})};
  auto m = selectMembers("g", lines, kPool);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(kPool[m[0].node].name, "TW-01");
  EXPECT_EQ(m[0].addLatency, 5ms);
  EXPECT_EQ(kPool[m[1].node].name, "HK-01");
  EXPECT_EQ(kPool[m[2].node].name, "SG-01");
  EXPECT_EQ(m[2].addLatency, 0ns);
}

TEST(Filter, Errors) {
  try {
    selectMembers("proxy", {line({call("name", {{"regex", "(unclosed"}})})}, kPool);
    FAIL() << "expected a GroupError";
  } catch (const GroupError& e) {
    EXPECT_NE(std::string(e.what()).find("group 'proxy': invalid regular expression '(unclosed'"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(selectMembers("g", {line({call("link", {{"", "x"}})})}, kPool), GroupError);
  EXPECT_THROW(selectMembers("g", {line({call("subtag", {{"keyword", "x"}})})}, kPool), GroupError);
}

TEST(Filter, DescribeLine) {
  auto l = line({call("name", {{"keyword", "HK"}}, true), call("subtag", {{"", "s1"}})}, 20ms);
  EXPECT_EQ(describeLine(l), "!name(keyword: 'HK') && subtag('s1') [add_latency: +20ms]");
}
