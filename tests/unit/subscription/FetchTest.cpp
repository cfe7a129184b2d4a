// Fetching over http:// and https:// against a loopback server: redirects, status
// errors, the size bound, the timeout, Basic auth, certificate verification and the
// resolver hook; and the URL helpers.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "TestServer.h"
#include "subscription/Fetch.h"

using namespace dae::subscription;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

FetchResult fetch(const std::string& url, FetchOptions o = {}) {
  asio::io_context io;
  FetchResult out;
  std::exception_ptr failure;
  std::string u = url;
  asio::co_spawn(io, fetchHttp(std::move(u), std::move(o)), [&](std::exception_ptr e, FetchResult r) {
    failure = e;
    out = std::move(r);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return out;
}

std::string fetchError(const std::string& url, FetchOptions o = {}) {
  try {
    fetch(url, std::move(o));
  } catch (const FetchError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(SubscriptionUrl, Parse) {
  HttpUrl u = parseHttpUrl("https://user:p%40ss@sub.example.com:8443/api/v1/client?token=abc#frag");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "sub.example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.target, "/api/v1/client?token=abc");
  EXPECT_EQ(u.userinfo, "user:p%40ss");
  u = parseHttpUrl("HTTP://[fd00:dae:2::2]?x=1");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "fd00:dae:2::2");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.target, "/?x=1");
  EXPECT_THROW(parseHttpUrl("ftp://x/"), FetchError);
  EXPECT_THROW(parseHttpUrl("http://:80/"), FetchError);
  EXPECT_THROW(parseHttpUrl("http://x:99999/"), FetchError);
  EXPECT_THROW(parseHttpUrl("http://[::1/"), FetchError);
}

TEST(SubscriptionUrl, Location) {
  HttpUrl base = parseHttpUrl("https://a.example:8443/dir/sub?token=1");
  EXPECT_EQ(resolveLocation(base, "http://b.example/x"), "http://b.example/x");
  EXPECT_EQ(resolveLocation(base, "//c.example/y"), "https://c.example/y");
  EXPECT_EQ(resolveLocation(base, "/root?q"), "https://a.example:8443/root?q");
  EXPECT_EQ(resolveLocation(base, "other"), "https://a.example:8443/dir/other");
  EXPECT_EQ(resolveLocation(base, "?t=2"), "https://a.example:8443/dir/sub?t=2");
  EXPECT_THROW(resolveLocation(base, "file:///etc/passwd"), FetchError);
  EXPECT_THROW(resolveLocation(base, ""), FetchError);
}

TEST(SubscriptionUrl, RedactHidesTokensAndCredentials) {
  EXPECT_EQ(redactUrl("https://u:secret@host:8443/path/x?token=abc#f"), "https://\u2026@host:8443/path/x?\u2026");
  EXPECT_EQ(redactUrl("http://host/p"), "http://host/p");
  EXPECT_EQ(redactUrl("file://subs/a.txt"), "file://subs/a.txt");
}

TEST(SubscriptionFetch, BodyAndRequest) {
  subtest::TestServer server;
  server.set("/sub?token=1", {200, "socks5://198.18.1.2:1080#a\n", {}, false});
  FetchOptions o;
  o.userAgent = "dae-test-agent";
  FetchResult r = fetch(server.url("/sub?token=1"), o);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "socks5://198.18.1.2:1080#a\n");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].rfind("GET /sub?token=1 HTTP/1.1\r\n", 0), 0u) << reqs[0];
  EXPECT_NE(reqs[0].find("User-Agent: dae-test-agent\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"), std::string::npos);
}

TEST(SubscriptionFetch, BasicAuthFromTheUrl) {
  subtest::TestServer server;
  server.set("/p", {200, "x", {}, false});
  std::string url = server.url("/p");
  url.insert(url.find("://") + 3, "alice:s%40cret@");
  fetch(url);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  // base64("alice:s@cret")
  EXPECT_NE(reqs[0].find("Authorization: Basic YWxpY2U6c0BjcmV0\r\n"), std::string::npos) << reqs[0];
}

