// The connection abstractions every outbound produces.
//
// Concurrency contract (as for Asio sockets): at most one readSome and one
// writeAll (or shutdownWrite) may be outstanding at a time, all on the
// executor the object was created on (a strand when the io_context runs on
// several threads). close() may be called at any time and makes outstanding
// operations fail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>  // boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include "outbound/Endpoint.h"

namespace dae::outbound {

template <typename T>
using awaitable = boost::asio::awaitable<T>;

// A reliable byte stream through a node.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual boost::asio::any_io_executor executor() const = 0;
  // Reads at least one byte into buf; returns 0 only at the peer's clean end
  // of stream. Throws boost::system::system_error for socket errors and
  // OutboundError for malformed or unauthenticated data.
  virtual awaitable<std::size_t> readSome(boost::asio::mutable_buffer buf) = 0;
  // Writes all of buf.
  virtual awaitable<void> writeAll(boost::asio::const_buffer buf) = 0;
  // Half-close: tells the far end that we will send no more (the inbound
  // protocol's end marker and/or a TCP FIN); reading goes on.
  virtual awaitable<void> shutdownWrite() = 0;
  virtual void close() noexcept = 0;
};

// A full-cone UDP session through a node: one session may send to many
// destinations and receives the replies of each, tagged with their source.
class Datagram {
 public:
  virtual ~Datagram() = default;
  virtual boost::asio::any_io_executor executor() const = 0;
  virtual awaitable<void> sendTo(boost::asio::const_buffer payload, const Endpoint& to) = 0;
  // Receives one datagram (truncated to buf's size) and its source.
  virtual awaitable<std::size_t> receiveFrom(boost::asio::mutable_buffer buf, Endpoint& from) = 0;
  virtual void close() noexcept = 0;
};

// Reads exactly buf.size() bytes; throws OutboundError(Closed) at end of
// stream, naming `what` (e.g. "the SOCKS5 reply").
awaitable<void> readExactly(Stream& s, boost::asio::mutable_buffer buf, const char* what);

// A stream that first returns bytes already read from the underlying stream
// (e.g. after a handshake reply), then reads from it.
std::unique_ptr<Stream> withPrefix(std::unique_ptr<Stream> inner, std::vector<std::uint8_t> prefix);

}  // namespace dae::outbound
