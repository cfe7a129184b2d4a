// Geodata: v2ray-format geoip.dat and geosite.dat (see geodata.proto).
//
//   GeoFile   one opened .dat file, indexed by tag; an entry is parsed only when
//             it is asked for (geosite.dat holds ~1,500 lists, a config uses few).
//   Store     finds files on the search path (-L dirs, $DAE_LOCATION_ASSET,
//             /usr/local/share/dae, /usr/share/dae), caches every opened file and
//             every resolved source, and turns "geoip:cn" / "geosite:google@cn" /
//             "ext:file.dat:tag" into CIDRs or domain patterns for the IR.
//
// Every failure is a geodata::Error whose message names the file, the tag and,
// for a missing file, every directory searched.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ir/Ir.h"
#include "ir/Lower.h"
#include "sema/Model.h"

namespace dae::geodata {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- entries as stored --------------------------------------------------------------

enum class DomainType : uint8_t { Plain = 0, Regex = 1, Domain = 2, Full = 3 };
const char* domainTypeName(DomainType t);  // keyword, regexp, domain, full (the source syntax)

struct Attribute {
  std::string key;
  bool isInt = false;  // int_value set; otherwise bool_value
  bool boolValue = true;
  int64_t intValue = 0;
  bool operator==(const Attribute&) const = default;
};

struct DomainEntry {
  DomainType type = DomainType::Domain;
  std::string value;
  std::vector<Attribute> attributes;
  bool hasAttribute(std::string_view key) const;
  bool operator==(const DomainEntry&) const = default;
};

struct SiteList {
  std::string code;  // country_code as stored (the builder writes upper case)
  std::vector<DomainEntry> domains;
};

struct IpList {
  std::string code;
  std::vector<sema::Cidr> cidrs;  // as stored; IPv4 mapped to ::ffff:0:0/96 (prefix 96+p, v4 set)
  bool reverseMatch = false;
};

// ---- reading --------------------------------------------------------------------------

class GeoFile {
 public:
  enum class Kind { Ip, Site };

  // Reads and indexes `path`. Throws Error for an unreadable file or a top level
  // that is not a well-formed GeoIPList / GeoSiteList.
  static GeoFile open(const std::string& path, Kind kind);
  // The same from bytes in memory; `name` is used in messages.
  static GeoFile fromBytes(std::string bytes, std::string name, Kind kind);

  Kind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  size_t size() const { return entries_.size(); }
  std::vector<std::string> tags() const;  // as stored, in file order
  bool has(std::string_view tag) const;   // case-insensitive

  // One entry, parsed and validated. Throws Error when the tag is missing or its
  // entry is malformed (bad wire format, a CIDR of the wrong length or prefix, an
  // unknown domain type, an empty value).
  IpList ip(std::string_view tag) const;
  SiteList site(std::string_view tag) const;

 private:
  struct Span {
    size_t offset = 0, size = 0;
    std::string code;
  };
  const Span& find(std::string_view tag) const;

  Kind kind_ = Kind::Site;
  std::string name_;
  std::string bytes_;
  std::vector<Span> entries_;
  std::unordered_map<std::string, size_t> byTag_;  // lower-case tag -> first entry
};

// ---- from entries to what the IR needs ---------------------------------------------------

// `TAG[@attr...]`: geosite:google@cn keeps the entries with attribute cn. As in v2ray an
// attribute name is literal, so @!cn selects the entries marked `@!cn` in the source
// lists; `@-attr` (as in the source lists' include filters) keeps those without it.
// Several filters must all hold.
struct SiteQuery {
  std::string tag;
  std::vector<std::string> mustHave, mustLack;
};
SiteQuery parseSiteQuery(std::string_view text);

// Domain patterns of a list after filtering: full / suffix / keyword values lower-case,
// regexes checked with RE2 (an invalid one is an Error naming `what`).
std::vector<ir::DomainPattern> toPatterns(const SiteList& list, const SiteQuery& query, const std::string& what);
// Normalised networks (host bits cleared, aggregated); the complement when the entry
// sets reverse_match (in the one 128-bit space: an IPv4-only list's complement also
// holds every IPv6 address, as a reversed v2ray matcher answers for IPv6 too).
std::vector<sema::Cidr> toCidrs(const IpList& list);

// ---- the search path and caches -------------------------------------------------------------

class Store {
 public:
  explicit Store(std::vector<std::string> searchPath) : searchPath_(std::move(searchPath)) {}

  // "geoip:cn" or "ext:file.dat:tag".
  const std::vector<sema::Cidr>& resolveIp(const std::string& source);
  // "geosite:cn", "geosite:google@cn", "ext:file.dat:tag@attr".
  const std::vector<ir::DomainPattern>& resolveSite(const std::string& source);

  // The path of `file` (".dat" appended when missing): an absolute path as is,
  // otherwise the first search directory that holds it.
  std::string locate(const std::string& file) const;
  const GeoFile& file(const std::string& name, GeoFile::Kind kind);

  const std::vector<std::string>& searchPath() const { return searchPath_; }

 private:
  std::pair<std::string, std::string> split(const std::string& source, const char* defaultFile) const;

  std::vector<std::string> searchPath_;
  std::map<std::pair<std::string, GeoFile::Kind>, std::unique_ptr<GeoFile>> files_;  // by path
  std::map<std::string, std::vector<sema::Cidr>> ips_;
  std::map<std::string, std::vector<ir::DomainPattern>> sites_;
};

// Resolvers for ir::LowerOptions over a shared store (errors become the message).
ir::GeoIpResolver makeGeoIpResolver(std::shared_ptr<Store> store);
ir::GeoSiteResolver makeGeoSiteResolver(std::shared_ptr<Store> store);

// ---- writing ---------------------------------------------------------------------------------

// Serialized GeoSiteList / GeoIPList (deterministic). IPv4 networks are written as
// 4-byte addresses.
std::string serializeSites(const std::vector<SiteList>& lists);
std::string serializeIps(const std::vector<IpList>& lists);
// Writes through a temporary file and a rename; throws Error.
void writeFile(const std::string& path, const std::string& bytes);

std::string lower(std::string_view s);

}  // namespace dae::geodata
