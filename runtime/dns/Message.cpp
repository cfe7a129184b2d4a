#include "dns/Message.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace dae::dns {
namespace {

uint16_t rd16(std::span<const uint8_t> w, size_t at) { return static_cast<uint16_t>((w[at] << 8) | w[at + 1]); }
uint32_t rd32(std::span<const uint8_t> w, size_t at) {
  return (static_cast<uint32_t>(w[at]) << 24) | (static_cast<uint32_t>(w[at + 1]) << 16) |
         (static_cast<uint32_t>(w[at + 2]) << 8) | w[at + 3];
}
void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}
void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xFFFF));
}
void set16(std::string& w, size_t at, uint16_t v) {
  w[at] = static_cast<char>(v >> 8);
  w[at + 1] = static_cast<char>(v & 0xFF);
}

// Appends one label byte in presentation form (RFC 4343 escapes).
void appendLabelChar(std::string& out, uint8_t c) {
  if (c == '.' || c == '\\') {
    out.push_back('\\');
    out.push_back(static_cast<char>(c));
  } else if (c < 0x21 || c > 0x7E) {
    char buf[5] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + (c / 10) % 10),
                   static_cast<char>('0' + c % 10), 0};
    out.append(buf, 4);
  } else {
    out.push_back(static_cast<char>(c));
  }
}

// Reads a (possibly compressed) name at `pos`. On success *next is the offset after
// the name as it appears at `pos` (after the first pointer, if any). A pointer must
// point into the message body before itself, and everything read after a jump must lie
// before that pointer too (a "prior occurrence", RFC 1035 4.1.4): the limit shrinks with
// every jump, so there can be no loop, and a name never depends on bytes after it.
bool readName(std::span<const uint8_t> w, size_t pos, std::string& out, size_t& next, std::string& err) {
  out.clear();
  size_t wireLen = 1;  // the final zero label
  size_t limit = w.size();
  bool jumped = false;
  for (;;) {
    if (pos >= limit) {
      err = "name runs past the end at offset " + std::to_string(pos);
      return false;
    }
    uint8_t len = w[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= limit) {
        err = "truncated compression pointer at offset " + std::to_string(pos);
        return false;
      }
      size_t target = static_cast<size_t>(((len & 0x3F) << 8) | w[pos + 1]);
      // A name never lives in the header either: it would change with the ID.
      if (target >= pos || target < kHeaderSize) {
        err = "compression pointer at offset " + std::to_string(pos) + " does not point back into the message body";
        return false;
      }
      if (!jumped) next = pos + 2;
      jumped = true;
      limit = pos;
      pos = target;
      continue;
    }
    if ((len & 0xC0) != 0) {
      err = "unsupported label type at offset " + std::to_string(pos);
      return false;
    }
    if (len == 0) {
      if (!jumped) next = pos + 1;
      return true;
    }
    if (pos + 1 + len > limit) {
      err = "label runs past the end at offset " + std::to_string(pos);
      return false;
    }
    wireLen += 1u + len;
    if (wireLen > 255) {
      err = "name longer than 255 bytes";
      return false;
    }
    if (!out.empty()) out.push_back('.');
    for (size_t i = 0; i < len; ++i) appendLabelChar(out, w[pos + 1 + i]);
    pos += 1u + len;
  }
}

bool readQuestion(std::span<const uint8_t> w, size_t& pos, Question& q, std::string& err) {
  size_t next = 0;
  if (!readName(w, pos, q.name, next, err)) return false;
  if (next + 4 > w.size()) {
    err = "question runs past the end";
    return false;
  }
  q.type = rd16(w, next);
  q.qclass = rd16(w, next + 2);
  pos = next + 4;
  return true;
}

