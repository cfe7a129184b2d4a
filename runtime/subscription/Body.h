// The body of a subscription (what a URL or file returns) -> the nodes in it.
//
// Formats, detected in this order (upstream dae accepts the same):
//   SIP008 JSON   {"version": 1, "servers": [{"server", "server_port", "method",
//                 "password", "remarks", "plugin", "plugin_opts"}, ...]}
//                 -> one ss:// link per server (a server with a plugin is skipped:
//                 the shadowsocks outbound has no plugins)
//   link list     one share link per line (ss://, vmess://, vless://, trojan://,
//                 socks5://, http(s)://, ...), as plain text
//   base64        the same list encoded with standard or URL-safe base64, with or
//                 without padding, line breaks (CRLF too) anywhere
// Blank lines and lines starting with '#' are ignored. A line that is not a share
// link the outbound library can dial is skipped with a warning naming its line
// number, scheme and name (never its credentials); it is never fatal.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dae::subscription {

// The whole body is unusable (empty, JSON that is not SIP008, undecodable).
class BodyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Format { Sip008, LinkList, Base64LinkList };
std::string_view formatName(Format f) noexcept;  // "SIP008 JSON", "link list", "base64 link list"

struct ParsedNode {
  std::string name;  // the link's name (#fragment, vmess "ps"); else "host:port" of its server
  std::string link;  // a single share link, safe to hand to outbound::parseChain
};

struct ParsedBody {
  Format format = Format::LinkList;
  std::vector<ParsedNode> nodes;
  std::vector<std::string> warnings;  // one per skipped line/entry: "line 3 (ss://…#HK): why"
};

// Throws BodyError when the body as a whole cannot be read; skipped entries are
// reported in `warnings`. Never throws anything else.
ParsedBody parseBody(std::string_view body);

// The ss:// link (SIP002: base64url(method:password)@host:port#remarks) of one
// SIP008 server entry without a plugin.
std::string sip002Link(const std::string& method, const std::string& password, const std::string& host,
                       unsigned port, const std::string& remarks);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string percentEncode(std::string_view s);

}  // namespace dae::subscription
