// Copies bytes both ways between a client socket and an upstream stream until
// both directions are done, keeping half-close (a FIN travels on). Plain socket to
// plain socket uses splice(2), so the bytes never enter userspace.
#pragma once
#include <cstdint>

#include "engine/Upstream.h"

namespace dae::engine {

struct RelayStats {
  uint64_t up = 0;    // client -> upstream
  uint64_t down = 0;  // upstream -> client
  bool spliced = false;
};

asio::awaitable<RelayStats> relay(asio::ip::tcp::socket& client, ByteStream& upstream);

}  // namespace dae::engine
