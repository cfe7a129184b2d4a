#include "dns/Upstream.h"

#include <sys/socket.h>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstring>

#include "dns/Message.h"
#include "outbound/AsioAdapter.h"
#include "outbound/Deadline.h"
#include "outbound/Transport.h"

namespace dae::dns {
namespace {

using asio::ip::udp;
namespace http = boost::beast::http;

std::string hostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string describe(const UpstreamSpec& up, const asio::ip::address& a, const FlowRoute& r) {
  std::string via = r.outbound == "direct" ? "direct" : "group " + r.outbound;
  return "DNS upstream '" + up.name + "' (" + up.url() + " at " + a.to_string() + ", via " + via + ")";
}

// A plain UDP socket carrying SO_MARK: one query, the first matching answer.
asio::awaitable<std::string> udpDirect(asio::ip::address addr, uint16_t port, uint32_t mark, const std::string& query,
                                       std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto sock = std::make_shared<udp::socket>(ex);
  sock->open(addr.is_v4() ? udp::v4() : udp::v6());
  if (mark != 0) {
    int m = static_cast<int>(mark);
    if (setsockopt(sock->native_handle(), SOL_SOCKET, SO_MARK, &m, sizeof m) != 0)
      throw UpstreamError(std::string("cannot set SO_MARK on a UDP socket: ") + std::strerror(errno));
  }
  udp::endpoint to(addr, port);
  sock->connect(to);
  outbound::Deadline deadline(ex, timeout, [sock] {
    boost::system::error_code ignored;
    sock->close(ignored);
  });
  boost::system::error_code ec;
  co_await sock->async_send(asio::buffer(query), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw UpstreamError("send: " + ec.message());
  std::string buf(kMaxMessage, '\0');
  for (;;) {
    size_t n = co_await sock->async_receive(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw UpstreamError(deadline.expired() ? "no answer within " + std::to_string(timeout.count()) + " ms"
                                                   : "receive: " + ec.message());
    std::string_view got(buf.data(), n);
    if (responseMatches(query, got)) co_return std::string(got);
  }
}

// UDP through a node of a group.
asio::awaitable<std::string> udpVia(std::shared_ptr<outbound::Dialer> dialer, asio::ip::address addr, uint16_t port,
                                    const std::string& query, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  std::shared_ptr<outbound::Datagram> dg = co_await dialer->dialUdp();
  outbound::Deadline deadline(ex, timeout, [dg] { dg->close(); });
  outbound::Endpoint to(addr.to_string(), port);
  co_await dg->sendTo(asio::buffer(query), to);
  std::string buf(kMaxMessage, '\0');
  for (;;) {
    outbound::Endpoint from;
    size_t n = 0;
    try {
      n = co_await dg->receiveFrom(asio::buffer(buf), from);
    } catch (const std::exception& e) {
      if (deadline.expired()) throw UpstreamError("no answer within " + std::to_string(timeout.count()) + " ms");
      throw;
    }
    std::string_view got(buf.data(), n);
    if (responseMatches(query, got)) co_return std::string(got);
  }
}

asio::awaitable<std::unique_ptr<outbound::Stream>> dialStream(asio::ip::address addr, uint16_t port,
                                                             const FlowRoute& route, const DialContext& ctx) {
  outbound::Endpoint to(addr.to_string(), port);
  std::shared_ptr<outbound::Dialer> dialer;
  if (route.outbound == "direct") {
    outbound::DialOptions opts;
    opts.soMark = route.mark != 0 ? route.mark : ctx.soMark;
    opts.connectTimeout = ctx.timeout;
    dialer = outbound::makeDirectDialer(opts);
  } else {
    dialer = ctx.pickNode(route.outbound, false, addr.is_v6());
    if (!dialer) throw UpstreamError("group '" + route.outbound + "' has no usable node");
  }
  co_return co_await dialer->dialTcp(to);
}

asio::awaitable<std::string> streamExchange(outbound::Stream& s, const std::string& query) {
  std::string framed;
  framed.reserve(query.size() + 2);
  framed.push_back(static_cast<char>(query.size() >> 8));
  framed.push_back(static_cast<char>(query.size() & 0xFF));
  framed += query;
  co_await s.writeAll(asio::buffer(framed));
  uint8_t len[2];
  co_await outbound::readExactly(s, asio::buffer(len), "the length of a DNS answer");
  size_t n = static_cast<size_t>((len[0] << 8) | len[1]);
  std::string body(n, '\0');
  if (n) co_await outbound::readExactly(s, asio::buffer(body), "a DNS answer");
  co_return body;
}

asio::awaitable<std::string> httpsExchange(std::unique_ptr<outbound::Stream> s, const UpstreamSpec& up,
                                           const std::string& query) {
  outbound::StreamAdapter adapter(std::move(s));
  std::string path = up.path.empty() ? "/dns-query" : up.path;
  bool get = false;
  if (auto t = path.find("{?dns}"); t != std::string::npos) {
    path.erase(t);
    get = true;
  }
  std::string host = hostForUrl(up.host) + (up.port == 443 ? "" : ":" + std::to_string(up.port));
  http::request<http::string_body> req;
  req.version(11);
  req.set(http::field::host, host);
  req.set(http::field::accept, "application/dns-message");
  req.set(http::field::user_agent, "dae-cpp");
  if (get) {
    req.method(http::verb::get);
    req.target(path + (path.find('?') == std::string::npos ? "?dns=" : "&dns=") + base64Url(query));
  } else {
    req.method(http::verb::post);
    req.target(path);
    req.set(http::field::content_type, "application/dns-message");
    req.body() = query;
  }
  req.prepare_payload();
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxMessage);
  boost::system::error_code ec;
  co_await http::async_write(adapter, req, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_await http::async_read(adapter, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (auto inner = adapter.takeError()) std::rethrow_exception(inner);
    throw UpstreamError("HTTP: " + ec.message());
  }
  adapter.stream().close();
  const auto& res = parser.get();
  if (res.result_int() != 200)
    throw UpstreamError("HTTP status " + std::to_string(res.result_int()) + " " + std::string(res.reason()));
  auto ct = res[http::field::content_type];
  if (ct.substr(0, 23) != "application/dns-message")
    throw UpstreamError("unexpected Content-Type '" + std::string(ct) + "'");
  co_return res.body();
}

}  // namespace

UpstreamSpec UpstreamSpec::fromArtifact(const artifact::DnsUpstream& u) {
  UpstreamSpec s;
  s.name = u.name();
  s.scheme = u.scheme().empty() ? "udp" : u.scheme();
  s.host = u.host();
  s.port = static_cast<uint16_t>(u.port() ? u.port() : 53);
  s.path = u.path();
  return s;
}

bool UpstreamSpec::supported() const {
  return scheme == "udp" || scheme == "tcp" || scheme == "tcp+udp" || scheme == "tls" || scheme == "https";
}

std::string UpstreamSpec::url() const {
  return scheme + "://" + hostForUrl(host) + ":" + std::to_string(port) + (scheme == "https" ? path : "");
}

std::string base64Url(std::string_view data) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(abc[(v >> (6 * k)) & 63]);
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    out.push_back(abc[(v >> 18) & 63]);
    out.push_back(abc[(v >> 12) & 63]);
    if (rest == 2) out.push_back(abc[(v >> 6) & 63]);
  }
  return out;
}

asio::awaitable<std::string> exchange(const UpstreamSpec& up, const asio::ip::address& address, const FlowRoute& route,
                                      const std::string& query, const DialContext& ctx, bool forceTcp) {
  const std::string what = describe(up, address, route);
  if (!up.supported()) throw UpstreamError(what + ": the " + up.scheme + ":// scheme is not supported");
  if (route.outbound == "block")
    throw UpstreamError(what + ": its traffic is blocked by routing rule " + route.rule);
  if (route.outbound != "direct" && !ctx.pickNode)
    throw UpstreamError(what + ": routed to group '" + route.outbound + "' but no group dialer is connected");
  auto ex = co_await asio::this_coro::executor;
  std::string answer;
  try {
    if (up.usesUdp() && !forceTcp) {
      if (route.outbound == "direct") {
        uint32_t mark = route.mark != 0 ? route.mark : ctx.soMark;
        answer = co_await udpDirect(address, up.port, mark, query, ctx.timeout);
      } else {
        auto dialer = ctx.pickNode(route.outbound, true, address.is_v6());
        if (!dialer) throw UpstreamError("group '" + route.outbound + "' has no usable node for UDP");
        answer = co_await udpVia(dialer, address, up.port, query, ctx.timeout);
      }
      // A truncated answer over tcp+udp is asked again over TCP.
      if (up.scheme == "tcp+udp" && answer.size() >= 4 && (static_cast<uint8_t>(answer[2]) & 0x02))
        co_return co_await exchange(up, address, route, query, ctx, true);
      co_return answer;
    }
    std::unique_ptr<outbound::Stream> stream = co_await dialStream(address, up.port, route, ctx);
    outbound::Stream* raw = stream.get();
    outbound::Deadline deadline(ex, ctx.timeout, [raw] { raw->close(); });
    if (up.scheme == "tls" || up.scheme == "https") {
      auto tlsCtx = ctx.tls;
      if (!tlsCtx) tlsCtx = outbound::makeTlsContext(outbound::DialOptions{});
      outbound::TlsSettings tls;
      tls.enabled = true;
      if (up.scheme == "https") tls.alpn = {"http/1.1"};
      std::string host = up.host;
      stream = co_await outbound::tlsHandshake(std::move(stream), *tlsCtx, tls, host);
      raw = stream.get();
      outbound::Deadline inner(ex, ctx.timeout, [raw] { raw->close(); });
      if (up.scheme == "https") {
        // RFC 8484 4.1: ID 0 makes answers cacheable by HTTP caches.
        std::string q0 = query;
        setId(q0, 0);
        answer = co_await httpsExchange(std::move(stream), up, q0);
        setId(answer, getId(query));
      } else {
        answer = co_await streamExchange(*stream, query);
        stream->close();
      }
    } else {
      answer = co_await streamExchange(*stream, query);
      stream->close();
    }
  } catch (const UpstreamError& e) {
    throw UpstreamError(what + ": " + e.what());
  } catch (const std::exception& e) {
    throw UpstreamError(what + ": " + e.what());
  }
  if (!responseMatches(query, answer)) throw UpstreamError(what + ": the answer does not match the query");
  co_return answer;
}

}  // namespace dae::dns
