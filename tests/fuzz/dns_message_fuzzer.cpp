// libFuzzer target: the DNS message parser and the cache admission path.
//
// Beyond "no crash" (ASan/UBSan):
//   * parsing is deterministic, and every offset of a parsed message lies inside it;
//   * parseQuestion and parseSimpleQuery (the hot path) agree with the full parser;
//   * malformed input never enters the cache: the input is admitted, as the module
//     admits an upstream's answer, only when it parses, matches a query for its own
//     first question and cacheTtl() allows it; whatever is admitted is served back as
//     a well-formed message with the same question;
//   * the replies built from any input (FORMERR, truncation) parse.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dns/Cache.h"
#include "dns/Message.h"


using namespace dae::dns;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  ParseResult r = parse(input);
  ParseResult again = parse(input);
  if (r.message.has_value() != again.message.has_value() || r.error != again.error) broken("parse is not deterministic");

  uint16_t id = 0, flags = 0, qd = 0;
  Question q;
  size_t qend = 0;
  bool haveQuestion = parseQuestion(input, id, flags, qd, q, &qend);
  if (haveQuestion && qend > input.size()) broken("question end past the input");
  SimpleQuery sq;
  if (parseSimpleQuery(input, sq)) {
    if (!r) broken("parseSimpleQuery accepts what parse rejects");
    if (sq.question.name != r.message->questions.at(0).name || sq.udpLimit != r.message->udpLimit())
      broken("parseSimpleQuery disagrees with parse");
  }

  if (r) {
    const Message& m = *r.message;
    for (const auto* sec : {&m.answers, &m.authority, &m.additional})
      for (const auto& rec : *sec) {
        if (static_cast<size_t>(rec.ttlOffset) + 4 > input.size()) broken("TTL offset outside the message");
        if (static_cast<size_t>(rec.rdataOffset) + rec.rdataLength > input.size()) broken("rdata outside the message");
      }
    if (!m.questions.empty()) {
      if (!haveQuestion) broken("parseQuestion failed on a parsed message");
      if (q.name != m.questions[0].name || q.type != m.questions[0].type) broken("parseQuestion disagrees");
    }
  }

  // Cache admission, as DnsModule::fetch does it for an upstream's answer.
  bool admitted = false;
  if (haveQuestion) {
    std::string query = buildQuery(id, q.name, q.type, q.qclass);
    if (!query.empty() && responseMatches(query, input) && r) {
      if (auto ttl = cacheTtl(*r.message, std::nullopt)) {
        Cache cache({4, true, std::chrono::seconds(60)});
        auto now = Clock::now();
        std::string key = cacheKey(canonicalName(q.name), q.type, q.qclass);
        cache.insert(key, makeEntry(input, *r.message, *ttl, false, now));
        std::string out;
        if (cache.lookup(key, now + std::chrono::seconds(1), 0xABCD, out) == Cache::State::Miss)
          broken("an admitted entry is not served");
        ParseResult served = parse(out);
        if (!served) broken("a cached answer does not parse");
        if (served.message->id != 0xABCD) broken("the served ID was not patched");
        if (served.message->questions.empty() || canonicalName(served.message->questions[0].name) != canonicalName(q.name))
          broken("the served question differs");
        admitted = true;
      }
    }
  }
  if (admitted && !r) broken("a malformed message entered the cache");

  // Replies built from arbitrary input always parse.
  if (input.size() >= kHeaderSize) {
    std::string fe = buildEmptyReply(input, Rcode::FormErr);
    if (!parse(fe)) broken("FORMERR reply does not parse");
  }
  if (r) {
    std::string t = truncateForUdp(input, 64);
    if (t.size() > input.size()) broken("truncation grew the message");
    if (t.size() != input.size() && !parse(t)) broken("truncated reply does not parse");
  }
  return 0;
}
