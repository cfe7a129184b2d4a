// Acceptance: geosite.dat and geoip.dat built from ../shared/data read back to exactly
// the source entries. Skipped where ../shared/data is absent.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "geodata/Builder.h"
#include "geodata/Cidrs.h"
#include "geodata/Geodata.h"

namespace {

using namespace dae::geodata;
namespace fs = std::filesystem;

const std::string kData = DAE_SHARED_DATA;
const std::string kDlc = kData + "/domain-list-community/data";
const std::string kIpDb = kData + "/ip-location-db";

std::string tempFile(const std::string& name) {
  return (fs::temp_directory_path() / ("geodata_real." + std::to_string(getpid()) + "." + name)).string();
}

TEST(RealData, GeositeReadsBackToTheSourceEntries) {
  if (!fs::is_directory(kDlc)) GTEST_SKIP() << "no " << kDlc;
  DlcSource src = DlcSource::load(kDlc);
  std::vector<SiteList> lists = src.build();
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(kDlc)) files += e.is_regular_file();
  ASSERT_EQ(lists.size(), files);
  std::string path = tempFile("geosite.dat");
  writeFile(path, serializeSites(lists));
  GeoFile f = GeoFile::open(path, GeoFile::Kind::Site);
  fs::remove(path);
  ASSERT_EQ(f.size(), lists.size());
  size_t entries = 0;
  for (const auto& l : lists) {
    SiteList back = f.site(l.code);
    ASSERT_EQ(back.domains, l.domains) << l.code;
    entries += l.domains.size();
  }
  EXPECT_GT(entries, 50000u);
  EXPECT_GT(f.site("cn").domains.size(), 5000u);

  // Independently of the builder: a list without include: lines is its own lines.
  size_t checked = 0;
  for (const auto& e : fs::directory_iterator(kDlc)) {
    std::ifstream in(e.path());
    std::vector<DomainEntry> expected;
    bool plain = true;
    for (std::string line; std::getline(in, line);) {
      line = line.substr(0, line.find('#'));
      std::istringstream words(line);
      std::string head;
      if (!(words >> head)) continue;
      if (head.rfind("include:", 0) == 0) plain = false;
      DomainEntry d;
      size_t colon = head.find(':');
      std::string kind = colon == std::string::npos ? "domain" : head.substr(0, colon);
      d.value = colon == std::string::npos ? head : head.substr(colon + 1);
      d.type = kind == "full" ? DomainType::Full : kind == "keyword" ? DomainType::Plain : kind == "regexp" ? DomainType::Regex : DomainType::Domain;
      if (d.type != DomainType::Regex) d.value = lower(d.value);
      for (std::string a; words >> a;) d.attributes.push_back(Attribute{lower(a.substr(1)), false, true, 0});
      if (std::find(expected.begin(), expected.end(), d) == expected.end()) expected.push_back(d);
    }
    if (!plain) continue;
    ASSERT_EQ(f.site(e.path().filename().string()).domains, expected) << e.path();
    ++checked;
  }
  EXPECT_GT(checked, 1000u);
}

TEST(RealData, GeositeAttributeFilters) {
  if (!fs::is_directory(kDlc)) GTEST_SKIP() << "no " << kDlc;
  DlcSource src = DlcSource::load(kDlc);
  GeoFile f = GeoFile::fromBytes(serializeSites(src.build()), "geosite.dat", GeoFile::Kind::Site);
  SiteList google = f.site("google");
  SiteQuery q = parseSiteQuery("google@cn");
  auto pats = toPatterns(google, q, "geosite.dat");
  size_t withCn = std::count_if(google.domains.begin(), google.domains.end(), [](const DomainEntry& d) { return d.hasAttribute("cn"); });
  EXPECT_EQ(pats.size(), withCn);
  EXPECT_GT(withCn, 0u);
  EXPECT_LT(withCn, google.domains.size());
  // No entry of geosite:cn carries @!cn (the lists exclude them with include:x @-!cn).
  for (const auto& d : f.site("cn").domains) EXPECT_FALSE(d.hasAttribute("!cn")) << d.value;
}

// first,last,CC rows parsed here without the library's CSV reader.
std::map<std::string, std::vector<Range>> readCsvIndependently() {
  std::map<std::string, std::vector<Range>> out;
  for (const auto& e : fs::directory_iterator(kIpDb)) {
    if (e.path().extension() != ".csv") continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      size_t c1 = line.find(','), c2 = line.find(',', c1 + 1);
      std::string a = line.substr(0, c1), b = line.substr(c1 + 1, c2 - c1 - 1), cc = line.substr(c2 + 1);
      auto addr = [](const std::string& s) {
        unsigned char buf[16] = {};
        U128 v = 0;
        if (s.find(':') == std::string::npos) {
          EXPECT_EQ(inet_pton(AF_INET, s.c_str(), buf), 1) << s;
          v = static_cast<U128>(0xffff) << 32;
          for (int i = 0; i < 4; ++i) v |= static_cast<U128>(buf[i]) << (8 * (3 - i));
        } else {
          EXPECT_EQ(inet_pton(AF_INET6, s.c_str(), buf), 1) << s;
          for (int i = 0; i < 16; ++i) v = (v << 8) | buf[i];
        }
        return v;
      };
      out[cc].push_back({addr(a), addr(b)});
    }
  }
  return out;
}

TEST(RealData, GeoipReadsBackToTheSourceRanges) {
  if (!fs::is_directory(kIpDb)) GTEST_SKIP() << "no " << kIpDb;
  IpTable table;
  for (const auto& e : fs::directory_iterator(kIpDb))
    if (e.path().extension() == ".csv") readIpCsv(e.path().string(), table);
  std::string path = tempFile("geoip.dat");
  writeFile(path, serializeIps(buildIpLists(table)));
  GeoFile f = GeoFile::open(path, GeoFile::Kind::Ip);
  fs::remove(path);
  auto expected = readCsvIndependently();
  ASSERT_EQ(f.size(), expected.size());
  for (const auto& [cc, ranges] : expected) {
    IpList back = f.ip(cc);
    EXPECT_FALSE(back.reverseMatch);
    ASSERT_EQ(toRanges(back.cidrs), mergeRanges(ranges)) << cc;
    // Minimal: disjoint, in order within each family, and no two mergeable siblings.
    std::vector<dae::sema::Cidr> sorted = back.cidrs;
    std::sort(sorted.begin(), sorted.end(), [](const dae::sema::Cidr& a, const dae::sema::Cidr& b) { return toRange(a).first < toRange(b).first; });
    for (size_t i = 0; i + 1 < sorted.size(); ++i) {
      Range a = toRange(sorted[i]), b = toRange(sorted[i + 1]);
      ASSERT_LT(a.last, b.first) << cc;
      bool siblings = sorted[i].prefix == sorted[i + 1].prefix && a.last + 1 == b.first &&
                      ((a.first >> (128 - sorted[i].prefix)) & 1) == 0;
      ASSERT_FALSE(siblings) << cc;
    }
  }
  EXPECT_GT(f.ip("cn").cidrs.size(), 5000u);
}

}  // namespace