bool readRecord(std::span<const uint8_t> w, size_t& pos, Record& r, std::string& err) {
  size_t next = 0;
  if (!readName(w, pos, r.name, next, err)) return false;
  if (next + 10 > w.size()) {
    err = "record header runs past the end at offset " + std::to_string(next);
    return false;
  }
  r.type = rd16(w, next);
  r.rclass = rd16(w, next + 2);
  r.ttlOffset = static_cast<uint16_t>(next + 4);
  r.ttl = rd32(w, next + 4);
  if (r.ttl > 0x7FFFFFFFu) r.ttl = 0;  // RFC 2181 section 8
  r.rdataLength = rd16(w, next + 8);
  r.rdataOffset = static_cast<uint16_t>(next + 10);
  size_t end = next + 10 + r.rdataLength;
  if (end > w.size()) {
    err = "rdata runs past the end at offset " + std::to_string(r.rdataOffset);
    return false;
  }
  size_t at = r.rdataOffset;
  switch (r.type) {
    case kTypeA:
      if (r.rdataLength != 4) {
        err = "A record with " + std::to_string(r.rdataLength) + " bytes of rdata";
        return false;
      }
      if (r.rclass == kClassIN) {
        std::array<uint8_t, 16> a{};
        a[10] = a[11] = 0xFF;
        std::memcpy(a.data() + 12, w.data() + at, 4);
        r.address = a;
      }
      break;
    case kTypeAAAA:
      if (r.rdataLength != 16) {
        err = "AAAA record with " + std::to_string(r.rdataLength) + " bytes of rdata";
        return false;
      }
      if (r.rclass == kClassIN) {
        std::array<uint8_t, 16> a{};
        std::memcpy(a.data(), w.data() + at, 16);
        r.address = a;
      }
      break;
    case kTypeCNAME:
    case kTypeNS:
    case kTypePTR: {
      size_t after = 0;
      if (!readName(w.first(end), at, r.target, after, err)) return false;
      if (after != end) {
        err = "trailing bytes in the rdata of a " + typeName(r.type) + " record";
        return false;
      }
      break;
    }
    case kTypeSOA: {
      std::string mname, rname;
      size_t after = 0;
      if (!readName(w.first(end), at, mname, after, err)) return false;
      if (!readName(w.first(end), after, rname, after, err)) return false;
      if (after + 20 != end) {
        err = "malformed SOA rdata";
        return false;
      }
      r.soaMinimum = rd32(w, after + 16);
      if (r.soaMinimum > 0x7FFFFFFFu) r.soaMinimum = 0;
      break;
    }
    default:
      break;
  }
  pos = end;
  return true;
}

