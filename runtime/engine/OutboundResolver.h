// The UpstreamResolver the runtime uses: direct flows are dialled as plain
// marked sockets (so the relay can splice), groups through the node their
// group manager picks for the flow's kind, with the outbound library.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "engine/Upstream.h"
#include "outbound/Dialer.h"

namespace dae::engine {

// The node for a new flow of group `group`; throws with a clear message when the
// group has no usable node for this kind of traffic.
using NodePicker = std::function<std::shared_ptr<outbound::Dialer>(const std::string& group, bool udp, bool ipv6)>;
// Told about every failed dial, so the group can re-check the node at once.
using DialFailure = std::function<void(const std::string& group, const std::shared_ptr<outbound::Dialer>& node)>;

// The pool name of a node the picker returned ("" if unknown), for the `via` of logs.
using NodeNamer = std::function<std::string(const std::shared_ptr<outbound::Dialer>& node)>;

// `via` of a group's flow: the node's pool name with a namer, else its description.
std::shared_ptr<UpstreamResolver> makeOutboundResolver(asio::any_io_executor ex, uint32_t soMark, NodePicker picker,
                                                       DialFailure onFailure, NodeNamer namer = {});

}  // namespace dae::engine
