#include "engine/Upstream.h"

#include <sys/socket.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <system_error>

namespace dae::engine {
namespace {

void setMark(int fd, uint32_t mark) {
  if (mark == 0) return;
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0)
    throw DialError(std::string("cannot set SO_MARK: ") + std::strerror(errno));
}

class SocketStream final : public ByteStream {
 public:
  explicit SocketStream(asio::ip::tcp::socket s) : s_(std::move(s)) {}
  asio::awaitable<size_t> readSome(asio::mutable_buffer buf) override {
    boost::system::error_code ec;
    size_t n = co_await s_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    if (ec && ec != asio::error::eof) throw boost::system::system_error(ec);
    co_return n;
  }
  asio::awaitable<void> writeAll(asio::const_buffer buf) override {
    co_await asio::async_write(s_, buf, asio::use_awaitable);
  }
  asio::awaitable<void> shutdownWrite() override {
    boost::system::error_code ec;
    s_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    co_return;
  }
  void close() override {
    boost::system::error_code ec;
    s_.close(ec);
  }
  asio::ip::tcp::socket* plainSocket() override { return &s_; }

 private:
  asio::ip::tcp::socket s_;
};

class DirectUdp final : public DatagramSession {
 public:
  explicit DirectUdp(asio::ip::udp::socket s) : s_(std::move(s)) {}
  asio::awaitable<void> sendTo(asio::const_buffer buf, const asio::ip::udp::endpoint& to) override {
    asio::ip::udp::endpoint dst = to;
    // An IPv4 destination on an IPv6 socket goes as ::ffff:a.b.c.d.
    if (s_.local_endpoint().address().is_v6() && dst.address().is_v4())
      dst = {asio::ip::make_address_v6(asio::ip::v4_mapped, dst.address().to_v4()), dst.port()};
    co_await s_.async_send_to(buf, dst, asio::use_awaitable);
  }
  asio::awaitable<size_t> receiveFrom(asio::mutable_buffer buf, asio::ip::udp::endpoint& from) override {
    size_t n = co_await s_.async_receive_from(buf, from, asio::use_awaitable);
    if (from.address().is_v6() && from.address().to_v6().is_v4_mapped())
      from = {asio::ip::make_address_v4(asio::ip::v4_mapped, from.address().to_v6()), from.port()};
    co_return n;
  }
  void close() override {
    boost::system::error_code ec;
    s_.close(ec);
  }

 private:
  asio::ip::udp::socket s_;
};

class DirectResolver final : public UpstreamResolver {
 public:
  DirectResolver(asio::any_io_executor ex, uint32_t soMark) : ex_(ex), soMark_(soMark) {}

  asio::awaitable<std::unique_ptr<ByteStream>> connect(const Route& route, const Destination& dst,
                                                       std::string& via) override {
    if (route.outbound != "direct")
      throw DialError("group '" + route.outbound + "' has no usable node in this build (only direct is wired in)");
    via = "direct";
    asio::ip::tcp::endpoint to(dst.address, dst.port);
    auto s = co_await dialDirect(ex_, to, route.mark ? route.mark : soMark_);
    co_return wrapSocket(std::move(s));
  }

  asio::awaitable<std::unique_ptr<DatagramSession>> openUdp(const Route& route, bool ipv6, std::string& via) override {
    if (route.outbound != "direct")
      throw DialError("group '" + route.outbound + "' has no usable node in this build (only direct is wired in)");
    via = "direct";
    co_return std::make_unique<DirectUdp>(openDirectUdp(ex_, ipv6, route.mark ? route.mark : soMark_));
  }

 private:
  asio::any_io_executor ex_;
  uint32_t soMark_;
};

}  // namespace

std::unique_ptr<ByteStream> wrapSocket(asio::ip::tcp::socket socket) {
  return std::make_unique<SocketStream>(std::move(socket));
}

asio::awaitable<asio::ip::tcp::socket> dialDirect(asio::any_io_executor ex, const asio::ip::tcp::endpoint& to,
                                                  uint32_t mark) {
  asio::ip::tcp::socket s(ex);
  s.open(to.protocol());
  setMark(s.native_handle(), mark);
  boost::system::error_code ec;
  co_await s.async_connect(to, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw DialError("connect " + to.address().to_string() + ":" + std::to_string(to.port()) + ": " + ec.message());
  s.set_option(asio::ip::tcp::no_delay(true));
  co_return s;
}

asio::ip::udp::socket openDirectUdp(asio::any_io_executor ex, bool ipv6, uint32_t mark) {
  asio::ip::udp::socket s(ex);
  s.open(ipv6 ? asio::ip::udp::v6() : asio::ip::udp::v4());
  if (ipv6) s.set_option(asio::ip::v6_only(false));
  setMark(s.native_handle(), mark);
  s.bind({ipv6 ? asio::ip::udp::v6() : asio::ip::udp::v4(), 0});
  return s;
}

std::shared_ptr<UpstreamResolver> makeDirectResolver(asio::any_io_executor ex, uint32_t soMark) {
  return std::make_shared<DirectResolver>(ex, soMark);
}

}  // namespace dae::engine
