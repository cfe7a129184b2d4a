#include "control/ControlSocket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

namespace dae::control {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

constexpr size_t kMaxRequest = 4096;
constexpr auto kRequestTimeout = std::chrono::seconds(5);

bool isAbstract(const std::string& address) { return !address.empty() && address[0] == '@'; }

// "@name" -> "\0name" (abstract), anything else as is.
std::string socketPath(const std::string& address) {
  if (address.empty()) throw std::runtime_error("empty control socket address");
  std::string path = isAbstract(address) ? std::string(1, '\0') + address.substr(1) : address;
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    throw std::runtime_error("control socket address too long: " + address);
  return path;
}

sockaddr_un unixAddress(const std::string& path, socklen_t& len) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '\0' ? 0 : 1));
  return sun;
}

// True when something accepts connections at a filesystem path.
bool pathAnswers(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  socklen_t len;
  sockaddr_un sun = unixAddress(path, len);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sun), len) == 0;
  close(fd);
  return ok;
}

}  // namespace

struct ControlServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, ControlHandler h) : ex(ex), acceptor(ex), handler(std::move(h)) {}

  asio::any_io_executor ex;
  local::acceptor acceptor;
  ControlHandler handler;
  std::string unlinkPath;  // a filesystem socket we created
  bool closed = false;

  asio::awaitable<void> acceptLoop() {
    auto self = shared_from_this();
    for (;;) {
      boost::system::error_code ec;
      local::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (closed || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("control socket: accept: {}", ec.message());
        continue;
      }
      asio::co_spawn(ex, serve(std::make_shared<local::socket>(std::move(s))), asio::detached);
    }
  }

  static void answer(const std::shared_ptr<local::socket>& s, ControlReply reply) {
    auto text = std::make_shared<std::string>("exit " + std::to_string(reply.exitCode) + "\n" + reply.text);
    asio::async_write(*s, asio::buffer(*text), [s, text](const boost::system::error_code&, size_t) {
      boost::system::error_code ignored;
      s->close(ignored);
    });
  }

  asio::awaitable<void> serve(std::shared_ptr<local::socket> s) {
    auto self = shared_from_this();
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(s->native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
      spdlog::warn("control socket: refused a command from uid {} (only root and uid {} may)", cred.uid, geteuid());
      answer(s, {2, "dae-runtime: error: permission denied\n"});
      co_return;
    }
    asio::steady_timer deadline(ex);
    deadline.expires_after(kRequestTimeout);
    deadline.async_wait([s](const boost::system::error_code& ec) {
      boost::system::error_code ignored;
      if (!ec) s->close(ignored);
    });
    std::string line;
    boost::system::error_code ec;
    size_t n = co_await asio::async_read_until(*s, asio::dynamic_buffer(line, kMaxRequest), '\n',
                                               asio::redirect_error(asio::use_awaitable, ec));
    deadline.cancel();
    if (ec && !(ec == asio::error::eof && !line.empty())) {
      if (ec != asio::error::operation_aborted)
        spdlog::debug("control socket: no request: {}", ec.message());
      co_return;
    }
    std::string command = line.substr(0, n ? n - 1 : line.size());
    while (!command.empty() && (command.back() == '\r' || command.back() == ' ')) command.pop_back();
    spdlog::debug("control socket: '{}' from pid {}", command, cred.pid);
    auto ex = this->ex;
    handler(command, [s, ex](ControlReply reply) {
      asio::post(ex, [s, reply = std::move(reply)]() mutable { answer(s, std::move(reply)); });
    });
  }
};

ControlServer::ControlServer(asio::any_io_executor ex, std::string address, ControlHandler handler)
    : impl_(std::make_shared<Impl>(ex, std::move(handler))), address_(std::move(address)) {
  std::string path = socketPath(address_);
  local::endpoint ep(path);
  impl_->acceptor.open();
  boost::system::error_code ec;
  impl_->acceptor.bind(ep, ec);
  if (ec == asio::error::address_in_use && !isAbstract(address_) && !pathAnswers(path)) {
    ::unlink(path.c_str());  // left behind by an instance that died
    impl_->acceptor.bind(ep, ec);
  }
  if (ec)
    throw std::runtime_error("cannot bind the control socket " + address_ + ": " + ec.message() +
                             (ec == asio::error::address_in_use ? " (another dae-runtime is running here)" : ""));
  if (!isAbstract(address_)) {
    impl_->unlinkPath = path;
    ::chmod(path.c_str(), 0600);
  }
  impl_->acceptor.listen(16);
  asio::co_spawn(ex, impl_->acceptLoop(), asio::detached);
}

ControlServer::~ControlServer() { close(); }

void ControlServer::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  if (!impl_->unlinkPath.empty()) ::unlink(impl_->unlinkPath.c_str());
}

ControlReply sendControlCommand(const std::string& address, const std::string& command,
                                std::chrono::milliseconds timeout) {
  std::string path = socketPath(address);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  socklen_t len;
  sockaddr_un sun = unixAddress(path, len);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sun), len) != 0)
    throw std::runtime_error("no dae-runtime answers on " + address + ": " + std::strerror(errno));
  std::string request = command + "\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
    throw std::runtime_error("cannot send to " + address + ": " + std::strerror(errno));
  shutdown(fd, SHUT_WR);
  std::string response;
  auto until = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no answer from " + address + " within the timeout");
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw std::system_error(errno, std::generic_category(), "poll");
    if (r == 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "receive from " + address);
    if (n == 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  auto nl = response.find('\n');
  if (response.rfind("exit ", 0) != 0 || nl == std::string::npos)
    throw std::runtime_error("malformed answer from " + address);
  ControlReply reply;
  reply.exitCode = std::stoi(response.substr(5, nl - 5));
  reply.text = response.substr(nl + 1);
  return reply;
}

}  // namespace dae::control
