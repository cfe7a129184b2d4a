#include "engine/Relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <system_error>

namespace dae::engine {
namespace {

// Runs two coroutines at once and waits for both (Boost 1.74 has no awaitable
// operators yet).
asio::awaitable<std::pair<uint64_t, uint64_t>> both(asio::awaitable<uint64_t> a, asio::awaitable<uint64_t> b) {
  auto ex = co_await asio::this_coro::executor;
  struct State {
    explicit State(asio::any_io_executor ex) : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    bool done = false;
    uint64_t value = 0;
  };
  auto state = std::make_shared<State>(ex);
  asio::co_spawn(ex, std::move(a), [state](std::exception_ptr, uint64_t v) {
    state->value = v;
    state->done = true;
    state->timer.cancel();
  });
  uint64_t second = co_await std::move(b);
  if (!state->done) {
    boost::system::error_code ec;
    co_await state->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::make_pair(state->value, second);
}

class Pipe {
 public:
  Pipe() {
    if (pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    fcntl(fds_[1], F_SETPIPE_SZ, 1 << 18);
  }
  ~Pipe() {
    close(fds_[0]);
    close(fds_[1]);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int read() const { return fds_[0]; }
  int write() const { return fds_[1]; }

 private:
  int fds_[2];
};

// One direction with splice(2): socket -> pipe -> socket.
asio::awaitable<uint64_t> spliceOneWay(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to) {
  Pipe pipe;
  uint64_t total = 0;
  boost::system::error_code ec;
  for (;;) {
    ssize_t n = splice(from.native_handle(), nullptr, pipe.write(), nullptr, 1 << 18, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
      if (errno == EAGAIN) {
        co_await from.async_wait(asio::ip::tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        continue;
      }
      break;
    }
    if (n == 0) break;  // end of stream
    ssize_t left = n;
    while (left > 0) {
      ssize_t m = splice(pipe.read(), nullptr, to.native_handle(), nullptr, static_cast<size_t>(left),
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m < 0 && errno == EAGAIN) {
        co_await to.async_wait(asio::ip::tcp::socket::wait_write, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return total;
        continue;
      }
      if (m <= 0) co_return total;
      left -= m;
    }
    total += static_cast<uint64_t>(n);
  }
  to.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  co_return total;
}

asio::awaitable<uint64_t> clientToUpstream(asio::ip::tcp::socket& client, ByteStream& up) {
  std::vector<char> buf(64 * 1024);
  uint64_t total = 0;
  try {
    for (;;) {
      boost::system::error_code ec;
      size_t n = co_await client.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec || n == 0) break;
      co_await up.writeAll(asio::buffer(buf.data(), n));
      total += n;
    }
    co_await up.shutdownWrite();
  } catch (const std::exception&) {
    // The other direction sees the failure too and ends the relay; counting stops here.
  }
  co_return total;
}

asio::awaitable<uint64_t> upstreamToClient(ByteStream& up, asio::ip::tcp::socket& client) {
  std::vector<char> buf(64 * 1024);
  uint64_t total = 0;
  boost::system::error_code ec;
  try {
    for (;;) {
      size_t n = co_await up.readSome(asio::buffer(buf));
      if (n == 0) break;
      co_await asio::async_write(client, asio::buffer(buf.data(), n), asio::use_awaitable);
      total += n;
    }
  } catch (const std::exception&) {
    // A broken upstream ends this direction like an end of stream would.
  }
  client.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  co_return total;
}

}  // namespace

asio::awaitable<RelayStats> relay(asio::ip::tcp::socket& client, ByteStream& upstream) {
  RelayStats stats;
  if (asio::ip::tcp::socket* plain = upstream.plainSocket()) {
    stats.spliced = true;
    // splice(2) honours the socket's own O_NONBLOCK, not SPLICE_F_NONBLOCK: a socket
    // asio has not used yet may still be blocking, and one blocked splice would
    // stall every flow of this thread.
    client.non_blocking(true);
    plain->non_blocking(true);
    auto forward = spliceOneWay(client, *plain);
    auto backward = spliceOneWay(*plain, client);
    auto [up, down] = co_await both(std::move(forward), std::move(backward));
    stats.up = up;
    stats.down = down;
  } else {
    auto forward = clientToUpstream(client, upstream);
    auto backward = upstreamToClient(upstream, client);
    auto [up, down] = co_await both(std::move(forward), std::move(backward));
    stats.up = up;
    stats.down = down;
  }
  co_return stats;
}

}  // namespace dae::engine
