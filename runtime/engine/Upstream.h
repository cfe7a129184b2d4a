// How the engine reaches a flow's destination: the outbound the kernel chose
// (direct, or a group) turned into a connected byte stream or a datagram session.
// Direct is built in; groups resolve to nodes through the outbound library.
#pragma once
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace dae::engine {

namespace asio = boost::asio;

// Where a flow goes: its original destination, and the domain if one is known.
struct Destination {
  asio::ip::address address;
  uint16_t port = 0;
  std::string domain;
};

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual asio::awaitable<size_t> readSome(asio::mutable_buffer buf) = 0;  // 0 at end of stream
  virtual asio::awaitable<void> writeAll(asio::const_buffer buf) = 0;
  virtual asio::awaitable<void> shutdownWrite() = 0;
  virtual void close() = 0;
  // The socket itself when this stream is a plain TCP socket (lets the relay splice).
  virtual asio::ip::tcp::socket* plainSocket() { return nullptr; }
};

class DatagramSession {
 public:
  virtual ~DatagramSession() = default;
  virtual asio::awaitable<void> sendTo(asio::const_buffer buf, const asio::ip::udp::endpoint& to) = 0;
  virtual asio::awaitable<size_t> receiveFrom(asio::mutable_buffer buf, asio::ip::udp::endpoint& from) = 0;
  virtual void close() = 0;
};

// A dial that failed: the message is one log line's worth.
class DialError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The kernel's decision for a flow, as the engine needs it.
struct Route {
  std::string outbound;  // "direct", "block" or a group name
  uint32_t mark = 0;     // direct(mark: N)
  bool dns = false;      // a DNS query handed to the DNS module
  uint16_t rule = 0;        // index into the deciding program's rule table
  uint16_t generation = 0;  // which program decided (dae_flow_info.generation; reloads)
};

class UpstreamResolver {
 public:
  virtual ~UpstreamResolver() = default;
  // Throws DialError.
  virtual asio::awaitable<std::unique_ptr<ByteStream>> connect(const Route& route, const Destination& dst,
                                                               std::string& via) = 0;
  virtual asio::awaitable<std::unique_ptr<DatagramSession>> openUdp(const Route& route, bool ipv6,
                                                                    std::string& via) = 0;
};

// Direct only: every route is dialled directly with SO_MARK (the engine's own mark,
// or the rule's mark). Groups fail with a DialError until nodes are wired in.
std::shared_ptr<UpstreamResolver> makeDirectResolver(asio::any_io_executor ex, uint32_t soMark);

// A plain TCP socket as a ByteStream.
std::unique_ptr<ByteStream> wrapSocket(asio::ip::tcp::socket socket);

// A connected TCP socket with SO_MARK set before connecting.
asio::awaitable<asio::ip::tcp::socket> dialDirect(asio::any_io_executor ex, const asio::ip::tcp::endpoint& to,
                                                  uint32_t mark);
// An unconnected UDP socket with SO_MARK, bound to an ephemeral port.
asio::ip::udp::socket openDirectUdp(asio::any_io_executor ex, bool ipv6, uint32_t mark);

}  // namespace dae::engine
