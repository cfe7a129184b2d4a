#include "control/KernelEvents.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace dae::control {
namespace {

namespace asio = boost::asio;

std::string address(const uint32_t a[4]) {
  const auto* b = reinterpret_cast<const uint8_t*>(a);
  static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN];
  if (std::memcmp(b, v4mapped, 12) == 0) {
    inet_ntop(AF_INET, b + 12, text, sizeof text);
    return text;
  }
  inet_ntop(AF_INET6, b, text, sizeof text);
  return std::string("[") + text + "]";
}

const char* actionName(uint8_t a) {
  switch (a) {
    case DAE_ACTION_PASS: return "pass";
    case DAE_ACTION_DROP: return "drop";
    case DAE_ACTION_HANDOFF: return "handoff";
    default: return "?";
  }
}

const char* dropReason(uint8_t r) {
  switch (r) {
    case DAE_DROP_RULE: return "blocked by its rule";
    case DAE_DROP_PROTECT: return "addressed to tproxy_port (tproxy_port_protect)";
    case DAE_DROP_NO_LISTENER: return "no engine socket to hand it to";
    default: return "unknown reason";
  }
}

}  // namespace

struct KernelEvents::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, std::function<void(const dae_event&)> cb) : descriptor(ex), onEvent(std::move(cb)) {}
  ~Impl() {
    // The descriptor is the ring buffer's epoll fd, which ring_buffer__free closes.
    if (descriptor.is_open()) descriptor.release();
    if (rb) ring_buffer__free(rb);
  }

  asio::posix::stream_descriptor descriptor;
  std::function<void(const dae_event&)> onEvent;
  ring_buffer* rb = nullptr;
  uint64_t count = 0;
  bool stopped = false;

  static int sample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(dae_event)) return 0;  // not ours: a different ABI
    dae_event e;
    std::memcpy(&e, data, sizeof e);
    ++self->count;
    self->onEvent(e);
    return 0;
  }

  void wait() {
    descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                            if (ec || self->stopped) return;
                            if (int err = ring_buffer__consume(self->rb); err < 0 && err != -EINTR)
                              spdlog::warn("kernel events: {}", std::strerror(-err));
                            self->wait();
                          });
  }
};

KernelEvents::KernelEvents(asio::any_io_executor ex, int ringFd, std::function<void(const dae_event&)> onEvent)
    : impl_(std::make_shared<Impl>(ex, std::move(onEvent))) {
  impl_->rb = ring_buffer__new(ringFd, &Impl::sample, impl_.get(), nullptr);
  if (!impl_->rb) throw std::system_error(errno, std::generic_category(), "cannot read the dae_events ring buffer");
  impl_->descriptor.assign(ring_buffer__epoll_fd(impl_->rb));
  impl_->wait();
}

KernelEvents::~KernelEvents() { stop(); }

void KernelEvents::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->descriptor.cancel(ec);
}

uint64_t KernelEvents::count() const { return impl_->count; }

std::string formatTuple(const dae_tuple& t) {
  const char* proto = t.l4proto == IPPROTO_TCP ? "tcp" : t.l4proto == IPPROTO_UDP ? "udp" : "l4proto";
  return fmt::format("{} {}:{} -> {}:{}", proto, address(t.sip), ntohs(t.sport), address(t.dip), ntohs(t.dport));
}

std::string formatEvent(const dae_event& e, const std::string& rule, const std::string& outbound) {
  const char* hook = e.hook == DAE_HOOK_WAN_EGRESS ? "wan" : "lan";
  if (e.type == DAE_EVENT_NEW_FLOW) {
    std::string flags;
    if (e.flags & DAE_FLOW_F_DNS) flags += " dns";
    if (e.flags & DAE_FLOW_F_MARK_DIAL) flags += " mark-dial";
    return fmt::format("kernel: new flow {} hook={} rule={} outbound={} mark={:#x} action={}{}", formatTuple(e.tuple),
                       hook, rule, outbound, e.res.mark, actionName(e.action), flags);
  }
  if (e.type == DAE_EVENT_DROP)
    return fmt::format("kernel: dropped {} hook={}: {}", formatTuple(e.tuple), hook, dropReason(e.reason));
  return fmt::format("kernel: event type {} for {}", e.type, formatTuple(e.tuple));
}

}  // namespace dae::control
