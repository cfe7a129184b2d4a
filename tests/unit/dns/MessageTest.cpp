// DNS wire format: building, parsing (compression, record types, EDNS), strict
// rejection of malformed messages, in-place edits.
#include <gtest/gtest.h>

#include <random>

#include "dns/Message.h"

using namespace dae::dns;

namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

// A response to "www.example.com A" with a CNAME to example.com (compressed), an A
// record, and an SOA in the authority section.
std::string sampleResponse() {
  std::string w = bytes({0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 1, 0, 0});
  // question at 12: www.example.com
  w += bytes({3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1});
  // answer 1: name -> pointer to 12, CNAME, IN, ttl 300, rdata: pointer to "example.com" (offset 16)
  w += bytes({0xC0, 12, 0, 5, 0, 1, 0, 0, 1, 0x2C, 0, 2, 0xC0, 16});
  // answer 2: example.com A 93.184.216.34 ttl 60
  w += bytes({0xC0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34});
  // authority: example.com SOA ns. host. serial refresh retry expire minimum=120, ttl 900
  w += bytes({0xC0, 16, 0, 6, 0, 1, 0, 0, 3, 0x84, 0, 30, 2, 'n', 's', 0, 4, 'h', 'o', 's', 't', 0});
  w += bytes({0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 120});
  return w;
}

}  // namespace

TEST(DnsMessage, BuildQueryRoundTrip) {
  std::string q = buildQuery(0xBEEF, "Example.COM", kTypeAAAA);
  auto r = parse(q);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r.message->id, 0xBEEF);
  EXPECT_FALSE(r.message->isResponse());
  EXPECT_TRUE(r.message->flags & kFlagRD);
  ASSERT_EQ(r.message->questions.size(), 1u);
  EXPECT_EQ(r.message->questions[0].name, "Example.COM");
  EXPECT_EQ(r.message->questions[0].type, kTypeAAAA);
  EXPECT_TRUE(r.message->hasEdns);
  EXPECT_EQ(r.message->ednsUdpSize, 1232);
  EXPECT_EQ(r.message->udpLimit(), 1232u);
  EXPECT_EQ(canonicalName(r.message->questions[0].name), "example.com");
}

TEST(DnsMessage, ParsesCompressedResponse) {
  auto r = parse(sampleResponse());
  ASSERT_TRUE(r) << r.error;
  const Message& m = *r.message;
  EXPECT_TRUE(m.isResponse());
  EXPECT_EQ(m.rcode(), Rcode::NoError);
  ASSERT_EQ(m.answers.size(), 2u);
  EXPECT_EQ(m.answers[0].name, "www.example.com");
  EXPECT_EQ(m.answers[0].type, kTypeCNAME);
  EXPECT_EQ(m.answers[0].target, "example.com");
  EXPECT_EQ(m.answers[0].ttl, 300u);
  EXPECT_EQ(m.answers[1].name, "example.com");
  ASSERT_TRUE(m.answers[1].address);
  std::array<uint8_t, 16> want{};
  want[10] = want[11] = 0xFF;
  want[12] = 93;
  want[13] = 184;
  want[14] = 216;
  want[15] = 34;
  EXPECT_EQ(*m.answers[1].address, want);
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].soaMinimum, 120u);
  EXPECT_EQ(m.authority[0].ttl, 900u);
}

TEST(DnsMessage, RejectsMalformed) {
  std::string good = sampleResponse();
  // Every strict prefix is malformed (a count promises more than there is).
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(parse(std::string_view(good.data(), n))) << n;
  // Trailing garbage.
  EXPECT_FALSE(parse(good + "x"));
  // A forward compression pointer.
  std::string ptrFwd = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0, 0, 1, 0, 1});
  EXPECT_FALSE(parse(ptrFwd));
  // A pointer to itself.
  EXPECT_FALSE(parse(bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1})));
  // A pointer loop through the header (backwards each hop, but cyclic via labels).
  EXPECT_FALSE(parse(bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xC0, 12, 0, 1, 0, 1})));
  // Extended label type 0x40.
  EXPECT_FALSE(parse(bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1})));
  // A with 5 bytes of rdata.
  std::string badA = bytes({0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5});
  EXPECT_FALSE(parse(badA));
  // OPT in the answer section, and two OPTs.
  std::string optAns = bytes({0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(parse(optAns));
  std::string twoOpt = bytes({0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 4, 0, 0,
                              0, 0, 0, 0, 0});
  EXPECT_FALSE(parse(twoOpt));
  // Counts that cannot fit.
  EXPECT_FALSE(parse(bytes({0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0})));
  // A CNAME whose rdata name ends before its rdlength.
  std::string cname = bytes({0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 1, 0, 3, 1, 'a', 0});
  EXPECT_TRUE(parse(cname));
  cname[22] = 4;  // rdlength 4: one byte of garbage after the name
  cname.push_back('z');
  EXPECT_FALSE(parse(cname));
}

TEST(DnsMessage, NameLimits) {
  std::string label63(63, 'a'), label64(64, 'a');
  std::string out;
  EXPECT_TRUE(appendName(out, label63 + ".com"));
  out.clear();
  EXPECT_FALSE(appendName(out, label64 + ".com"));
  out.clear();
  EXPECT_FALSE(appendName(out, "a..b"));
  std::string longName;
  for (int i = 0; i < 5; ++i) longName += label63 + ".";
  out.clear();
  EXPECT_FALSE(appendName(out, longName));  // 320 bytes
  out.clear();
  EXPECT_TRUE(appendName(out, ""));
  EXPECT_EQ(out, std::string(1, '\0'));
  // Escapes survive a round trip.
  std::string q = buildQuery(1, "a\\.b.c\\032d", kTypeTXT);
  auto r = parse(q);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r.message->questions[0].name, "a\\.b.c\\032d");
  // A name just over 255 bytes on the wire is rejected by the parser too.
  std::string w = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  for (int i = 0; i < 4; ++i) {
    w.push_back(63);
    w += label63;
  }
  w.push_back(0);
  w += bytes({0, 1, 0, 1});
  EXPECT_FALSE(parse(w));
}

