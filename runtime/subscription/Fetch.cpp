#include "subscription/Fetch.h"

#include <algorithm>
#include <cctype>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "outbound/AsioAdapter.h"
#include "outbound/Deadline.h"
#include "outbound/Error.h"
#include "outbound/ShareLink.h"
#include "outbound/Transport.h"

namespace dae::subscription {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::uint16_t parsePort(std::string_view text, std::string_view url) {
  unsigned v = 0;
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos)
    throw FetchError("bad port '" + std::string(text) + "' in " + redactUrl(url));
  for (char c : text) v = v * 10 + static_cast<unsigned>(c - '0');
  if (v == 0 || v > 65535) throw FetchError("port out of range in " + redactUrl(url));
  return static_cast<std::uint16_t>(v);
}

std::string authorityOf(const HttpUrl& u) {
  outbound::Endpoint ep(u.host, u.port);
  return u.port == (u.tls ? 443 : 80) ? ep.hostForUrl() : ep.toString();
}

// The stream a Deadline closes. Every change happens on the fetch's executor,
// as does the Deadline's callback.
struct Current {
  outbound::Stream* stream = nullptr;
  void close() {
    if (stream) stream->close();
  }
};

std::string remainingText(std::chrono::milliseconds timeout) { return std::to_string(timeout.count()) + " ms"; }

// One connection to u (resolve, TCP, TLS) within `budget`.
asio::awaitable<std::unique_ptr<outbound::Stream>> connect(const HttpUrl& u, const FetchOptions& o,
                                                           outbound::Dialer& dialer, asio::ssl::context* tls,
                                                           std::chrono::milliseconds budget) {
  outbound::DialOptions dialOptions;
  dialOptions.soMark = o.soMark;
  dialOptions.connectTimeout = budget;
  dialOptions.handshakeTimeout = budget;
  outbound::NodeConfig target;
  target.tls.enabled = u.tls;
  target.tls.sni = u.host;  // SNI (for a name) and the name or address the certificate must carry
  std::vector<std::string> hosts;
  if (o.resolve) {
    std::vector<asio::ip::address> addresses;
    try {
      auto lookup = o.resolve(u.host);
      addresses = co_await std::move(lookup);
    } catch (const std::exception& e) {
      throw FetchError("cannot resolve '" + u.host + "': " + e.what());
    }
    if (addresses.empty()) throw FetchError("cannot resolve '" + u.host + "': no address");
    for (const auto& a : addresses) hosts.push_back(a.to_string());
  } else {
    hosts.push_back(u.host);
  }
  std::string errors;
  for (const auto& host : hosts) {
    target.server = outbound::Endpoint(host, u.port);
    try {
      auto open = outbound::openTransport(dialer, target, tls, dialOptions);
      co_return co_await std::move(open);
    } catch (const outbound::OutboundError& e) {
      errors += (errors.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw FetchError(errors);
}

struct Answer {
  int status = 0;
  std::string location;
  std::string reason;
  std::string body;
};

// One GET on a fresh connection.
asio::awaitable<Answer> exchange(const HttpUrl& u, const FetchOptions& o, outbound::Dialer& dialer,
                                 asio::ssl::context* tls, Clock::time_point deadlineAt,
                                 const std::shared_ptr<Current>& current) {
  auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(deadlineAt - Clock::now());
  if (budget.count() <= 0) throw FetchError("timed out");
  auto open = connect(u, o, dialer, tls, budget);
  std::unique_ptr<outbound::Stream> stream = co_await std::move(open);
  outbound::StreamAdapter adapter(std::move(stream));
  current->stream = &adapter.stream();
  struct Clear {
    std::shared_ptr<Current> c;
    ~Clear() { c->stream = nullptr; }
  } clear{current};

  http::request<http::empty_body> req{http::verb::get, u.target, 11};
  req.set(http::field::host, authorityOf(u));
  req.set(http::field::user_agent, o.userAgent);
  req.set(http::field::accept, "*/*");
  req.set(http::field::connection, "close");
  if (!u.userinfo.empty())
    req.set(http::field::authorization, "Basic " + outbound::base64Encode(outbound::percentDecode(u.userinfo)));
  boost::system::error_code ec;
  co_await http::async_write(adapter, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (auto e = adapter.takeError()) std::rethrow_exception(e);
    throw FetchError("sending the request: " + ec.message());
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.maxBytes);
  parser.header_limit(64 * 1024);
  boost::beast::flat_buffer buffer;
  // The header first: Beast 1.74 checks a Content-Length against the body limit
  // only when the parser is not eager, and async_read() makes it eager.
  co_await http::async_read_header(adapter, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && !parser.is_done())
    co_await http::async_read(adapter, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == http::error::body_limit) throw FetchError("the body is larger than " + std::to_string(o.maxBytes) + " bytes");
  if (ec == http::error::header_limit) throw FetchError("the response header is larger than 64 KiB");
  if (ec) {
    if (auto e = adapter.takeError()) std::rethrow_exception(e);
    throw FetchError("reading the response: " + ec.message());
  }
  auto& res = parser.get();
  Answer a;
  a.status = static_cast<int>(res.result_int());
  a.reason = std::string(res.reason());
  if (auto it = res.find(http::field::location); it != res.end()) a.location = std::string(it->value());
  a.body = std::move(res.body());
  adapter.stream().close();
  co_return a;
}

bool isRedirect(int status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

}  // namespace

HttpUrl parseHttpUrl(std::string_view url) {
  HttpUrl u;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) throw FetchError("'" + redactUrl(url) + "' is not a URL");
  std::string scheme = lower(url.substr(0, sep));
  if (scheme == "https") {
    u.tls = true;
    u.port = 443;
  } else if (scheme != "http") {
    throw FetchError("unsupported URL scheme '" + scheme + "://' (http, https)");
  }
  std::string_view rest = url.substr(sep + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view target = rest.substr(slash);
    u.target = target.front() == '?' ? "/" + std::string(target) : std::string(target);
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    u.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) throw FetchError("unclosed '[' in " + redactUrl(url));
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw FetchError("unexpected text after ']' in " + redactUrl(url));
      u.port = parsePort(after.substr(1), url);
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      u.port = parsePort(authority.substr(colon + 1), url);
      authority = authority.substr(0, colon);
    }
    u.host = std::string(authority);
  }
  if (u.host.empty()) throw FetchError("no host in " + redactUrl(url));
  for (char c : u.host)
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\' || c == '%')
      throw FetchError("bad host name in " + redactUrl(url));
  return u;
}

