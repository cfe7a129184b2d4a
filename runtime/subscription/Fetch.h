// Fetching a subscription body over http:// or https:// (HTTP/1.1 through
// Boost.Beast on an outbound::Stream, TLS through the outbound library's OpenSSL
// handshake with the certificate verified against the URL's host).
//
// The connection is made by an outbound::Dialer: by default the direct dialer
// with so_mark_from_dae on its socket, so the runtime's own fetch is never
// captured by its own datapath (upstream dae dials subscriptions directly with
// the same mark). Host names are resolved by FetchOptions::resolve when given
// (the runtime's DNS routing), else by the dialer (the system resolver).
//
// Bounds: one deadline for the whole fetch including redirects (upstream: 30 s),
// a maximum body size, a maximum number of redirects (301, 302, 303, 307, 308).
// Anything but a 2xx answer after the redirects is an error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include "outbound/Dialer.h"

namespace dae::subscription {

// A fetch failed; the message says which step and why (no credentials).
class FetchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// host -> its addresses (tried in order). Throws on failure.
using HostResolver = std::function<boost::asio::awaitable<std::vector<boost::asio::ip::address>>(std::string host)>;

struct FetchOptions {
  std::shared_ptr<outbound::Dialer> dialer;  // null: direct with soMark
  std::uint32_t soMark = 0;
  // Trust: the system store plus extraCaFile (empty: $DAE_EXTRA_CA). A given
  // context is used as it is.
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string extraCaFile;
  HostResolver resolve;  // null: the dialer resolves names
  std::chrono::milliseconds timeout{30000};
  std::size_t maxBytes = 10u << 20;
  int maxRedirects = 5;
  std::string userAgent = "dae-cpp/0.1 (like v2rayN/1.0 WebRequestHelper)";
};

struct HttpUrl {
  bool tls = false;
  std::string host;  // without brackets
  std::uint16_t port = 80;
  std::string target = "/";  // path and query, never empty
  std::string userinfo;      // "user:pass" as written (percent-encoded), for Basic auth
};

// http://[user:pass@]host[:port][/path][?query][#fragment]; https:// likewise.
// Throws FetchError.
HttpUrl parseHttpUrl(std::string_view url);
// The URL a Location header points to, relative to `base`: absolute
// (http/https), scheme-relative ("//host/p"), absolute path or relative path.
// Throws FetchError for another scheme.
std::string resolveLocation(const HttpUrl& base, std::string_view location);
// The URL for logs: scheme://host[:port]/path, the query replaced by "?…" and
// no user info (subscription URLs usually carry a token).
std::string redactUrl(std::string_view url);

struct FetchResult {
  std::string body;
  std::string finalUrl;  // after redirects
  int status = 0;
};

// GETs url (following redirects). Throws FetchError. Runs on the awaiting
// coroutine's executor.
boost::asio::awaitable<FetchResult> fetchHttp(std::string url, FetchOptions options);

}  // namespace dae::subscription
