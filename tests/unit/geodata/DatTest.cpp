// geoip.dat / geosite.dat: writing and reading back, tags, filters, the search path,
// and malformed files (every truncation is an error, never a crash).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "geodata.pb.h"
#include "geodata/Builder.h"
#include "geodata/Geodata.h"
#include "sema/Values.h"

namespace {

using namespace dae::geodata;
using dae::sema::Cidr;
using K = dae::sema::Matcher::Kind;

Cidr cidr(const char* text) { return std::get<Cidr>(dae::sema::parseCidr(text)); }

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<SiteList> sampleSites() {
  DlcSource src;
  src.addList("google", "google.com\nfull:www.google.cn @cn\nkeyword:googlevideo @ads\nregexp:^r\\d+\\.gvt1\\.com$ @cn @ads\n", "google");
  src.addList("cn", "include:google @cn\nbaidu.com\n", "cn");
  src.addList("geolocation-!cn", "include:google @-cn\n", "geolocation-!cn");
  return src.build();
}

std::vector<IpList> sampleIps() {
  IpList cn{"CN", {cidr("1.0.1.0/24"), cidr("2001:db8::/32")}, false};
  IpList notcn{"NOTCN", {cidr("1.0.1.0/24")}, true};
  IpList empty{"EMPTY", {}, false};
  return {cn, notcn, empty};
}

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("geodata_test." + std::to_string(getpid()) + "." + std::to_string(counter_++))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(Dat, SitesRoundTrip) {
  auto lists = sampleSites();
  GeoFile f = GeoFile::fromBytes(serializeSites(lists), "mem", GeoFile::Kind::Site);
  ASSERT_EQ(f.size(), lists.size());
  for (const auto& l : lists) {
    SiteList back = f.site(l.code);
    EXPECT_EQ(back.code, l.code);
    EXPECT_EQ(back.domains, l.domains) << l.code;
  }
  EXPECT_TRUE(f.has("Geolocation-!CN"));  // tags are case-insensitive
}

TEST(Dat, IpsRoundTripAndReverseMatch) {
  GeoFile f = GeoFile::fromBytes(serializeIps(sampleIps()), "mem", GeoFile::Kind::Ip);
  IpList cn = f.ip("cn");
  EXPECT_EQ(cn.cidrs, sampleIps()[0].cidrs);
  EXPECT_TRUE(cn.cidrs[0].v4);
  IpList notcn = f.ip("notcn");
  EXPECT_TRUE(notcn.reverseMatch);
  auto comp = toCidrs(notcn);  // everything but 1.0.1.0/24
  auto ranges = toRanges(comp);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].last + 1, toRange(cidr("1.0.1.0/24")).first);
  EXPECT_EQ(ranges[1].first, toRange(cidr("1.0.1.0/24")).last + 1);
  EXPECT_TRUE(toCidrs(f.ip("empty")).empty());
}

TEST(Dat, PatternsAndAttributeFilters) {
  GeoFile f = GeoFile::fromBytes(serializeSites(sampleSites()), "mem", GeoFile::Kind::Site);
  auto pats = [&](const std::string& spec) {
    SiteQuery q = parseSiteQuery(spec);
    std::string out;
    for (const auto& p : toPatterns(f.site(q.tag), q, "mem")) {
      const char* k = p.kind == K::DomainSuffix ? "suffix" : p.kind == K::DomainFull ? "full" : p.kind == K::DomainKeyword ? "keyword" : "regex";
      out += std::string(out.empty() ? "" : " ") + k + ":" + p.value;
    }
    return out;
  };
  EXPECT_EQ(pats("google"), "suffix:google.com full:www.google.cn keyword:googlevideo regex:^r\\d+\\.gvt1\\.com$");
  EXPECT_EQ(pats("google@cn"), "full:www.google.cn regex:^r\\d+\\.gvt1\\.com$");
  EXPECT_EQ(pats("google@CN@ads"), "regex:^r\\d+\\.gvt1\\.com$");
  EXPECT_EQ(pats("google@-cn"), "suffix:google.com keyword:googlevideo");
  EXPECT_EQ(pats("google@nothing"), "");
  EXPECT_EQ(pats("cn"), "full:www.google.cn regex:^r\\d+\\.gvt1\\.com$ suffix:baidu.com");
}

