// HTTP and HTTPS CONNECT proxies, with basic authentication.
#include "outbound/HttpProxy.h"

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include "outbound/Deadline.h"
#include "outbound/Protocols.h"
#include "outbound/ShareLink.h"
#include "outbound/Transport.h"

namespace dae::outbound {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {
constexpr std::size_t kMaxHead = 16 * 1024;
}

std::optional<HttpConnectReply> parseHttpConnectReply(std::string_view data) {
  http::response_parser<http::empty_body> parser;
  parser.header_limit(kMaxHead);
  parser.skip(true);  // a reply to CONNECT has no body we want to read
  boost::system::error_code ec;
  std::size_t used = parser.put(asio::buffer(data.data(), data.size()), ec);
  if (ec == http::error::need_more) {
    if (data.size() >= kMaxHead) fail(Errc::Handshake, "HTTP proxy reply head exceeds 16 KiB");
    return std::nullopt;
  }
  if (ec) fail(Errc::Handshake, "HTTP proxy sent a malformed reply: " + ec.message());
  if (!parser.is_header_done()) return std::nullopt;
  HttpConnectReply r;
  r.status = parser.get().result_int();
  r.reason = std::string(parser.get().reason());
  r.headerLength = used;
  return r;
}

namespace {

class HttpDialer final : public Dialer {
 public:
  HttpDialer(NodeConfig node, std::shared_ptr<Dialer> via, DialOptions opts, SslContextPtr ssl)
      : node_(std::move(node)), via_(std::move(via)), opts_(std::move(opts)), ssl_(std::move(ssl)) {}

  awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) override {
    auto s = co_await openTransport(*via_, node_, ssl_.get(), opts_);
    Stream* raw = s.get();
    Deadline deadline(co_await asio::this_coro::executor, opts_.handshakeTimeout, [raw] { raw->close(); });
    std::vector<std::uint8_t> rest = co_await underDeadline(connect(*s, target), deadline, "HTTP CONNECT");
    co_return withPrefix(std::move(s), std::move(rest));
  }

  awaitable<std::unique_ptr<Datagram>> dialUdp() override {
    fail(Errc::Unsupported, "an HTTP proxy has no UDP");
    co_return nullptr;
  }
  bool supportsUdp() const override { return false; }
  std::string describe() const override {
    return (node_.tls.enabled ? "https " : "http ") + node_.server.toString();
  }

 private:
  // Sends CONNECT and reads the reply head; returns bytes read past it.
  awaitable<std::vector<std::uint8_t>> connect(Stream& s, const Endpoint& target) {
    std::string authority = target.toString();
    std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
    if (!node_.username.empty() || !node_.password.empty())
      req += "Proxy-Authorization: Basic " + base64Encode(node_.username + ":" + node_.password) + "\r\n";
    req += "User-Agent: dae-cpp\r\n\r\n";
    co_await s.writeAll(asio::buffer(req));
    std::string head;
    char buf[2048];
    while (true) {
      std::size_t n = co_await s.readSome(asio::buffer(buf));
      if (n == 0)
        fail(Errc::Closed, head.empty() ? "the HTTP proxy closed the connection without answering CONNECT"
                                        : "the HTTP proxy closed the connection inside its reply");
      head.append(buf, n);
      auto reply = parseHttpConnectReply(head);
      if (!reply) continue;
      std::string status = std::to_string(reply->status) + " " + reply->reason;
      if (reply->status == 407)
        fail(Errc::Auth, node_.username.empty() ? "the HTTP proxy requires authentication (407)"
                                                : "the HTTP proxy rejected user '" + node_.username + "' (407)");
      if (reply->status == 502 || reply->status == 503 || reply->status == 504)
        fail(Errc::TargetUnreachable, "the HTTP proxy could not reach " + authority + " (" + status + ")");
      if (reply->status < 200 || reply->status > 299)
        fail(Errc::Handshake, "the HTTP proxy answered CONNECT " + authority + " with " + status);
      co_return std::vector<std::uint8_t>(head.begin() + static_cast<std::ptrdiff_t>(reply->headerLength), head.end());
    }
  }

  NodeConfig node_;
  std::shared_ptr<Dialer> via_;
  DialOptions opts_;
  SslContextPtr ssl_;
};

}  // namespace

std::shared_ptr<Dialer> makeHttpDialer(const NodeConfig& node, std::shared_ptr<Dialer> via, const DialOptions& opts,
                                       SslContextPtr ssl) {
  return std::make_shared<HttpDialer>(node, std::move(via), opts, std::move(ssl));
}

}  // namespace dae::outbound