TEST(SubscriptionFetch, FollowsRedirectsAndBoundsThem) {
  subtest::TestServer server;
  server.set("/a", {302, "", {{"Location", "/b"}}, false});
  server.set("/b", {301, "", {{"Location", "c?x=1"}}, false});
  server.set("/c?x=1", {200, "final", {}, false});
  server.set("/loop", {307, "", {{"Location", "/loop"}}, false});
  server.set("/nowhere", {302, "", {}, false});
  FetchResult r = fetch(server.url("/a"));
  EXPECT_EQ(r.body, "final");
  EXPECT_EQ(r.finalUrl, server.url("/c?x=1"));
  FetchOptions o;
  o.maxRedirects = 3;
  std::string e = fetchError(server.url("/loop"), o);
  EXPECT_NE(e.find("more than 3 redirects"), std::string::npos) << e;
  e = fetchError(server.url("/nowhere"));
  EXPECT_NE(e.find("without a Location"), std::string::npos) << e;
}

TEST(SubscriptionFetch, StatusErrorsNameTheStatusNotTheToken) {
  subtest::TestServer server;
  std::string e = fetchError(server.url("/missing?token=SECRET"));
  EXPECT_NE(e.find("HTTP 404"), std::string::npos) << e;
  EXPECT_EQ(e.find("SECRET"), std::string::npos) << e;
}

TEST(SubscriptionFetch, SizeBound) {
  subtest::TestServer server;
  server.set("/big", {200, std::string(5000, 'x'), {}, false});
  FetchOptions o;
  o.maxBytes = 4096;
  std::string e = fetchError(server.url("/big"), o);
  EXPECT_NE(e.find("larger than 4096 bytes"), std::string::npos) << e;
  o.maxBytes = 5000;
  EXPECT_EQ(fetch(server.url("/big"), o).body.size(), 5000u);
}

TEST(SubscriptionFetch, Timeout) {
  subtest::TestServer server;
  server.set("/hang", {200, "", {}, true});
  FetchOptions o;
  o.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  std::string e = fetchError(server.url("/hang"), o);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(e.find("timed out"), std::string::npos) << e;
  EXPECT_LT(took, 5s);
}

TEST(SubscriptionFetch, ConnectionRefused) {
  std::uint16_t port;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  std::string e = fetchError("http://127.0.0.1:" + std::to_string(port) + "/x");
  EXPECT_NE(e.find("127.0.0.1"), std::string::npos) << e;
}

TEST(SubscriptionFetch, HttpsVerifiesTheCertificate) {
  auto cert = subtest::TestCert::make();
  subtest::TestServer server(&cert);
  server.set("/sub", {200, "trusted body", {}, false});
  subtest::TempDir dir;
  dir.write("ca.pem", cert.certPem, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  FetchOptions trusted;
  trusted.extraCaFile = (dir.path / "ca.pem").string();
  EXPECT_EQ(fetch(server.url("/sub"), trusted).body, "trusted body");

  // The same server without its CA: the system store does not know it.
  ::unsetenv("DAE_EXTRA_CA");
  std::string e = fetchError(server.url("/sub"));
  EXPECT_NE(e.find("certificate verify failed"), std::string::npos) << e;
}

TEST(SubscriptionFetch, ResolverHookAndNameVerification) {
  auto cert = subtest::TestCert::make();
  subtest::TestServer server(&cert);
  server.set("/sub", {200, "by name", {}, false});
  subtest::TempDir dir;
  dir.write("ca.pem", cert.certPem, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::vector<std::string> asked;
  FetchOptions o;
  o.extraCaFile = (dir.path / "ca.pem").string();
  o.resolve = [&asked](std::string host) -> asio::awaitable<std::vector<asio::ip::address>> {
    asked.push_back(host);
    if (host == "sub.test" || host == "other.test") co_return std::vector{asio::ip::make_address("127.0.0.1")};
    throw std::runtime_error("NXDOMAIN");
  };
  std::string port = std::to_string(server.port());
  EXPECT_EQ(fetch("https://sub.test:" + port + "/sub", o).body, "by name");
  EXPECT_EQ(asked, std::vector<std::string>{"sub.test"});
  auto reqs = server.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_NE(reqs.back().find("Host: sub.test:" + port + "\r\n"), std::string::npos) << reqs.back();
  // Same address, a name the certificate does not carry: refused.
  std::string e = fetchError("https://other.test:" + port + "/sub", o);
  EXPECT_NE(e.find("certificate verify failed"), std::string::npos) << e;
  e = fetchError("https://unknown.test:" + port + "/sub", o);
  EXPECT_NE(e.find("cannot resolve 'unknown.test': NXDOMAIN"), std::string::npos) << e;
}
