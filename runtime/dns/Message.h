// DNS wire format (RFC 1035, 3596, 6891): a strict parser and the few builders the
// DNS module needs. The parser never reads outside the buffer, bounds every loop
// (compression pointers must point backwards, at most 255 bytes per name, at most
// kMaxRecords records) and rejects trailing garbage in a record's rdata; a message it
// rejects is answered with FORMERR or dropped, never cached.
//
// Parsing keeps the offsets of every record's TTL field so that a cached answer can be
// served by patching the ID and TTLs in place (no re-encoding on the hot path).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dae::dns {

enum : uint16_t {
  kTypeA = 1,
  kTypeNS = 2,
  kTypeCNAME = 5,
  kTypeSOA = 6,
  kTypePTR = 12,
  kTypeMX = 15,
  kTypeTXT = 16,
  kTypeAAAA = 28,
  kTypeOPT = 41,
  kTypeHTTPS = 65,
  kClassIN = 1,
};

enum class Rcode : uint8_t { NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5 };

// Header flag bits (second 16-bit word).
inline constexpr uint16_t kFlagQR = 0x8000;
inline constexpr uint16_t kFlagAA = 0x0400;
inline constexpr uint16_t kFlagTC = 0x0200;
inline constexpr uint16_t kFlagRD = 0x0100;
inline constexpr uint16_t kFlagRA = 0x0080;

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxMessage = 65535;
inline constexpr size_t kMaxRecords = 4096;  // per message, all sections together

struct Question {
  std::string name;  // presentation form without the trailing dot ("" for the root), case as sent
  uint16_t type = 0;
  uint16_t qclass = 0;
};

struct Record {
  std::string name;
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  uint16_t ttlOffset = 0;    // where the TTL field is in the message
  uint16_t rdataOffset = 0;  // where the rdata starts
  uint16_t rdataLength = 0;
  // Decoded rdata of the types the module looks at.
  std::optional<std::array<uint8_t, 16>> address;  // A (IPv4 in the last 4 bytes, ::ffff: mapped) or AAAA
  std::string target;                              // CNAME, NS, PTR: the name
  uint32_t soaMinimum = 0;                         // SOA: the negative-caching TTL field
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers, authority, additional;
  // EDNS (the OPT record in the additional section), if present.
  bool hasEdns = false;
  uint16_t ednsUdpSize = 0;
  uint8_t ednsVersion = 0;

  bool isResponse() const { return (flags & kFlagQR) != 0; }
  bool truncated() const { return (flags & kFlagTC) != 0; }
  uint8_t opcode() const { return static_cast<uint8_t>((flags >> 11) & 0xF); }
  Rcode rcode() const { return static_cast<Rcode>(flags & 0xF); }
  // The largest UDP answer the sender accepts: 512 without EDNS, else its size (>= 512).
  size_t udpLimit() const { return hasEdns ? (ednsUdpSize < 512 ? 512 : ednsUdpSize) : 512; }
};

struct ParseResult {
  std::optional<Message> message;
  std::string error;  // why parsing failed, with the offset
  explicit operator bool() const { return message.has_value(); }
};

// Parses a whole message. Never throws for malformed input (only std::bad_alloc).
ParseResult parse(std::span<const uint8_t> wire);
inline ParseResult parse(std::string_view wire) {
  return parse(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wire.data()), wire.size()));
}

// Only the header and the first question (for the hot path of a cache hit): false when
// the message is shorter than its header or the question does not parse. *questionEnd
// is the offset after the first question.
bool parseQuestion(std::string_view wire, uint16_t& id, uint16_t& flags, uint16_t& qdcount, Question& q,
                   size_t* questionEnd);

// The common shape of a query, parsed without allocating records: one question, no
// answer or authority records, at most an OPT record. False for anything else (then
// use parse()); true only for a message parse() would accept too.
struct SimpleQuery {
  uint16_t id = 0;
  uint16_t flags = 0;
  Question question;
  size_t questionEnd = 0;
  size_t udpLimit = 512;
};
bool parseSimpleQuery(std::string_view wire, SimpleQuery& out);

// Lower-case, no trailing dot: the form used for cache keys and rule matching.
std::string canonicalName(std::string_view name);

// ---- building -------------------------------------------------------------------

// Appends `name` ("a.example", "" for the root) in uncompressed wire form. False when a
// label is empty or longer than 63 bytes, or the name longer than 255 bytes.
bool appendName(std::string& out, std::string_view name);

// A recursive query (RD set) for one question, with an EDNS OPT record announcing
// `udpSize` when non-zero.
std::string buildQuery(uint16_t id, std::string_view name, uint16_t type, uint16_t qclass = kClassIN,
                       uint16_t udpSize = 1232);

// A reply to `query` (which must contain at least a full header) that carries the
// query's question section unchanged, the given rcode and no records; RD copied, RA
// set. If the query's question section cannot be parsed, the reply has none.
std::string buildEmptyReply(std::string_view query, Rcode rcode);

// Address records for synthesised answers (tests and the fixed answers of the module).
struct SimpleRecord {
  std::string name;
  uint16_t type = kTypeA;
  uint32_t ttl = 60;
  std::string rdata;  // raw rdata bytes
};
// A reply to `query` with the given answers (names uncompressed).
std::string buildReply(std::string_view query, Rcode rcode, const std::vector<SimpleRecord>& answers);

// ---- editing a message in place ---------------------------------------------------

void setId(std::string& wire, uint16_t id);
uint16_t getId(std::string_view wire);
// Sets every TTL (answer, authority, additional except OPT) to `ttl`.
void setAllTtls(std::string& wire, const Message& parsed, uint32_t ttl);
// The reply cut down for a UDP client that accepts `limit` bytes: header and question
// only, TC set. Returns the input unchanged when it fits.
std::string truncateForUdp(std::string wire, size_t limit);

// True when `response` answers `query`: same ID, QR set, the same question (name
// compared case-insensitively), or no question at all (some servers answer errors so).
bool responseMatches(std::string_view query, std::string_view response);

// Text of a record type for logs ("A", "AAAA", "TYPE65" ...), and back (case-insensitive;
// numbers accepted). nullopt for an unknown name.
std::string typeName(uint16_t type);
std::optional<uint16_t> typeFromName(std::string_view name);

}  // namespace dae::dns
