// The domain-list-community source format and the IP-range CSV tables.
#include <gtest/gtest.h>

#include "geodata/Builder.h"
#include "sema/Values.h"

namespace {

using namespace dae::geodata;

std::string show(const std::vector<DomainEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    out += std::string(domainTypeName(e.type)) + ":" + e.value;
    for (const auto& a : e.attributes) out += " @" + a.key + (a.isInt ? "=" + std::to_string(a.intValue) : "");
    out += "\n";
  }
  return out;
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Dlc, EntryKindsAttributesAndComments) {
  DlcSource src;
  src.addList("vendor",
              "# a comment\n"
              "example.com\n"
              "domain:Example.NET @ads   # trailing comment\n"
              "full:www.example.org @cn @rank=3\n"
              "keyword:Tracker\n"
              "regexp:^CDN\\d+\\.example\\.com$\n"
              "\n   \t\n",
              "vendor");
  EXPECT_EQ(show(src.resolve("VENDOR")),
            "domain:example.com\n"
            "domain:example.net @ads\n"
            "full:www.example.org @cn @rank=3\n"
            "keyword:tracker\n"
            "regexp:^CDN\\d+\\.example\\.com$\n");  // regexps keep their case
}

TEST(Dlc, IncludesWithFilters) {
  DlcSource src;
  src.addList("a", "a.com\nads.a.com @ads\ncn.a.com @cn\nboth.a.com @cn @ads\nx.a.com @!cn\n", "a");
  src.addList("b", "include:a @cn\nb.com\n", "b");
  src.addList("c", "include:a @-ads\ninclude:a @cn @-ads\n", "c");  // the second adds nothing new
  src.addList("d", "include:b\ninclude:a @!cn\nb.com\n", "d");           // duplicates dropped
  src.addList("e", "include:a @-!cn\n", "e");
  EXPECT_EQ(show(src.resolve("b")), "domain:cn.a.com @cn\ndomain:both.a.com @cn @ads\ndomain:b.com\n");
  EXPECT_EQ(show(src.resolve("c")), "domain:a.com\ndomain:cn.a.com @cn\ndomain:x.a.com @!cn\n");
  EXPECT_EQ(show(src.resolve("d")),
            "domain:cn.a.com @cn\ndomain:both.a.com @cn @ads\ndomain:b.com\ndomain:x.a.com @!cn\n");
  EXPECT_EQ(show(src.resolve("e")),
            "domain:a.com\ndomain:ads.a.com @ads\ndomain:cn.a.com @cn\ndomain:both.a.com @cn @ads\n");
  auto lists = src.build();
  ASSERT_EQ(lists.size(), 5u);
  EXPECT_EQ(lists[0].code, "A");
}

TEST(Dlc, Errors) {
  {
    DlcSource src;
    src.addList("a", "include:nope\n", "dir/a");
    EXPECT_EQ(errorOf([&] { src.resolve("a"); }), "dir/a:1: include of a missing list 'nope'");
  }
  {
    DlcSource src;
    src.addList("a", "x.com\ninclude:b\n", "dir/a");
    src.addList("b", "include:a\n", "dir/b");
    std::string e = errorOf([&] { src.resolve("a"); });
    EXPECT_NE(e.find("dir/a:2"), std::string::npos) << e;
    EXPECT_NE(e.find("include cycle"), std::string::npos) << e;
  }
  DlcSource src;
  EXPECT_EQ(errorOf([&] { src.addList("a", "ok.com\nbogus:x.com\n", "dir/a"); }),
            "dir/a:2: unknown entry type 'bogus:' (domain:, full:, keyword:, regexp:, include:)");
  EXPECT_EQ(errorOf([&] { src.addList("a", "full:\n", "dir/a"); }), "dir/a:1: 'full:' has no value");
  EXPECT_EQ(errorOf([&] { src.addList("a", "x.com attr\n", "dir/a"); }),
            "dir/a:1: expected an attribute '@name', got 'attr'");
  EXPECT_EQ(errorOf([&] { src.addList("a", "x.com @n=x\n", "dir/a"); }),
            "dir/a:1: attribute '@n=x' needs an integer after '='");
  src.addList("a", "x.com\n", "dir/a");
  EXPECT_EQ(errorOf([&] { src.addList("A", "y.com\n", "dir/A"); }),
            "dir/A: a second list named 'A' (names are case-insensitive)");
  EXPECT_NE(errorOf([] { DlcSource::load("/nonexistent-dir"); }).find("cannot read directory"), std::string::npos);
}

TEST(IpCsv, MinimalCoverPerCountry) {
  IpTable t;
  readIpCsvText("first,last,country\n"
                "1.0.0.0,1.0.0.255,AU\n"
                "1.0.1.0,1.0.3.255,cn\n"
                "1.0.4.0,1.0.7.255,CN\n"
                "\"2001:db8::\",\"2001:db8::ffff\",CN\n"
                "10.0.0.1,10.0.0.6,ZZ\n",
                "t.csv", t);
  EXPECT_EQ(t.rows, 5u);
  auto lists = buildIpLists(t);
  ASSERT_EQ(lists.size(), 3u);
  auto fmt = [](const IpList& l) {
    std::string out = l.code + ":";
    for (const auto& c : l.cidrs) out += " " + dae::sema::formatCidr(c);
    return out;
  };
  EXPECT_EQ(fmt(lists[0]), "AU: 1.0.0.0/24");
  EXPECT_EQ(fmt(lists[1]), "CN: 1.0.1.0/24 1.0.2.0/23 1.0.4.0/22 2001:db8::/112");
  EXPECT_EQ(fmt(lists[2]), "ZZ: 10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32");
}

TEST(IpCsv, Errors) {
  IpTable t;
  auto err = [&](const std::string& text) { return errorOf([&] { readIpCsvText(text, "t.csv", t); }); };
  EXPECT_EQ(err("1.0.0.0,1.0.0.255,AU\nx,y,AU\n"), "t.csv:2: 'x' is not an IP address");
  EXPECT_EQ(err("1.0.0.9,1.0.0.1,AU\n"), "t.csv:1: the range ends before it starts");
  EXPECT_EQ(err("1.0.0.0,::1,AU\n"), "t.csv:1: a range from an IPv4 to an IPv6 address");
  EXPECT_EQ(err("1.0.0.0,1.0.0.1\n"), "t.csv:1: expected 'first,last,country', got '1.0.0.0,1.0.0.1'");
  EXPECT_EQ(err("1.0.0.0,1.0.0.1,\n"), "t.csv:1: empty country code");
}

}  // namespace
