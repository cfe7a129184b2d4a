// Share-link parsing: every scheme, valid and invalid.
#include <gtest/gtest.h>

#include "outbound/ShareLink.h"

using namespace dae::outbound;

namespace {

std::string vmessLink(const std::string& json) { return "vmess://" + base64Encode(json); }

void expectError(const std::string& link, const std::string& fragment) {
  try {
    parseShareLink(link);
    FAIL() << "accepted: " << link;
  } catch (const LinkError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(ShareLink, Socks5WithAndWithoutCredentials) {
  auto n = parseShareLink("socks5://labuser:lab%40pass@198.18.1.2:1080#dante%20lab");
  EXPECT_EQ(n.protocol, Protocol::Socks5);
  EXPECT_EQ(n.server.toString(), "198.18.1.2:1080");
  EXPECT_EQ(n.username, "labuser");
  EXPECT_EQ(n.password, "lab@pass");
  EXPECT_EQ(n.name, "dante lab");
  n = parseShareLink("socks5://[fd00:dae:2::2]:10080");
  EXPECT_EQ(n.server.host, "fd00:dae:2::2");
  EXPECT_TRUE(n.username.empty());
  n = parseShareLink("socks://" + base64Encode("u:p") + "@h.example:1080");  // v2rayN style
  EXPECT_EQ(n.username, "u");
  EXPECT_EQ(n.password, "p");
}

TEST(ShareLink, Socks4AndHttp) {
  auto n = parseShareLink("socks4a://userid@198.18.1.2:10080");
  EXPECT_EQ(n.protocol, Protocol::Socks4a);
  EXPECT_EQ(n.username, "userid");
  EXPECT_EQ(parseShareLink("socks4://198.18.1.2:1080").protocol, Protocol::Socks4);
  n = parseShareLink("http://labuser:labpass@198.18.1.2:10089");
  EXPECT_EQ(n.protocol, Protocol::Http);
  EXPECT_FALSE(n.tls.enabled);
  n = parseShareLink("https://proxy.lab.test:443?sni=other.test&allowInsecure=1#h");
  EXPECT_TRUE(n.tls.enabled);
  EXPECT_EQ(n.tls.sni, "other.test");
  EXPECT_TRUE(n.tls.allowInsecure);
}

TEST(ShareLink, ShadowsocksSip002AndLegacy) {
  auto n = parseShareLink("ss://" + base64Encode("aes-128-gcm:lab-ss-aes-128-gcm") + "@198.18.1.2:8388#ss%20one");
  EXPECT_EQ(n.protocol, Protocol::Shadowsocks);
  EXPECT_EQ(n.cipher, "aes-128-gcm");
  EXPECT_EQ(n.password, "lab-ss-aes-128-gcm");
  EXPECT_EQ(n.name, "ss one");
  // URL-safe base64 without padding
  n = parseShareLink("ss://YWVzLTI1Ni1nY206cGFzcz8-Pw@[fd00:dae:2::2]:8389");
  EXPECT_EQ(n.cipher, "aes-256-gcm");
  EXPECT_EQ(n.password, "pass?>?");
  EXPECT_EQ(n.server.port, 8389);
  n = parseShareLink("ss://" + base64Encode("chacha20-ietf-poly1305:p:w@1.2.3.4:8390") + "#legacy");
  EXPECT_EQ(n.cipher, "chacha20-ietf-poly1305");
  EXPECT_EQ(n.password, "p:w");
  EXPECT_EQ(n.server.toString(), "1.2.3.4:8390");
  EXPECT_EQ(n.name, "legacy");
}

TEST(ShareLink, ShadowsocksErrors) {
  expectError("ss://" + base64Encode("aes-128-gcm:pw") + "@1.2.3.4:8388/?plugin=obfs-local%3Bobfs%3Dhttp",
              "plugins are not supported");
  expectError("ss://" + base64Encode("rc4-md5:pw") + "@1.2.3.4:8388", "not supported");
  expectError("ss://!!!@1.2.3.4:8388", "base64");
  expectError("ss://" + base64Encode("aes-128-gcm:pw") + "@1.2.3.4", "server address");
}

TEST(ShareLink, Vmess) {
  auto n = parseShareLink(vmessLink(
      R"({"v":"2","ps":"lab ws","add":"198.18.1.2","port":10004,"id":"6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90",)"
      R"("aid":"0","net":"ws","type":"none","host":"proxy.lab.test","path":"/vmess","tls":"tls",)"
      R"("sni":"proxy.lab.test","scy":"chacha20-poly1305"})"));
  EXPECT_EQ(n.protocol, Protocol::Vmess);
  EXPECT_EQ(n.name, "lab ws");
  EXPECT_EQ(n.server.toString(), "198.18.1.2:10004");
  EXPECT_EQ(n.network, Network::Ws);
  EXPECT_EQ(n.ws.path, "/vmess");
  EXPECT_EQ(n.ws.host, "proxy.lab.test");
  EXPECT_TRUE(n.tls.enabled);
  EXPECT_EQ(n.cipher, "chacha20-poly1305");
  n = parseShareLink(vmessLink(R"({"add":"fd00:dae:2::2","port":"10001","id":"6f1f6a3e2c4b4d8a9a553c1d2e7f8a90"})"));
  EXPECT_EQ(n.server.toString(), "[fd00:dae:2::2]:10001");
  EXPECT_EQ(n.cipher, "auto");
  EXPECT_EQ(n.network, Network::Tcp);
}

TEST(ShareLink, VmessErrors) {
  expectError("vmess://%%%", "base64");
  expectError("vmess://" + base64Encode("not json"), "JSON");
  expectError(vmessLink(R"({"add":"1.2.3.4","port":"1","id":"nope"})"), "not a UUID");
  expectError(vmessLink(R"({"add":"1.2.3.4","port":"1","id":"6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90","net":"grpc"})"),
              "network 'grpc'");
  expectError(vmessLink(R"({"add":"1.2.3.4","port":"1","id":"6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90","scy":"rc4"})"),
              "security 'rc4'");
  expectError(vmessLink(R"({"add":"1.2.3.4","id":"6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90"})"), "'port' are required");
  expectError(vmessLink(R"({"add":"1.2.3.4","port":"1","id":"6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90","type":"http"})"),
              "header type");
}

TEST(ShareLink, Vless) {
  auto n = parseShareLink(
      "vless://6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90@198.18.1.2:10005?encryption=none&security=tls&type=ws&host=a.test"
      "&path=%2Fvl&sni=proxy.lab.test#vless%20tls");
  EXPECT_EQ(n.protocol, Protocol::Vless);
  EXPECT_TRUE(n.tls.enabled);
  EXPECT_EQ(n.tls.sni, "proxy.lab.test");
  EXPECT_EQ(n.network, Network::Ws);
  EXPECT_EQ(n.ws.path, "/vl");
  EXPECT_EQ(n.ws.host, "a.test");
  EXPECT_EQ(n.name, "vless tls");
  expectError("vless://6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90@1.2.3.4:443?flow=xtls-rprx-vision", "flow");
  expectError("vless://6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90@1.2.3.4:443?security=reality", "security=reality");
  expectError("vless://1.2.3.4:443", "uuid");
  expectError("vless://6f1f6a3e-2c4b-4d8a-9a55-3c1d2e7f8a90@1.2.3.4:443?type=grpc", "type=grpc");
}

TEST(ShareLink, Trojan) {
  auto n = parseShareLink("trojan://lab%2Dtrojan%23pw@198.18.1.2:4443?sni=proxy.lab.test&allowInsecure=0#tj");
  EXPECT_EQ(n.protocol, Protocol::Trojan);
  EXPECT_EQ(n.password, "lab-trojan#pw");
  EXPECT_TRUE(n.tls.enabled);
  EXPECT_FALSE(n.tls.allowInsecure);
  EXPECT_EQ(n.tls.sni, "proxy.lab.test");
  EXPECT_EQ(n.name, "tj");
  n = parseShareLink("trojan://pw@h.test:443?peer=p.test&allowInsecure=1&type=ws&path=/t");
  EXPECT_EQ(n.tls.sni, "p.test");
  EXPECT_TRUE(n.tls.allowInsecure);
  EXPECT_EQ(n.network, Network::Ws);
  expectError("trojan://h.test:443", "password");
  expectError("trojan://pw@h.test:443?allowInsecure=maybe", "not a boolean");
}

TEST(ShareLink, SchemesChainsAndHelpers) {
  expectError("wireguard://x@1.2.3.4:51820", "unsupported scheme");
  expectError("no-scheme", "scheme://");
  EXPECT_EQ(parseShareLink("direct://").protocol, Protocol::Direct);
  EXPECT_EQ(parseShareLink("block://").protocol, Protocol::Block);
  auto chain = parseChain("socks5://1.2.3.4:1080 -> http://5.6.7.8:3128");
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].protocol, Protocol::Socks5);
  EXPECT_EQ(chain[1].protocol, Protocol::Http);
  EXPECT_EQ(percentDecode("a%20b%2"), "a b%2");
  EXPECT_EQ(base64Decode("aGk"), "hi");
  EXPECT_EQ(base64Decode("aGk=\n"), "hi");
  EXPECT_THROW(base64Decode("a"), LinkError);
}