std::string resolveLocation(const HttpUrl& base, std::string_view location) {
  std::string_view loc = location;
  while (!loc.empty() && (loc.front() == ' ' || loc.front() == '\t')) loc.remove_prefix(1);
  while (!loc.empty() && (loc.back() == ' ' || loc.back() == '\t')) loc.remove_suffix(1);
  if (loc.empty()) throw FetchError("a redirect without a Location");
  const std::string scheme = base.tls ? "https" : "http";
  if (auto sep = loc.find("://"); sep != std::string_view::npos && loc.find_first_of("/?#") > sep) {
    std::string s = lower(loc.substr(0, sep));
    if (s != "http" && s != "https") throw FetchError("a redirect to a '" + s + "://' URL");
    return std::string(loc);
  }
  if (loc.rfind("//", 0) == 0) return scheme + ":" + std::string(loc);
  std::string origin = scheme + "://" + authorityOf(base);
  if (loc.front() == '/') return origin + std::string(loc);
  std::string path = base.target.substr(0, base.target.find('?'));
  if (loc.front() == '?') return origin + path + std::string(loc);
  return origin + path.substr(0, path.rfind('/') + 1) + std::string(loc);
}

std::string redactUrl(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    std::string s(url.substr(0, url.find_first_of("?#")));
    return s.size() < url.size() ? s + "?\u2026" : s;
  }
  std::string_view rest = url.substr(sep + 3);
  auto end = rest.find_first_of("?#");
  std::string_view main = rest.substr(0, end);
  std::string_view authority = main.substr(0, main.find('/'));
  std::string out(url.substr(0, sep + 3));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    out += "\u2026@";
    main.remove_prefix(at + 1);
  }
  out += std::string(main);
  if (end != std::string_view::npos && rest[end] == '?') out += "?\u2026";
  return out;
}

asio::awaitable<FetchResult> fetchHttp(std::string url, FetchOptions o) {
  auto ex = co_await asio::this_coro::executor;
  const auto deadlineAt = Clock::now() + o.timeout;
  std::shared_ptr<outbound::Dialer> dialer = o.dialer;
  if (!dialer) {
    outbound::DialOptions direct;
    direct.soMark = o.soMark;
    direct.connectTimeout = o.timeout;
    dialer = outbound::makeDirectDialer(direct);
  }
  std::shared_ptr<asio::ssl::context> tls = o.tls;
  auto current = std::make_shared<Current>();
  outbound::Deadline deadline(ex, o.timeout, [current] { current->close(); });
  for (int redirects = 0;; ++redirects) {
    HttpUrl u = parseHttpUrl(url);
    if (u.tls && !tls) {
      outbound::DialOptions trust;
      trust.extraCaFile = o.extraCaFile;
      try {
        tls = outbound::makeTlsContext(trust);
      } catch (const outbound::OutboundError& e) {
        throw FetchError(std::string("TLS trust store: ") + e.what());
      }
    }
    Answer a;
    try {
      auto op = exchange(u, o, *dialer, tls.get(), deadlineAt, current);
      a = co_await std::move(op);
    } catch (const std::exception& e) {
      if (deadline.expired() || Clock::now() >= deadlineAt)
        throw FetchError("timed out after " + remainingText(o.timeout) + " (" + redactUrl(url) + ")");
      throw FetchError(std::string(e.what()) + " (" + redactUrl(url) + ")");
    }
    if (isRedirect(a.status)) {
      if (redirects >= o.maxRedirects)
        throw FetchError("more than " + std::to_string(o.maxRedirects) + " redirects (last " + redactUrl(url) + ")");
      std::string next = resolveLocation(u, a.location);
      // Credentials of the URL go only to the host they were written for.
      HttpUrl nu = parseHttpUrl(next);
      if (!u.userinfo.empty() && nu.userinfo.empty() && nu.host == u.host && nu.port == u.port &&
          nu.tls == u.tls) {
        auto sep = next.find("://");
        next = next.substr(0, sep + 3) + u.userinfo + "@" + next.substr(sep + 3);
      }
      url = std::move(next);
      continue;
    }
    if (a.status < 200 || a.status > 299)
      throw FetchError("HTTP " + std::to_string(a.status) + (a.reason.empty() ? "" : " " + a.reason) + " (" +
                       redactUrl(url) + ")");
    FetchResult r;
    r.body = std::move(a.body);
    r.finalUrl = url;
    r.status = a.status;
    co_return r;
  }
}

}  // namespace dae::subscription
