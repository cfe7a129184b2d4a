// Timeouts for dial phases: a Deadline runs a callback (typically closing the
// stream being set up) when it expires, so that every pending operation fails;
// underDeadline() then reports such a failure as Errc::Timeout.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "outbound/Error.h"
#include "outbound/Stream.h"

namespace dae::outbound {

class Deadline {
 public:
  Deadline(boost::asio::any_io_executor ex, std::chrono::milliseconds duration, std::function<void()> onExpire)
      : state_(std::make_shared<State>(ex)) {
    state_->onExpire = std::move(onExpire);
    state_->timer.expires_after(duration);
    state_->timer.async_wait([st = state_](const boost::system::error_code& ec) {
      if (ec || st->cancelled) return;
      st->expired = true;
      auto f = std::move(st->onExpire);
      if (f) f();
    });
  }
  ~Deadline() {
    state_->cancelled = true;
    state_->onExpire = nullptr;
    state_->timer.cancel();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  bool expired() const noexcept { return state_->expired; }

 private:
  struct State {
    explicit State(boost::asio::any_io_executor ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    std::function<void()> onExpire;
    bool expired = false;
    bool cancelled = false;
  };
  std::shared_ptr<State> state_;
};

// Awaits op; if it fails after the deadline expired, throws Errc::Timeout
// naming `what` instead of the (secondary) error of the closed stream.
template <typename T>
awaitable<T> underDeadline(awaitable<T> op, const Deadline& deadline, std::string what) {
  std::exception_ptr failure;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(op);
      co_return;
    } else {
      co_return co_await std::move(op);
    }
  } catch (const std::exception&) {
    failure = std::current_exception();
  }
  if (deadline.expired()) throw OutboundError(Errc::Timeout, what + " timed out");
  std::rethrow_exception(failure);
}

}  // namespace dae::outbound
