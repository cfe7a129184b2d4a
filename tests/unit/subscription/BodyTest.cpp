// Subscription bodies: every format (fixtures in fixtures/), malformed input, and
// that warnings name the line without its credentials.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "outbound/ShareLink.h"
#include "subscription/Body.h"

using namespace dae::subscription;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DAE_SUB_FIXTURES) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("no fixture " + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> names(const ParsedBody& b) {
  std::vector<std::string> out;
  for (const auto& n : b.nodes) out.push_back(n.name);
  return out;
}

bool anyContains(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& s : v)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

// What every encoding of fixtures/links.txt must give.
void expectLinksFixture(const ParsedBody& b) {
  EXPECT_EQ(names(b), (std::vector<std::string>{"ss-1 HK", "vm-1", "tr-1", "socks-1"}));
  ASSERT_EQ(b.warnings.size(), 3u);
  // Line numbers count from 1 in the decoded text; blank and comment lines count too.
  EXPECT_TRUE(b.warnings[0].rfind("line 6:", 0) == 0) << b.warnings[0];
  EXPECT_TRUE(b.warnings[1].rfind("line 7 (hysteria2://", 0) == 0) << b.warnings[1];
  EXPECT_TRUE(anyContains({b.warnings[1]}, "#hy-1")) << b.warnings[1];
  EXPECT_TRUE(b.warnings[2].rfind("line 9 (ss://", 0) == 0) << b.warnings[2];
  // Credentials never reach a warning.
  for (const auto& w : b.warnings) {
    EXPECT_EQ(w.find("hy-pass"), std::string::npos) << w;
    EXPECT_EQ(w.find("bm90LWEtY2lwaGVy"), std::string::npos) << w;
  }
  for (const auto& n : b.nodes) EXPECT_NO_THROW(dae::outbound::parseChain(n.link)) << n.link;
}

}  // namespace

TEST(SubscriptionBody, PlainLinkListWithCrlf) {
  ParsedBody b = parseBody(fixture("links.txt"));
  EXPECT_EQ(b.format, Format::LinkList);
  expectLinksFixture(b);
  auto ss = dae::outbound::parseShareLink(b.nodes[0].link);
  EXPECT_EQ(ss.cipher, "aes-128-gcm");
  EXPECT_EQ(ss.password, "s3cret-pass");
  EXPECT_EQ(ss.server.toString(), "198.18.1.2:8388");
}

TEST(SubscriptionBody, Base64StandardPaddedWrappedCrlf) {
  std::string body = fixture("links.b64");
  ASSERT_NE(body.find("\r\n"), std::string::npos);
  ASSERT_NE(body.find('/'), std::string::npos);  // the standard alphabet
  ParsedBody b = parseBody(body);
  EXPECT_EQ(b.format, Format::Base64LinkList);
  expectLinksFixture(b);
}

TEST(SubscriptionBody, Base64UrlSafeUnpadded) {
  std::string body = fixture("links.b64url");
  ASSERT_NE(body.find('_'), std::string::npos);  // the URL-safe alphabet
  ASSERT_EQ(body.find('='), std::string::npos);
  ParsedBody b = parseBody(body);
  EXPECT_EQ(b.format, Format::Base64LinkList);
  expectLinksFixture(b);
}

TEST(SubscriptionBody, Sip008) {
  ParsedBody b = parseBody(fixture("sip008.json"));
  EXPECT_EQ(b.format, Format::Sip008);
  EXPECT_EQ(names(b), (std::vector<std::string>{"sip-1", "sip-v6"}));
  auto n1 = dae::outbound::parseShareLink(b.nodes[0].link);
  EXPECT_EQ(n1.cipher, "chacha20-ietf-poly1305");
  EXPECT_EQ(n1.password, "p@ss:word/1");  // ':' and '/' in the password survive
  EXPECT_EQ(n1.server.toString(), "198.18.1.2:8389");
  auto n2 = dae::outbound::parseShareLink(b.nodes[1].link);
  EXPECT_EQ(n2.server.toString(), "[fd00:dae:2::2]:8390");  // a port given as a string
  ASSERT_EQ(b.warnings.size(), 3u);
  EXPECT_TRUE(b.warnings[0].rfind("servers[2] 'sip-plugin': plugin 'v2ray-plugin'", 0) == 0) << b.warnings[0];
  EXPECT_TRUE(b.warnings[1].rfind("servers[3] 'sip-noport': no 'server_port'", 0) == 0) << b.warnings[1];
  EXPECT_TRUE(b.warnings[2].rfind("servers[4] 'sip-badcipher' (ss://", 0) == 0) << b.warnings[2];
  for (const auto& w : b.warnings) EXPECT_EQ(w.find("pw5"), std::string::npos) << w;
}

