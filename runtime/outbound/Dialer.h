// Dialers: one per node, built from a NodeConfig. A dialer is immutable after
// construction and may be shared by many concurrent dials (also across
// threads); each dial runs on the executor of the awaiting coroutine.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/Error.h"
#include "outbound/NodeConfig.h"
#include "outbound/Stream.h"

namespace dae::outbound {

struct DialOptions {
  std::uint32_t soMark = 0;  // SO_MARK on the sockets of the direct (first) hop; 0: none
  std::chrono::milliseconds connectTimeout{10000};    // resolve + TCP connect of one hop
  std::chrono::milliseconds handshakeTimeout{10000};  // TLS, WebSocket and proxy handshake of one hop
  // PEM file with CA certificates trusted in addition to the system store.
  // Empty: the environment variable DAE_EXTRA_CA, if set.
  std::string extraCaFile;
};

class Dialer {
 public:
  virtual ~Dialer() = default;
  // Opens a stream to target through the node. Throws OutboundError.
  virtual awaitable<std::unique_ptr<Stream>> dialTcp(const Endpoint& target) = 0;
  // Opens a full-cone UDP session through the node. Throws OutboundError
  // (Unsupported when !supportsUdp()).
  virtual awaitable<std::unique_ptr<Datagram>> dialUdp() = 0;
  virtual bool supportsUdp() const = 0;
  // "ss aes-128-gcm 198.18.1.2:8388", for logs.
  virtual std::string describe() const = 0;
};

// Direct: connects from this host; soMark on every socket; binds nothing.
std::shared_ptr<Dialer> makeDirectDialer(const DialOptions& opts = {});
// Block: every dial fails with Errc::Blocked.
std::shared_ptr<Dialer> makeBlockDialer();

// The dialer of one node. `via` is the dialer that reaches the node's server
// (the previous hop of a chain); null means direct with opts.soMark.
// Errors of a dial carry the node's name and address in their message.
std::shared_ptr<Dialer> makeDialer(const NodeConfig& node, const DialOptions& opts = {},
                                   std::shared_ptr<Dialer> via = nullptr);

// A chain: hops[0] is dialled directly, hops[i] through hops[i-1]; the
// returned dialer reaches targets through the last hop.
std::shared_ptr<Dialer> makeChainDialer(const std::vector<NodeConfig>& hops, const DialOptions& opts = {});

}  // namespace dae::outbound
