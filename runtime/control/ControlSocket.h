// The control socket of a running dae-runtime: `dae-runtime reload` and
// `dae-runtime status` talk to the instance through it.
//
// Address: a unix stream socket. "@NAME" is an abstract socket, which belongs to
// the network namespace: one instance per namespace, found by `ip netns exec NS
// dae-runtime status` without any shared path (the default, "@dae-runtime"). Any
// other address is a filesystem path (created 0600; a stale one left by a killed
// instance is replaced).
//
// Protocol, one request per connection: the client sends one line, the command
// ("reload", "status", "metrics"); the server answers "exit N\n" followed by the
// text to print, and closes. N is the exit status the client should end with.
// Only root and the runtime's own user may send commands (SO_PEERCRED).
#pragma once
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace dae::control {

inline constexpr const char* kDefaultControlAddress = "@dae-runtime";

// What a command answers: the client's exit status and the text it prints.
struct ControlReply {
  int exitCode = 0;
  std::string text;
};

// Called on the server's executor with the command line; answers through
// `reply`, at once or later (a reload answers when it is done). `reply` may be
// called once.
using ControlHandler = std::function<void(const std::string& command, std::function<void(ControlReply)> reply)>;

class ControlServer {
 public:
  // Binds and listens; throws std::runtime_error naming the address (e.g. another
  // instance already holds it).
  ControlServer(boost::asio::any_io_executor ex, std::string address, ControlHandler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& address() const { return address_; }
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::string address_;
};

// Sends one command to the instance at `address` and waits for its reply (blocking;
// for the command line). Throws std::runtime_error when nothing answers.
ControlReply sendControlCommand(const std::string& address, const std::string& command,
                                std::chrono::milliseconds timeout);

}  // namespace dae::control
