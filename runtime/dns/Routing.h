// The dns section's request and response routing, compiled from the artifact.
//
// A rule is an AND of (possibly negated) calls; the arguments of one call are OR-ed
// and `!` negates the whole OR; the first rule that matches wins, else the fallback.
//
// request  qname(suffix:|full:|keyword:|regex:|geosite:|ext:|plain = suffix), qtype(...)
//          -> an upstream, `asis` (the server the client asked) or `reject`.
//          sub() / node() / subnode() match only the runtime's own lookups (subscription
//          fetches, node hosts); qname/qtype rules match those lookups too.
// response qname, qtype, upstream(NAME...), ip(CIDR | geoip:X | ext:F:X: any A/AAAA of the
//          answer) -> `accept`, `reject` or an upstream to ask instead.
//
// geosite:/geoip:/ext: arguments are left unexpanded by the compiler for the dns
// section; GeoResolvers expands them (a call that needs one that is missing throws).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "artifact.pb.h"

namespace dae::dns {

class DomainMatcher;

struct GeoResolvers {
  // "geosite:cn", "geosite:google@cn", "ext:file.dat:tag" -> (kind, value) patterns with
  // kind suffix | full | keyword | regex. Throws with a message on a missing file/tag.
  std::function<std::vector<std::pair<std::string, std::string>>(const std::string& source)> site;
  // "geoip:private", "ext:file.dat:tag" -> CIDR texts ("10.0.0.0/8", "fc00::/7").
  std::function<std::vector<std::string>(const std::string& source)> ip;
};

// One of the runtime's own lookups (routed by sub(), node(), subnode()).
struct InternalLookup {
  enum class Kind { Subscription, Node } kind = Kind::Node;
  std::string subscription;  // the subscription's tag (Subscription; Node from a subscription)
  std::string node;          // the node's name (Node)
  std::string link;          // the subscription's URL or the node's share link
};

struct RequestQuery {
  std::string_view qname;  // canonical (lower case, no trailing dot)
  uint16_t qtype = 0;
  const InternalLookup* internal = nullptr;  // null: a client's query
};

struct ResponseView {
  std::string_view qname;
  uint16_t qtype = 0;
  std::string_view upstream;                               // who answered
  const std::vector<std::array<uint8_t, 16>>* addresses;  // A/AAAA of the answer (IPv4 mapped)
};

struct Decision {
  enum class Kind { Upstream, Asis, Reject, Accept } kind = Kind::Accept;
  std::string upstream;  // Kind::Upstream
  int rule = -1;         // index of the matching rule, -1: the fallback
};

class Router {
 public:
  // `request` selects the built-in outbounds (asis/reject or accept/reject). Names that
  // are neither built-in nor in `upstreams` throw std::invalid_argument.
  Router(const artifact::DnsRouting& routing, bool request, const std::set<std::string>& upstreams,
         const GeoResolvers& geo);
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  Decision route(const RequestQuery& q) const;
  Decision route(const ResponseView& r) const;

  // "qname(suffix: a.com) -> up" of rule i, "fallback -> up" for -1.
  std::string describe(int rule) const;
  size_t ruleCount() const;
  // Upstream names any rule or the fallback names as outbound.
  std::set<std::string> referencedUpstreams() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses "1.2.3.0/24", "1.2.3.4", "fd00::/8" into the 128-bit space (IPv4 mapped).
bool parseCidr(std::string_view text, std::array<uint8_t, 16>& net, int& prefix);

}  // namespace dae::dns