TEST(Dat, StoreSearchPathAndCaches) {
  TempDir a, b;
  writeFile(b.path() + "/geoip.dat", serializeIps(sampleIps()));
  writeFile(b.path() + "/geosite.dat", serializeSites(sampleSites()));
  writeFile(a.path() + "/mine.dat", serializeSites(sampleSites()));
  Store store({a.path(), b.path()});
  EXPECT_EQ(store.locate("geoip.dat"), b.path() + "/geoip.dat");
  EXPECT_EQ(store.locate("mine"), a.path() + "/mine.dat");  // .dat appended
  EXPECT_EQ(store.resolveIp("geoip:cn").size(), 2u);
  const auto* first = &store.resolveSite("geosite:google@cn");
  EXPECT_EQ(first, &store.resolveSite("geosite:google@cn"));  // cached
  EXPECT_EQ(store.resolveSite("ext:mine.dat:cn").size(), 3u);
  EXPECT_EQ(store.resolveSite("ext:" + a.path() + "/mine.dat:google@ads").size(), 2u);  // an absolute path

  std::string e = errorOf([&] { store.resolveIp("geoip:nope"); });
  EXPECT_NE(e.find("geoip:nope: no tag 'nope' in " + b.path() + "/geoip.dat (3 tags"), std::string::npos) << e;
  e = errorOf([&] { store.resolveSite("geosite:googel"); });
  EXPECT_NE(e.find("did you mean 'google'?"), std::string::npos) << e;
  e = errorOf([&] { store.resolveSite("ext:other.dat:cn"); });
  EXPECT_EQ(e, "ext:other.dat:cn: cannot find other.dat in the geodata directories (searched " + a.path() + ", " +
                   b.path() + "; add one with -L DIR or $DAE_LOCATION_ASSET)");
  EXPECT_NE(errorOf([&] { store.resolveSite("ext:nocolon"); }).find("ext: takes"), std::string::npos);
  // The resolvers for the IR report the same messages.
  auto shared = std::make_shared<Store>(std::vector<std::string>{a.path()});
  std::string err;
  EXPECT_FALSE(makeGeoIpResolver(shared)("geoip:cn", err));
  EXPECT_NE(err.find("cannot find geoip.dat"), std::string::npos) << err;
  auto ok = makeGeoSiteResolver(shared)("ext:mine.dat:geolocation-!cn", err);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 2u);
}

TEST(Dat, InvalidEntriesAreErrorsNamingFileAndTag) {
  dae::geodata::pb::GeoSiteList sites;
  auto* s = sites.add_entry();
  s->set_country_code("BAD");
  auto* d = s->add_domain();
  d->set_type(static_cast<dae::geodata::pb::Domain::Type>(7));
  d->set_value("x.com");
  auto* s2 = sites.add_entry();
  s2->set_country_code("EMPTY");
  s2->add_domain()->set_type(dae::geodata::pb::Domain::Full);
  auto* s3 = sites.add_entry();
  s3->set_country_code("RE");
  auto* d3 = s3->add_domain();
  d3->set_type(dae::geodata::pb::Domain::Regex);
  d3->set_value("(unclosed");
  GeoFile f = GeoFile::fromBytes(sites.SerializeAsString(), "bad.dat", GeoFile::Kind::Site);
  EXPECT_EQ(errorOf([&] { f.site("bad"); }), "bad.dat: 'BAD', domain #0: unknown type 7 (Plain 0, Regex 1, Domain 2, Full 3)");
  EXPECT_EQ(errorOf([&] { f.site("empty"); }), "bad.dat: 'EMPTY', domain #0: empty value");
  EXPECT_NE(errorOf([&] { toPatterns(f.site("re"), parseSiteQuery("re"), "bad.dat"); }).find("invalid regexp '(unclosed'"),
            std::string::npos);

  dae::geodata::pb::GeoIPList ips;
  auto* g = ips.add_entry();
  g->set_country_code("X");
  g->add_cidr()->set_ip("abc");
  auto* g2 = ips.add_entry();
  g2->set_country_code("Y");
  auto* c2 = g2->add_cidr();
  c2->set_ip(std::string(4, '\0'));
  c2->set_prefix(33);
  GeoFile fi = GeoFile::fromBytes(ips.SerializeAsString(), "bad.dat", GeoFile::Kind::Ip);
  EXPECT_EQ(errorOf([&] { fi.ip("x"); }), "bad.dat: 'X', CIDR #0: 3-byte address (expected 4 or 16)");
  EXPECT_EQ(errorOf([&] { fi.ip("y"); }), "bad.dat: 'Y', CIDR #0: prefix 33 for an IPv4 address");
}

// Every prefix of a valid file, and every single-byte corruption, either reads or
// fails with an Error: never a crash (the fuzzer explores further).
TEST(Dat, TruncatedAndCorruptFilesAreErrors) {
  for (auto kind : {GeoFile::Kind::Site, GeoFile::Kind::Ip}) {
    std::string bytes = kind == GeoFile::Kind::Site ? serializeSites(sampleSites()) : serializeIps(sampleIps());
    auto readAll = [&](const std::string& b) {
      GeoFile f = GeoFile::fromBytes(b, "t.dat", kind);
      for (const auto& t : f.tags()) {
        if (kind == GeoFile::Kind::Site) toPatterns(f.site(t), parseSiteQuery(t), "t.dat");
        else toCidrs(f.ip(t));
      }
    };
    size_t errors = 0;
    for (size_t n = 0; n < bytes.size(); ++n) {
      std::string e = errorOf([&] { readAll(bytes.substr(0, n)); });
      if (e != "(no error)") {
        ++errors;
        EXPECT_EQ(e.rfind("t.dat", 0), 0u) << e;
      }
    }
    EXPECT_GT(errors, bytes.size() / 2);
    for (size_t i = 0; i < bytes.size(); ++i)
      for (int x : {0x00, 0x80, 0xff, 0x0a, 0x12}) {
        std::string b = bytes;
        b[i] = static_cast<char>(x);
        errorOf([&] { readAll(b); });
      }
  }
  EXPECT_NE(errorOf([] { GeoFile::fromBytes("\x0a\x05\x0a\x09", "t.dat", GeoFile::Kind::Site); }).find("t.dat: malformed GeoSiteList at byte 0"),
            std::string::npos);
  EXPECT_NE(errorOf([] { GeoFile::open("/nonexistent/geoip.dat", GeoFile::Kind::Ip); }).find("cannot open '/nonexistent/geoip.dat'"),
            std::string::npos);
}

}  // namespace
