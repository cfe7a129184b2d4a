// Reads the kernel's dae_events ring buffer (struct dae_event: new-flow decisions
// and drops) on the runtime's io_context and hands each event to a callback.
// The kernel only writes events while dae_params has DAE_PARAM_F_EVENTS (the
// runtime sets it at log level debug or trace).
#pragma once
#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dae/abi.h"

namespace dae::control {

class KernelEvents {
 public:
  // `ringFd`: the dae_events map (must stay open while this lives).
  KernelEvents(boost::asio::any_io_executor ex, int ringFd, std::function<void(const dae_event&)> onEvent);
  ~KernelEvents();
  KernelEvents(const KernelEvents&) = delete;
  KernelEvents& operator=(const KernelEvents&) = delete;

  uint64_t count() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "tcp 198.18.0.2:40000 -> 198.18.1.10:80" from a tuple (ports in network order).
std::string formatTuple(const dae_tuple& t);
// One log line for an event; `rule` and `outbound` already resolved by the caller.
std::string formatEvent(const dae_event& e, const std::string& rule, const std::string& outbound);

}  // namespace dae::control
