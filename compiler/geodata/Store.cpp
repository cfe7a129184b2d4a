// Store: the search path, the per-compilation caches, and the step from stored entries
// to the IR's CIDRs and domain patterns. Also the writers (the inverse of Reader.cpp).
#include <re2/re2.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "geodata.pb.h"
#include "geodata/Cidrs.h"
#include "geodata/Geodata.h"

namespace dae::geodata {

// ---- queries and conversion ---------------------------------------------------------------

SiteQuery parseSiteQuery(std::string_view text) {
  SiteQuery q;
  size_t at = text.find('@');
  q.tag = std::string(text.substr(0, at));
  while (at != std::string_view::npos) {
    size_t next = text.find('@', at + 1);
    std::string attr(text.substr(at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1));
    if (attr.size() > 1 && attr[0] == '-') q.mustLack.push_back(attr.substr(1));
    else if (!attr.empty()) q.mustHave.push_back(attr);
    at = next;
  }
  return q;
}

std::vector<ir::DomainPattern> toPatterns(const SiteList& list, const SiteQuery& query, const std::string& what) {
  using K = sema::Matcher::Kind;
  std::vector<ir::DomainPattern> out;
  out.reserve(list.domains.size());
  re2::RE2::Options reOpts;
  reOpts.set_log_errors(false);
  for (const auto& d : list.domains) {
    bool keep = std::all_of(query.mustHave.begin(), query.mustHave.end(), [&](const std::string& a) { return d.hasAttribute(a); }) &&
                std::none_of(query.mustLack.begin(), query.mustLack.end(), [&](const std::string& a) { return d.hasAttribute(a); });
    if (!keep) continue;
    ir::DomainPattern p;
    switch (d.type) {
      case DomainType::Plain: p.kind = K::DomainKeyword; p.value = lower(d.value); break;
      case DomainType::Full: p.kind = K::DomainFull; p.value = lower(d.value); break;
      case DomainType::Domain:
        p.kind = K::DomainSuffix;
        p.value = lower(d.value);
        if (p.value.size() > 1 && p.value.front() == '.') p.value.erase(0, 1);
        break;
      case DomainType::Regex: {
        p.kind = K::DomainRegex;
        p.value = d.value;  // regexes keep their case (\S, \D)
        re2::RE2 re(p.value, reOpts);
        if (!re.ok()) throw Error(what + ": invalid regexp '" + p.value + "' in '" + list.code + "': " + re.error());
        break;
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<sema::Cidr> toCidrs(const IpList& list) {
  std::vector<Range> merged = toRanges(list.cidrs);
  if (list.reverseMatch) merged = complement(merged);
  return coverRanges(merged);
}

// ---- files and the search path ---------------------------------------------------------------

static bool isFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::string Store::locate(const std::string& rawName) const {
  std::string name = rawName;
  if (name.size() < 4 || name.compare(name.size() - 4, 4, ".dat") != 0) name += ".dat";
  if (!name.empty() && name[0] == '/') return isFile(name) ? name : std::string();
  for (const auto& dir : searchPath_) {
    if (dir.empty()) continue;
    std::string p = dir + (dir.back() == '/' ? "" : "/") + name;
    if (isFile(p)) return p;
  }
  return {};
}

const GeoFile& Store::file(const std::string& name, GeoFile::Kind kind) {
  std::string path = locate(name);
  if (path.empty()) {
    std::string dirs;
    for (const auto& d : searchPath_)
      if (!d.empty()) dirs += (dirs.empty() ? "" : ", ") + d;
    std::string shown = name.size() >= 4 && name.compare(name.size() - 4, 4, ".dat") == 0 ? name : name + ".dat";
    bool absolute = !name.empty() && name[0] == '/';
    throw Error("cannot find " + shown + (absolute ? "" : " in the geodata directories (searched " + dirs +
                                                              "; add one with -L DIR or $DAE_LOCATION_ASSET)"));
  }
  auto key = std::make_pair(path, kind);
  auto it = files_.find(key);
  if (it == files_.end()) it = files_.emplace(key, std::make_unique<GeoFile>(GeoFile::open(path, kind))).first;
  return *it->second;
}

// "geoip:cn" -> {"geoip.dat", "cn"}; "ext:my.dat:tag" -> {"my.dat", "tag"}.
std::pair<std::string, std::string> Store::split(const std::string& source, const char* defaultFile) const {
  if (source.rfind("ext:", 0) == 0) {
    std::string rest = source.substr(4);
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
      throw Error("'" + source + "': ext: takes \"FILE.dat:TAG\"");
    return {rest.substr(0, colon), rest.substr(colon + 1)};
  }
  size_t colon = source.find(':');
  if (colon == std::string::npos || colon + 1 == source.size()) throw Error("'" + source + "': expected KIND:TAG");
  return {defaultFile, source.substr(colon + 1)};
}

const std::vector<sema::Cidr>& Store::resolveIp(const std::string& source) {
  if (auto it = ips_.find(source); it != ips_.end()) return it->second;
  auto [fileName, tag] = split(source, "geoip.dat");
  try {
    const GeoFile& f = file(fileName, GeoFile::Kind::Ip);
    return ips_.emplace(source, toCidrs(f.ip(tag))).first->second;
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

const std::vector<ir::DomainPattern>& Store::resolveSite(const std::string& source) {
  if (auto it = sites_.find(source); it != sites_.end()) return it->second;
  auto [fileName, spec] = split(source, "geosite.dat");
  SiteQuery q = parseSiteQuery(spec);
  try {
    const GeoFile& f = file(fileName, GeoFile::Kind::Site);
    return sites_.emplace(source, toPatterns(f.site(q.tag), q, f.name())).first->second;
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

ir::GeoIpResolver makeGeoIpResolver(std::shared_ptr<Store> store) {
  return [store](const std::string& source, std::string& error) -> std::optional<std::vector<sema::Cidr>> {
    try {
      return store->resolveIp(source);
    } catch (const Error& e) {
      error = e.what();
      return std::nullopt;
    }
  };
}

ir::GeoSiteResolver makeGeoSiteResolver(std::shared_ptr<Store> store) {
  return [store](const std::string& source, std::string& error) -> std::optional<std::vector<ir::DomainPattern>> {
    try {
      return store->resolveSite(source);
    } catch (const Error& e) {
      error = e.what();
      return std::nullopt;
    }
  };
}

// ---- writing ----------------------------------------------------------------------------------

static void appendEntry(std::string& out, const std::string& entry) {
  out.push_back(static_cast<char>((1 << 3) | 2));  // field 1, length-delimited
  uint64_t n = entry.size();
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    out.push_back(static_cast<char>(n ? b | 0x80 : b));
  } while (n);
  out += entry;
}

std::string serializeSites(const std::vector<SiteList>& lists) {
  std::string out, entry;
  for (const auto& l : lists) {
    pb::GeoSite msg;
    msg.set_country_code(l.code);
    for (const auto& d : l.domains) {
      auto* pd = msg.add_domain();
      pd->set_type(static_cast<pb::Domain::Type>(d.type));
      pd->set_value(d.value);
      for (const auto& a : d.attributes) {
        auto* pa = pd->add_attribute();
        pa->set_key(a.key);
        if (a.isInt) pa->set_int_value(a.intValue);
        else pa->set_bool_value(a.boolValue);
      }
    }
    entry.clear();
    if (!msg.SerializeToString(&entry)) throw Error("cannot serialize geosite list '" + l.code + "'");
    appendEntry(out, entry);
  }
  return out;
}

std::string serializeIps(const std::vector<IpList>& lists) {
  std::string out, entry;
  for (const auto& l : lists) {
    pb::GeoIP msg;
    msg.set_country_code(l.code);
    msg.set_reverse_match(l.reverseMatch);
    for (const auto& c : l.cidrs) {
      auto* pc = msg.add_cidr();
      if (isV4Mapped(c)) {
        pc->set_ip(std::string(reinterpret_cast<const char*>(&c.addr[12]), 4));
        pc->set_prefix(c.prefix - 96u);
      } else {
        pc->set_ip(std::string(reinterpret_cast<const char*>(c.addr.data()), 16));
        pc->set_prefix(c.prefix);
      }
    }
    entry.clear();
    if (!msg.SerializeToString(&entry)) throw Error("cannot serialize geoip list '" + l.code + "'");
    appendEntry(out, entry);
  }
  return out;
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error("writing '" + tmp + "' failed: " + std::strerror(errno));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    throw Error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(err));
  }
}

}  // namespace dae::geodata