TEST(SubscriptionBody, WholeBodyErrors) {
  EXPECT_THROW(parseBody(""), BodyError);
  EXPECT_THROW(parseBody(" \r\n\t\n"), BodyError);
  EXPECT_THROW(parseBody("{\"version\": 1, \"servers\": ["), BodyError);          // truncated JSON
  EXPECT_THROW(parseBody("{\"outbounds\": []}"), BodyError);                       // JSON, not SIP008
  EXPECT_THROW(parseBody("{\"version\": 2, \"servers\": []}"), BodyError);         // unknown version
  EXPECT_THROW(parseBody("[{\"server\": \"x\"}]"), BodyError);                     // an array
  EXPECT_THROW(parseBody("hello world!"), BodyError);                              // not base64
  EXPECT_THROW(parseBody(dae::outbound::base64Encode("no links in here")), BodyError);  // base64 of no link
  try {
    parseBody("proxies:\n  - {name: a, type: ss}\n");
    FAIL() << "Clash YAML accepted";
  } catch (const BodyError& e) {
    EXPECT_NE(std::string(e.what()).find("Clash"), std::string::npos) << e.what();
  }
}

TEST(SubscriptionBody, NoUsableLineIsAnEmptyResultNotAnError) {
  ParsedBody b = parseBody("nonsense://x\nfoo://bar\n");
  EXPECT_TRUE(b.nodes.empty());
  EXPECT_EQ(b.warnings.size(), 2u);
}

TEST(SubscriptionBody, ByteOrderMarkAndBlanksAroundLinks) {
  ParsedBody b = parseBody("\xEF\xBB\xBF  socks5://198.18.1.2:1080#a  \n\n\t socks5://198.18.1.2:1081#b\t\n");
  EXPECT_EQ(names(b), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(b.warnings.empty());
}

TEST(SubscriptionBody, UnnamedNodeIsNamedAfterItsServer) {
  ParsedBody b = parseBody("socks5://198.18.1.2:1080\nsocks5://[fd00:dae:2::2]:1080");
  EXPECT_EQ(names(b), (std::vector<std::string>{"198.18.1.2:1080", "[fd00:dae:2::2]:1080"}));
}

TEST(SubscriptionBody, ArrowInANameIsNotAChain) {
  ParsedBody b = parseBody("socks5://198.18.1.2:1080#HK->US\nsocks5://198.18.1.2:1080?x=->#bad");
  ASSERT_EQ(b.nodes.size(), 1u);
  EXPECT_EQ(b.nodes[0].name, "HK->US");
  auto hops = dae::outbound::parseChain(b.nodes[0].link);
  ASSERT_EQ(hops.size(), 1u);
  EXPECT_EQ(hops[0].name, "HK->US");
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].find("'->'"), std::string::npos) << b.warnings[0];
}

TEST(SubscriptionBody, DirectAndBlockAreNotNodes) {
  ParsedBody b = parseBody("direct://x#d\nblock://x#b\nsocks5://198.18.1.2:1080#s");
  EXPECT_EQ(names(b), (std::vector<std::string>{"s"}));
  EXPECT_EQ(b.warnings.size(), 2u);
}

TEST(SubscriptionBody, Sip002LinkRoundTrips) {
  std::string link = sip002Link("aes-256-gcm", "a+b/c=d", "fd00:dae:2::2", 8388, "HK 01 #1");
  auto n = dae::outbound::parseShareLink(link);
  EXPECT_EQ(n.cipher, "aes-256-gcm");
  EXPECT_EQ(n.password, "a+b/c=d");
  EXPECT_EQ(n.server.toString(), "[fd00:dae:2::2]:8388");
  EXPECT_EQ(n.name, "HK 01 #1");
  EXPECT_EQ(percentEncode("a b/~-._"), "a%20b%2F~-._");
}
