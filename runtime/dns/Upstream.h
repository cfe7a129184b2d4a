// DNS upstreams and their transports: udp://, tcp://, tcp+udp:// (UDP, then TCP when the
// answer is truncated), tls:// (DoT, RFC 7858) and https:// (DoH, RFC 8484: POST, or GET
// when the path carries the `{?dns}` template). h3/http3/quic are not supported.
//
// Every exchange is dialled according to the route of the upstream's own traffic
// (FlowRoute): `direct` as a plain socket carrying SO_MARK (so the kernel program never
// captures it), `block` fails, a group through the node PickNodeFn returns (the outbound
// library's Dialer). Responses must match the query's ID and question, anything else
// read from the socket is ignored (UDP) or fails the exchange (streams).
#pragma once
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "artifact.pb.h"
#include "outbound/Dialer.h"

namespace dae::dns {

namespace asio = boost::asio;

struct UpstreamSpec {
  std::string name;
  std::string scheme;  // udp, tcp, tcp+udp, tls, https (h3, http3, quic: unsupported)
  std::string host;    // IP literal or name
  uint16_t port = 53;
  std::string path;    // https: "/dns-query" when empty

  static UpstreamSpec fromArtifact(const artifact::DnsUpstream& u);
  bool supported() const;
  bool usesUdp() const { return scheme == "udp" || scheme == "tcp+udp"; }
  bool usesTcp() const { return scheme != "udp"; }  // tcp, tcp+udp, tls, https
  // "udp://1.2.3.4:53", "https://dns.example:443/dns-query"
  std::string url() const;
};

// How the kernel program routes a flow (see KernelRoute.h).
struct FlowRoute {
  std::string outbound = "direct";  // direct, block or a group
  uint32_t mark = 0;
  bool must = false;
  bool dns = false;  // port 53 under a rule that is not must: the kernel hands it to the DNS module
  std::string rule;  // "FILE:LINE" of the rule, or "fallback"
};

// The node to reach group `group` for this kind of traffic (the engine's NodePicker).
using PickNodeFn = std::function<std::shared_ptr<outbound::Dialer>(const std::string& group, bool udp, bool ipv6)>;

struct DialContext {
  uint32_t soMark = 0;  // so_mark_from_dae: on every direct socket (a rule's mark wins)
  PickNodeFn pickNode;  // null: groups cannot be reached (the exchange fails)
  std::shared_ptr<asio::ssl::context> tls;  // DoT / DoH; null: created on first use
  std::chrono::milliseconds timeout{5000};  // one exchange, dial included
};

class UpstreamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One query/response exchange with `up` at `address` (already resolved), dialled as
// `route` says. `query` is a complete DNS message; the response is validated against
// it. `tcp` forces a stream transport for udp/tcp+udp upstreams (the client asked over
// TCP, or UDP came back truncated). Throws UpstreamError with the upstream's name.
asio::awaitable<std::string> exchange(const UpstreamSpec& up, const asio::ip::address& address, const FlowRoute& route,
                                      const std::string& query, const DialContext& ctx, bool forceTcp = false);

// base64url without padding (RFC 4648 section 5), for DoH GET.
std::string base64Url(std::string_view data);

}  // namespace dae::dns
