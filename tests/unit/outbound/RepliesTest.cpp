// SOCKS5 / SOCKS4 / HTTP CONNECT reply parsing and SOCKS addresses.
#include <gtest/gtest.h>

#include "outbound/Error.h"
#include "outbound/HttpProxy.h"
#include "outbound/Socks.h"

using namespace dae::outbound;
using Bytes = std::vector<std::uint8_t>;

TEST(Socks5Reply, ParsesEveryAddressType) {
  std::size_t used = 0, need = 0;
  Bytes v4{5, 0, 0, 1, 198, 18, 1, 2, 0x27, 0x10, 0xee};
  auto r = parseSocks5Reply(v4, used, &need);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 0);
  EXPECT_EQ(r->bound.toString(), "198.18.1.2:10000");
  EXPECT_EQ(used, 10u);

  Bytes v6{5, 0, 0, 4, 0xfd, 0, 0x0d, 0xae, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 53};
  r = parseSocks5Reply(v6, used, &need);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bound.toString(), "[fd00:dae:2::2]:53");

  Bytes name{5, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 80};
  r = parseSocks5Reply(name, used, &need);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bound.toString(), "host:80");
  EXPECT_EQ(used, name.size());
}

TEST(Socks5Reply, IncompleteAsksForMore) {
  Bytes v6{5, 0, 0, 4, 0xfd};
  std::size_t used = 0, need = 0;
  EXPECT_FALSE(parseSocks5Reply(v6, used, &need));
  EXPECT_EQ(need, 22u);
  Bytes head{5, 0};
  EXPECT_FALSE(parseSocks5Reply(head, used, &need));
  EXPECT_EQ(need, 4u);
}

TEST(Socks5Reply, RejectsGarbageAndMapsCodes) {
  std::size_t used = 0;
  Bytes http{'H', 'T', 'T', 'P', '/', '1'};
  EXPECT_THROW(parseSocks5Reply(http, used), OutboundError);
  Bytes badType{5, 0, 0, 9, 1, 2, 3, 4, 5, 6};
  EXPECT_THROW(parseSocks5Reply(badType, used), OutboundError);
  Bytes refused{5, 5, 0, 1, 0, 0, 0, 0, 0, 0};
  auto r = parseSocks5Reply(refused, used);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 5);
  EXPECT_EQ(socks5ReplyErrc(5), Errc::TargetUnreachable);
  EXPECT_EQ(socks5ReplyErrc(1), Errc::Handshake);
  EXPECT_EQ(socks5ReplyErrc(7), Errc::Unsupported);
  EXPECT_EQ(socks5ReplyMessage(5), "connection refused");
}

TEST(Socks4Reply, GrantedAndRejected) {
  Bytes ok{0, 90, 0, 0, 0, 0, 0, 0};
  EXPECT_NO_THROW(checkSocks4Reply(ok));
  Bytes rejected{0, 91, 0, 0, 0, 0, 0, 0};
  EXPECT_THROW(checkSocks4Reply(rejected), OutboundError);
  Bytes garbage{'H', 'T', 'T', 'P', 0, 0, 0, 0};
  EXPECT_THROW(checkSocks4Reply(garbage), OutboundError);
}

TEST(HttpConnectReply, ParsesStatusAndHeaderLength) {
  std::string reply = "HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\nEXTRA";
  auto r = parseHttpConnectReply(reply);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->reason, "Connection established");
  EXPECT_EQ(reply.substr(r->headerLength), "EXTRA");

  auto auth = parseHttpConnectReply("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 5\r\n\r\n");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->status, 407u);
}

TEST(HttpConnectReply, IncompleteAndGarbage) {
  EXPECT_FALSE(parseHttpConnectReply("HTTP/1.1 200 OK\r\nServer: x"));
  EXPECT_FALSE(parseHttpConnectReply(""));
  EXPECT_THROW(parseHttpConnectReply("SSH-2.0-OpenSSH_9.2\r\n\r\n"), OutboundError);
  EXPECT_THROW(parseHttpConnectReply(std::string("\x05\x00\x00\x01garbage\r\n\r\n", 15)), OutboundError);
  EXPECT_THROW(parseHttpConnectReply(std::string(20000, 'A')), OutboundError);
}

TEST(SocksAddress, EncodeDecode) {
  for (const char* text : {"1.2.3.4:80", "[fd00:dae:2::10]:7", "example.test:53"}) {
    Endpoint ep = Endpoint::parse(text);
    Bytes b;
    appendSocksAddress(b, ep);
    std::size_t used = 0;
    auto back = parseSocksAddress(b, used);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->toString(), text);
    EXPECT_EQ(used, b.size());
  }
  EXPECT_THROW(Endpoint::parse("fd00::1:80"), OutboundError);
  EXPECT_THROW(Endpoint::parse("host:0"), OutboundError);
  EXPECT_THROW(Endpoint::parse("host:65536"), OutboundError);
  Bytes vmessAddr;
  appendPortThenAddress(vmessAddr, Endpoint("1.2.3.4", 443));
  EXPECT_EQ(vmessAddr, (Bytes{0x01, 0xbb, 0x01, 1, 2, 3, 4}));
}
