// Share-link parsing: socks5:// socks4:// socks4a:// http:// https:// ss://
// vmess:// vless:// trojan:// (plus direct:// and block:// for tools).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/NodeConfig.h"

namespace dae::outbound {

class LinkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses one link; throws LinkError with a message naming the scheme and the
// offending part.
NodeConfig parseShareLink(std::string_view link);

// "LINK -> LINK -> ..." (dial each later hop through the earlier ones).
std::vector<NodeConfig> parseChain(std::string_view spec);

// Helpers shared with other parsers (subscriptions).
std::string percentDecode(std::string_view s);
// Standard or URL-safe alphabet, padding optional, whitespace ignored;
// throws LinkError on invalid input.
std::string base64Decode(std::string_view s);
std::string base64Encode(std::string_view s);

}  // namespace dae::outbound
