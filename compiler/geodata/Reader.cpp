// GeoFile: index a GeoIPList / GeoSiteList by tag with a wire-level scan, parse one
// entry with libprotobuf when it is asked for, and validate what the format allows
// but the project cannot use.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include "geodata.pb.h"
#include "geodata/Cidrs.h"
#include "geodata/Geodata.h"

namespace dae::geodata {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* domainTypeName(DomainType t) {
  switch (t) {
    case DomainType::Plain: return "keyword";
    case DomainType::Regex: return "regexp";
    case DomainType::Domain: return "domain";
    case DomainType::Full: return "full";
  }
  return "?";
}

bool DomainEntry::hasAttribute(std::string_view key) const {
  return std::any_of(attributes.begin(), attributes.end(), [&](const Attribute& a) {
    return a.key.size() == key.size() &&
           std::equal(a.key.begin(), a.key.end(), key.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  });
}

namespace {

const char* listName(GeoFile::Kind k) { return k == GeoFile::Kind::Ip ? "GeoIPList" : "GeoSiteList"; }

constexpr uint32_t kCodeTag = WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);

// The country_code of one entry (the last occurrence wins, as for any proto3 scalar).
// False when the entry's framing is broken.
bool scanCode(const uint8_t* data, size_t size, std::string& code) {
  CodedInputStream in(data, static_cast<int>(size));
  while (true) {
    uint32_t tag = in.ReadTag();
    if (tag == 0) return static_cast<size_t>(in.CurrentPosition()) == size;
    if (tag == kCodeTag) {
      uint32_t len = 0;
      if (!in.ReadVarint32(&len) || !in.ReadString(&code, static_cast<int>(std::min<uint32_t>(len, INT_MAX)))) return false;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
}

}  // namespace

GeoFile GeoFile::open(const std::string& path, Kind kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw Error("cannot read '" + path + "': " + std::strerror(errno));
  return fromBytes(std::move(buf).str(), path, kind);
}

GeoFile GeoFile::fromBytes(std::string bytes, std::string name, Kind kind) {
  GeoFile f;
  f.kind_ = kind;
  f.name_ = std::move(name);
  f.bytes_ = std::move(bytes);
  const size_t size = f.bytes_.size();
  if (size > static_cast<size_t>(INT_MAX)) throw Error(f.name_ + ": file too large (" + std::to_string(size) + " bytes)");
  const auto* data = reinterpret_cast<const uint8_t*>(f.bytes_.data());
  auto malformed = [&](size_t at, const std::string& what) {
    return Error(f.name_ + ": malformed " + listName(kind) + " at byte " + std::to_string(at) + ": " + what +
                 " (truncated, or not a " + (kind == Kind::Ip ? "geoip" : "geosite") + " .dat file)");
  };
  CodedInputStream in(data, static_cast<int>(size));
  constexpr uint32_t kEntryTag = WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  while (true) {
    size_t at = static_cast<size_t>(in.CurrentPosition());
    uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (at != size) throw malformed(at, "bad field tag");
      break;
    }
    if (tag != kEntryTag) {  // unknown top-level field: skipped, as protobuf does
      if (!WireFormatLite::SkipField(&in, tag)) throw malformed(at, "bad field " + std::to_string(tag >> 3));
      continue;
    }
    uint32_t len = 0;
    if (!in.ReadVarint32(&len)) throw malformed(at, "bad entry length");
    size_t offset = static_cast<size_t>(in.CurrentPosition());
    if (len > size - offset)
      throw malformed(at, "entry #" + std::to_string(f.entries_.size()) + " claims " + std::to_string(len) +
                              " bytes, " + std::to_string(size - offset) + " left");
    Span span;
    span.offset = offset;
    span.size = len;
    if (!scanCode(data + offset, len, span.code))
      throw malformed(offset, "entry #" + std::to_string(f.entries_.size()) + " is not a well-formed " +
                                  (kind == Kind::Ip ? "GeoIP" : "GeoSite") + " message");
    in.Skip(static_cast<int>(len));
    f.byTag_.emplace(lower(span.code), f.entries_.size());  // the first of duplicate tags wins
    f.entries_.push_back(std::move(span));
  }
  return f;
}

std::vector<std::string> GeoFile::tags() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.code);
  return out;
}

