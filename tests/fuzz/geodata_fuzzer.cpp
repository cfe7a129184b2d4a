// libFuzzer target for geodata files: bytes -> GeoFile (as geosite.dat and as
// geoip.dat) -> every entry parsed, filtered and converted the way the compiler's
// resolvers do. A malformed file must end in a geodata::Error with a message, never
// in a crash, a hang or undefined behaviour.
//
// Beyond that it checks what the IR relies on: CIDRs from toCidrs() are disjoint and
// in order, and domain patterns are non-empty and of the four domain kinds.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "geodata/Cidrs.h"
#include "geodata/Geodata.h"

namespace {

namespace gd = dae::geodata;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

void sites(const std::string& bytes) {
  try {
    gd::GeoFile f = gd::GeoFile::fromBytes(bytes, "fuzz.dat", gd::GeoFile::Kind::Site);
    for (const auto& tag : f.tags()) {
      try {
        gd::SiteList l = f.site(tag);
        for (const char* filter : {"", "@cn", "@-ads", "@cn@-!cn"}) {
          auto q = gd::parseSiteQuery(tag + filter);
          for (const auto& p : gd::toPatterns(l, q, "fuzz.dat")) {
            using K = dae::sema::Matcher::Kind;
            if (p.value.empty()) fail("empty domain pattern");
            if (p.kind != K::DomainSuffix && p.kind != K::DomainFull && p.kind != K::DomainKeyword && p.kind != K::DomainRegex)
              fail("domain pattern of another kind");
          }
        }
      } catch (const gd::Error& e) {
        if (!*e.what()) fail("empty error message");
      }
    }
  } catch (const gd::Error& e) {
    if (!*e.what()) fail("empty error message");
  }
}

void ips(const std::string& bytes) {
  try {
    gd::GeoFile f = gd::GeoFile::fromBytes(bytes, "fuzz.dat", gd::GeoFile::Kind::Ip);
    for (const auto& tag : f.tags()) {
      try {
        auto cidrs = gd::toCidrs(f.ip(tag));
        for (size_t i = 0; i < cidrs.size(); ++i) {
          if (cidrs[i].prefix > 128) fail("prefix past 128");
          if (i && !(gd::toRange(cidrs[i - 1]).last < gd::toRange(cidrs[i]).first)) fail("CIDRs overlap or out of order");
        }
      } catch (const gd::Error& e) {
        if (!*e.what()) fail("empty error message");
      }
    }
  } catch (const gd::Error& e) {
    if (!*e.what()) fail("empty error message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  sites(bytes);
  ips(bytes);
  return 0;
}