struct TypeEntry {
  uint16_t type;
  const char* name;
};
constexpr TypeEntry kTypes[] = {
    {1, "A"},       {2, "NS"},      {5, "CNAME"},  {6, "SOA"},   {12, "PTR"},  {13, "HINFO"},  {15, "MX"},
    {16, "TXT"},    {17, "RP"},     {18, "AFSDB"}, {24, "SIG"},  {25, "KEY"},  {28, "AAAA"},   {29, "LOC"},
    {33, "SRV"},    {35, "NAPTR"},  {36, "KX"},    {37, "CERT"}, {39, "DNAME"}, {41, "OPT"},   {42, "APL"},
    {43, "DS"},     {44, "SSHFP"},  {45, "IPSECKEY"}, {46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"}, {49, "DHCID"},
    {50, "NSEC3"},  {51, "NSEC3PARAM"}, {52, "TLSA"}, {53, "SMIMEA"}, {55, "HIP"}, {59, "CDS"}, {60, "CDNSKEY"},
    {61, "OPENPGPKEY"}, {62, "CSYNC"}, {63, "ZONEMD"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"}, {108, "EUI48"},
    {109, "EUI64"}, {249, "TKEY"},  {250, "TSIG"}, {251, "IXFR"}, {252, "AXFR"}, {253, "MAILB"}, {254, "MAILA"},
    {255, "ANY"},   {256, "URI"},   {257, "CAA"},
};

}  // namespace

ParseResult parse(std::span<const uint8_t> w) {
  ParseResult res;
  if (w.size() < kHeaderSize) {
    res.error = "message shorter than its 12-byte header";
    return res;
  }
  if (w.size() > kMaxMessage) {
    res.error = "message longer than 65535 bytes";
    return res;
  }
  Message m;
  m.id = rd16(w, 0);
  m.flags = rd16(w, 2);
  size_t counts[4] = {rd16(w, 4), rd16(w, 6), rd16(w, 8), rd16(w, 10)};
  if (counts[0] + counts[1] + counts[2] + counts[3] > kMaxRecords) {
    res.error = "more than " + std::to_string(kMaxRecords) + " records";
    return res;
  }
  // Each question takes at least 5 bytes, each record 11: reject impossible counts
  // before reserving anything.
  if (counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11 > w.size() - kHeaderSize) {
    res.error = "section counts exceed the message size";
    return res;
  }
  size_t pos = kHeaderSize;
  m.questions.resize(counts[0]);
  for (auto& q : m.questions)
    if (!readQuestion(w, pos, q, res.error)) return res;
  std::vector<Record>* sections[3] = {&m.answers, &m.authority, &m.additional};
  for (int s = 0; s < 3; ++s) {
    sections[s]->resize(counts[s + 1]);
    for (auto& r : *sections[s]) {
      if (!readRecord(w, pos, r, res.error)) return res;
      if (r.type == kTypeOPT) {
        if (s != 2 || m.hasEdns || !r.name.empty()) {
          res.error = "misplaced or repeated OPT record";
          return res;
        }
        m.hasEdns = true;
        m.ednsUdpSize = r.rclass;
        m.ednsVersion = static_cast<uint8_t>((rd32(w, r.ttlOffset) >> 16) & 0xFF);
      }
    }
  }
  if (pos != w.size()) {
    res.error = std::to_string(w.size() - pos) + " trailing bytes after the last record";
    return res;
  }
  res.message = std::move(m);
  return res;
}

bool parseQuestion(std::string_view wire, uint16_t& id, uint16_t& flags, uint16_t& qdcount, Question& q,
                   size_t* questionEnd) {
  std::span<const uint8_t> w(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  if (w.size() < kHeaderSize || w.size() > kMaxMessage) return false;
  id = rd16(w, 0);
  flags = rd16(w, 2);
  qdcount = rd16(w, 4);
  if (qdcount == 0) return false;
  size_t pos = kHeaderSize;
  std::string err;
  if (!readQuestion(w, pos, q, err)) return false;
  if (questionEnd) *questionEnd = pos;
  return true;
}

bool parseSimpleQuery(std::string_view wire, SimpleQuery& out) {
  uint16_t qd = 0;
  if (!parseQuestion(wire, out.id, out.flags, qd, out.question, &out.questionEnd)) return false;
  std::span<const uint8_t> w(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  uint16_t an = rd16(w, 6), ns = rd16(w, 8), ar = rd16(w, 10);
  if (qd != 1 || an != 0 || ns != 0 || ar > 1) return false;
  size_t pos = out.questionEnd;
  out.udpLimit = 512;
  if (ar == 1) {
    // OPT: root name, type 41, class = UDP size, TTL, rdlength, rdata.
    if (pos + 11 > w.size() || w[pos] != 0 || rd16(w, pos + 1) != kTypeOPT) return false;
    uint16_t size = rd16(w, pos + 3);
    size_t rdlen = rd16(w, pos + 9);
    pos += 11 + rdlen;
    out.udpLimit = size < 512 ? 512 : size;
  }
  return pos == w.size();
}

std::string canonicalName(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  while (!out.empty() && out.back() == '.' && (out.size() < 2 || out[out.size() - 2] != '\\')) out.pop_back();
  return out;
}

bool appendName(std::string& out, std::string_view name) {
  size_t start = out.size();
  if (!name.empty() && name.back() == '.' && (name.size() < 2 || name[name.size() - 2] != '\\'))
    name.remove_suffix(1);
  std::string label;
  auto flush = [&]() {
    if (label.empty() || label.size() > 63) return false;
    out.push_back(static_cast<char>(label.size()));
    out += label;
    label.clear();
    return true;
  };
  if (!name.empty()) {
    for (size_t i = 0; i < name.size(); ++i) {
      char c = name[i];
      if (c == '\\') {
        if (i + 3 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(name[i + 2])) && std::isdigit(static_cast<unsigned char>(name[i + 3]))) {
          int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
          if (v > 255) return false;
          label.push_back(static_cast<char>(v));
          i += 3;
        } else if (i + 1 < name.size()) {
          label.push_back(name[++i]);
        } else {
          return false;
        }
      } else if (c == '.') {
        if (!flush()) return false;
      } else {
        label.push_back(c);
      }
    }
    if (!flush()) return false;
  }
  out.push_back(0);
  if (out.size() - start > 255) {
    out.resize(start);
    return false;
  }
  return true;
}

std::string buildQuery(uint16_t id, std::string_view name, uint16_t type, uint16_t qclass, uint16_t udpSize) {
  std::string out;
  out.reserve(64);
  put16(out, id);
  put16(out, kFlagRD);
  put16(out, 1);
  put16(out, 0);
  put16(out, 0);
  put16(out, udpSize ? 1 : 0);
  if (!appendName(out, name)) return {};
  put16(out, type);
  put16(out, qclass);
  if (udpSize) {
    out.push_back(0);  // root
    put16(out, kTypeOPT);
    put16(out, udpSize);
    put32(out, 0);
    put16(out, 0);
  }
  return out;
}

namespace {

// Header + the query's question section; qdcount 0 when the question cannot be parsed.
std::string replyHead(std::string_view query, Rcode rcode, uint16_t ancount) {
  std::string out;
  uint16_t id = 0, flags = 0, qd = 0;
  Question q;
  size_t qend = 0;
  bool haveQuestion = parseQuestion(query, id, flags, qd, q, &qend);
  if (!haveQuestion && query.size() >= 2) id = static_cast<uint16_t>((static_cast<uint8_t>(query[0]) << 8) | static_cast<uint8_t>(query[1]));
  if (!haveQuestion && query.size() >= 4)
    flags = static_cast<uint16_t>((static_cast<uint8_t>(query[2]) << 8) | static_cast<uint8_t>(query[3]));
  out.reserve(qend + 64);
  put16(out, id);
  put16(out, static_cast<uint16_t>(kFlagQR | (flags & 0x7800) | (flags & kFlagRD) | kFlagRA |
                                   static_cast<uint16_t>(rcode)));
  put16(out, haveQuestion ? 1 : 0);
  put16(out, ancount);
  put16(out, 0);
  put16(out, 0);
  if (haveQuestion) out.append(query.substr(kHeaderSize, qend - kHeaderSize));
  return out;
}

}  // namespace

std::string buildEmptyReply(std::string_view query, Rcode rcode) { return replyHead(query, rcode, 0); }

std::string buildReply(std::string_view query, Rcode rcode, const std::vector<SimpleRecord>& answers) {
  std::string out = replyHead(query, rcode, static_cast<uint16_t>(answers.size()));
  for (const auto& a : answers) {
    size_t before = out.size();
    if (!appendName(out, a.name)) {
      out.resize(before);
      out.push_back(0);
    }
    put16(out, a.type);
    put16(out, kClassIN);
    put32(out, a.ttl);
    put16(out, static_cast<uint16_t>(a.rdata.size()));
    out += a.rdata;
  }
  return out;
}

void setId(std::string& wire, uint16_t id) {
  if (wire.size() >= 2) set16(wire, 0, id);
}

uint16_t getId(std::string_view wire) {
  if (wire.size() < 2) return 0;
  return static_cast<uint16_t>((static_cast<uint8_t>(wire[0]) << 8) | static_cast<uint8_t>(wire[1]));
}

void setAllTtls(std::string& wire, const Message& parsed, uint32_t ttl) {
  for (const auto* sec : {&parsed.answers, &parsed.authority, &parsed.additional})
    for (const auto& r : *sec) {
      if (r.type == kTypeOPT || static_cast<size_t>(r.ttlOffset) + 4 > wire.size()) continue;
      set16(wire, r.ttlOffset, static_cast<uint16_t>(ttl >> 16));
      set16(wire, r.ttlOffset + 2u, static_cast<uint16_t>(ttl & 0xFFFF));
    }
}

std::string truncateForUdp(std::string wire, size_t limit) {
  if (wire.size() <= limit) return wire;
  uint16_t id = 0, flags = 0, qd = 0;
  Question q;
  size_t qend = kHeaderSize;
  bool haveQuestion = parseQuestion(wire, id, flags, qd, q, &qend);
  if (!haveQuestion) qend = kHeaderSize;
  wire.resize(std::min(qend, wire.size()));
  set16(wire, 2, static_cast<uint16_t>(flags | kFlagTC));
  set16(wire, 4, haveQuestion ? 1 : 0);
  set16(wire, 6, 0);
  set16(wire, 8, 0);
  set16(wire, 10, 0);
  return wire;
}

bool responseMatches(std::string_view query, std::string_view response) {
  uint16_t qid = 0, qflags = 0, qd = 0, rid = 0, rflags = 0, rd = 0;
  Question q, r;
  if (!parseQuestion(query, qid, qflags, qd, q, nullptr)) return false;
  if (!parseQuestion(response, rid, rflags, rd, r, nullptr)) {
    // A response without a question (some servers answer FORMERR/REFUSED like this)
    // is accepted when the ID matches and it is a response.
    return response.size() >= kHeaderSize && getId(response) == qid && (static_cast<uint8_t>(response[2]) & 0x80) &&
           response[4] == 0 && response[5] == 0;
  }
  return rid == qid && (rflags & kFlagQR) && r.type == q.type && r.qclass == q.qclass &&
         canonicalName(r.name) == canonicalName(q.name);
}

std::string typeName(uint16_t type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t.name;
  return "TYPE" + std::to_string(type);
}

std::optional<uint16_t> typeFromName(std::string_view name) {
  std::string upper(name);
  for (char& c : upper)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (const auto& t : kTypes)
    if (upper == t.name) return t.type;
  std::string_view digits = upper;
  if (digits.rfind("TYPE", 0) == 0) digits.remove_prefix(4);
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace dae::dns