bool GeoFile::has(std::string_view tag) const { return byTag_.count(lower(tag)) != 0; }

static size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

const GeoFile::Span& GeoFile::find(std::string_view tag) const {
  std::string key = lower(tag);
  auto it = byTag_.find(key);
  if (it != byTag_.end()) return entries_[it->second];
  std::string msg = "no tag '" + std::string(tag) + "' in " + name_ + " (" + std::to_string(entries_.size()) + " tags";
  std::string best;
  size_t bestDist = std::max<size_t>(1, key.size() / 3) + 1;  // suggest only close names
  for (const auto& [t, i] : byTag_) {
    size_t d = editDistance(key, t);
    if (d < bestDist || (d == bestDist && t < best)) {
      best = t;
      bestDist = d;
    }
  }
  if (!best.empty()) msg += "; did you mean '" + best + "'?";
  throw Error(msg + ")");
}

IpList GeoFile::ip(std::string_view tag) const {
  const Span& s = find(tag);
  pb::GeoIP msg;
  if (!msg.ParseFromArray(bytes_.data() + s.offset, static_cast<int>(s.size)))
    throw Error(name_ + ": the entry for '" + s.code + "' is not a well-formed GeoIP message");
  IpList out;
  out.code = msg.country_code();
  out.reverseMatch = msg.reverse_match();
  out.cidrs.reserve(static_cast<size_t>(msg.cidr_size()));
  for (int i = 0; i < msg.cidr_size(); ++i) {
    const auto& c = msg.cidr(i);
    sema::Cidr cidr;
    auto bad = [&](const std::string& what) {
      return Error(name_ + ": '" + s.code + "', CIDR #" + std::to_string(i) + ": " + what);
    };
    if (c.ip().size() == 4) {
      if (c.prefix() > 32) throw bad("prefix " + std::to_string(c.prefix()) + " for an IPv4 address");
      cidr.addr[10] = cidr.addr[11] = 0xff;
      std::memcpy(&cidr.addr[12], c.ip().data(), 4);
      cidr.prefix = static_cast<uint8_t>(96 + c.prefix());
      cidr.v4 = true;
    } else if (c.ip().size() == 16) {
      if (c.prefix() > 128) throw bad("prefix " + std::to_string(c.prefix()) + " for an IPv6 address");
      std::memcpy(cidr.addr.data(), c.ip().data(), 16);
      cidr.prefix = static_cast<uint8_t>(c.prefix());
      cidr.v4 = isV4Mapped(cidr);
    } else {
      throw bad(std::to_string(c.ip().size()) + "-byte address (expected 4 or 16)");
    }
    out.cidrs.push_back(cidr);
  }
  return out;
}

SiteList GeoFile::site(std::string_view tag) const {
  const Span& s = find(tag);
  pb::GeoSite msg;
  if (!msg.ParseFromArray(bytes_.data() + s.offset, static_cast<int>(s.size)))
    throw Error(name_ + ": the entry for '" + s.code + "' is not a well-formed GeoSite message");
  SiteList out;
  out.code = msg.country_code();
  out.domains.reserve(static_cast<size_t>(msg.domain_size()));
  for (int i = 0; i < msg.domain_size(); ++i) {
    const auto& d = msg.domain(i);
    auto bad = [&](const std::string& what) {
      return Error(name_ + ": '" + s.code + "', domain #" + std::to_string(i) + ": " + what);
    };
    int type = static_cast<int>(d.type());
    if (type < 0 || type > 3) throw bad("unknown type " + std::to_string(type) + " (Plain 0, Regex 1, Domain 2, Full 3)");
    if (d.value().empty()) throw bad("empty value");
    DomainEntry e;
    e.type = static_cast<DomainType>(type);
    e.value = d.value();
    for (const auto& a : d.attribute()) {
      Attribute attr;
      attr.key = a.key();
      attr.isInt = a.typed_value_case() == pb::Domain::Attribute::kIntValue;
      attr.boolValue = a.bool_value();
      attr.intValue = a.int_value();
      e.attributes.push_back(std::move(attr));
    }
    out.domains.push_back(std::move(e));
  }
  return out;
}

}  // namespace dae::geodata
