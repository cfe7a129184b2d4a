#include "dns/Geo.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "geodata/Geodata.h"
#include "ir/Lower.h"

namespace dae::dns {
namespace {

std::string cidrText(const sema::Cidr& c) {
  char buf[INET6_ADDRSTRLEN];
  if (c.v4 || (c.prefix >= 96 && c.addr[10] == 0xFF && c.addr[11] == 0xFF)) {
    bool mapped = true;
    for (int i = 0; i < 10; ++i) mapped &= c.addr[i] == 0;
    if (mapped && c.prefix >= 96) {
      inet_ntop(AF_INET, c.addr.data() + 12, buf, sizeof buf);
      return std::string(buf) + "/" + std::to_string(c.prefix - 96);
    }
  }
  inet_ntop(AF_INET6, c.addr.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(c.prefix);
}

const char* patternKind(sema::Matcher::Kind k) {
  switch (k) {
    case sema::Matcher::Kind::DomainSuffix: return "suffix";
    case sema::Matcher::Kind::DomainFull: return "full";
    case sema::Matcher::Kind::DomainKeyword: return "keyword";
    case sema::Matcher::Kind::DomainRegex: return "regex";
    default: return nullptr;
  }
}

std::string where(const std::vector<std::string>& searchPath) {
  std::string out;
  for (const auto& d : searchPath) out += (out.empty() ? "" : ", ") + d;
  return out;
}

}  // namespace

std::vector<std::string> geodataSearchPath(const std::vector<std::string>& extraDirs) {
  std::vector<std::string> dirs = extraDirs;
  if (const char* env = std::getenv("DAE_LOCATION_ASSET"); env && *env) dirs.emplace_back(env);
  dirs.emplace_back("/usr/local/share/dae");
  dirs.emplace_back("/usr/share/dae");
  return dirs;
}

GeoResolvers geodataResolvers(const std::vector<std::string>& searchPath) {
  auto store = std::make_shared<geodata::Store>(searchPath);
  GeoResolvers g;
  g.site = [store, searchPath](const std::string& source) {
    std::vector<std::pair<std::string, std::string>> out;
    try {
      for (const auto& p : store->resolveSite(source)) {
        const char* kind = patternKind(p.kind);
        if (!kind) throw std::invalid_argument("dns routing: " + source + " has an entry of an unexpected kind");
        out.emplace_back(kind, p.value);
      }
    } catch (const geodata::Error& e) {
      throw std::invalid_argument("dns routing: " + source + ": " + e.what() + " (searched: " + where(searchPath) + ")");
    }
    return out;
  };
  g.ip = [store, searchPath](const std::string& source) {
    std::vector<std::string> out;
    try {
      for (const auto& c : store->resolveIp(source)) out.push_back(cidrText(c));
    } catch (const geodata::Error& e) {
      if (source != "geoip:private")
        throw std::invalid_argument("dns routing: " + source + ": " + e.what() + " (searched: " + where(searchPath) +
                                    ")");
      for (const auto& c : ir::builtinPrivateNetworks()) out.push_back(cidrText(c));
    }
    return out;
  };
  return g;
}

}  // namespace dae::dns