TEST(DnsMessage, RepliesAndEdits) {
  std::string q = buildQuery(0x0102, "www.Example.com", kTypeA);
  std::string r = buildEmptyReply(q, Rcode::NxDomain);
  auto p = parse(r);
  ASSERT_TRUE(p) << p.error;
  EXPECT_EQ(p.message->id, 0x0102);
  EXPECT_TRUE(p.message->isResponse());
  EXPECT_EQ(p.message->rcode(), Rcode::NxDomain);
  EXPECT_TRUE(p.message->flags & kFlagRD);
  EXPECT_TRUE(p.message->flags & kFlagRA);
  ASSERT_EQ(p.message->questions.size(), 1u);
  EXPECT_EQ(p.message->questions[0].name, "www.Example.com");
  EXPECT_TRUE(p.message->answers.empty());

  std::string full = buildReply(q, Rcode::NoError, {{"www.example.com", kTypeA, 60, bytes({1, 2, 3, 4})},
                                                    {"www.example.com", kTypeA, 30, bytes({5, 6, 7, 8})}});
  auto f = parse(full);
  ASSERT_TRUE(f) << f.error;
  ASSERT_EQ(f.message->answers.size(), 2u);
  setAllTtls(full, *f.message, 7);
  auto g = parse(full);
  ASSERT_TRUE(g);
  EXPECT_EQ(g.message->answers[0].ttl, 7u);
  EXPECT_EQ(g.message->answers[1].ttl, 7u);
  setId(full, 0xAAAA);
  EXPECT_EQ(getId(full), 0xAAAA);

  std::string small = truncateForUdp(full, 40);
  auto t = parse(small);
  ASSERT_TRUE(t) << t.error;
  EXPECT_TRUE(t.message->truncated());
  EXPECT_TRUE(t.message->answers.empty());
  EXPECT_EQ(t.message->questions.size(), 1u);
  EXPECT_EQ(truncateForUdp(full, 512), full);

  // A reply to something without a parsable question still carries the ID.
  std::string junk = bytes({0x55, 0x66, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0x41});
  std::string fe = buildEmptyReply(junk, Rcode::FormErr);
  auto pf = parse(fe);
  ASSERT_TRUE(pf);
  EXPECT_EQ(pf.message->id, 0x5566);
  EXPECT_EQ(pf.message->rcode(), Rcode::FormErr);
  EXPECT_TRUE(pf.message->questions.empty());
}

TEST(DnsMessage, SimpleQueryFastPath) {
  SimpleQuery sq;
  std::string q = buildQuery(0x0A0B, "www.Example.test", kTypeAAAA, kClassIN, 4096);
  ASSERT_TRUE(parseSimpleQuery(q, sq));
  EXPECT_EQ(sq.id, 0x0A0B);
  EXPECT_EQ(sq.question.name, "www.Example.test");
  EXPECT_EQ(sq.question.type, kTypeAAAA);
  EXPECT_EQ(sq.udpLimit, 4096u);
  EXPECT_EQ(sq.questionEnd, q.size() - 11);
  ASSERT_TRUE(parseSimpleQuery(buildQuery(1, "a.test", kTypeA, kClassIN, 0), sq));
  EXPECT_EQ(sq.udpLimit, 512u);
  // Other shapes, trailing bytes or a broken OPT: left to the full parser.
  EXPECT_FALSE(parseSimpleQuery(q + "x", sq));
  EXPECT_FALSE(parseSimpleQuery(buildReply(q, Rcode::NoError, {{"a", kTypeA, 1, "abcd"}}), sq));
  std::string badOpt = q;
  badOpt[badOpt.size() - 2] = 9;  // rdlength 9 with no rdata
  EXPECT_FALSE(parseSimpleQuery(badOpt, sq));
  EXPECT_FALSE(parse(badOpt));
}

TEST(DnsMessage, TypeNames) {
  EXPECT_EQ(typeFromName("aaaa"), kTypeAAAA);
  EXPECT_EQ(typeFromName("HTTPS"), kTypeHTTPS);
  EXPECT_EQ(typeFromName("65"), 65);
  EXPECT_EQ(typeFromName("TYPE99"), 99);
  EXPECT_FALSE(typeFromName("nope"));
  EXPECT_FALSE(typeFromName("70000"));
  EXPECT_EQ(typeName(28), "AAAA");
  EXPECT_EQ(typeName(4242), "TYPE4242");
}

TEST(DnsMessage, RandomInputNeverCrashes) {
  std::mt19937 rng(7);
  std::string base = sampleResponse();
  for (int i = 0; i < 20000; ++i) {
    std::string m = base;
    int flips = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < flips; ++k) m[rng() % m.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) m.resize(rng() % (m.size() + 1));
    auto r = parse(m);
    if (r) {
      // Offsets of a parsed message always lie inside it.
      for (const auto* sec : {&r.message->answers, &r.message->authority, &r.message->additional})
        for (const auto& rec : *sec) {
          ASSERT_LE(rec.ttlOffset + 4u, m.size());
          ASSERT_LE(static_cast<size_t>(rec.rdataOffset) + rec.rdataLength, m.size());
        }
    }
    (void)buildEmptyReply(m, Rcode::FormErr);
    (void)truncateForUdp(m, 20);
  }
}
