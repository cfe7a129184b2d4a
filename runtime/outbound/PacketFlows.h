// Full-cone UDP over protocols whose UDP flows carry one destination each
// (VMess and VLESS put the destination in the request header): a session
// opens one flow per destination on first use and merges their replies.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "outbound/Stream.h"

namespace dae::outbound {

// One UDP flow to a single destination, packet boundaries preserved.
class PacketFlow {
 public:
  virtual ~PacketFlow() = default;
  virtual awaitable<void> send(boost::asio::const_buffer packet) = 0;
  // One packet (truncated to buf); returns false at the end of the flow.
  virtual awaitable<bool> receive(std::vector<std::uint8_t>& packet) = 0;
  virtual void close() noexcept = 0;
};

using PacketFlowFactory = std::function<awaitable<std::unique_ptr<PacketFlow>>(const Endpoint&)>;

// maxFlows bounds the destinations of one session (the oldest flow is closed
// beyond it); at most queueLimit received packets wait for receiveFrom (more
// are dropped, as a socket buffer would).
std::unique_ptr<Datagram> makePerDestinationDatagram(boost::asio::any_io_executor ex, PacketFlowFactory factory,
                                                     std::size_t maxFlows = 64, std::size_t queueLimit = 256);

}  // namespace dae::outbound
