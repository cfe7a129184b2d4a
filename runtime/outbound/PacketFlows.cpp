#include "outbound/PacketFlows.h"

#include <utility>  // before Boost.Asio 1.74 headers (std::exchange)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <deque>
#include <map>
#include <spdlog/spdlog.h>

#include "outbound/Error.h"

namespace dae::outbound {

namespace asio = boost::asio;

namespace {

struct FlowEntry {
  std::shared_ptr<PacketFlow> flow;
  std::uint64_t lastUse = 0;
};

struct SessionState {
  explicit SessionState(asio::any_io_executor e) : ex(e), notify(e) {}
  asio::any_io_executor ex;
  PacketFlowFactory factory;
  std::size_t maxFlows = 64, queueLimit = 256;
  std::map<std::string, FlowEntry> flows;  // by destination "host:port"
  std::deque<std::pair<Endpoint, std::vector<std::uint8_t>>> queue;
  asio::steady_timer notify;  // cancelled to wake a waiting receiveFrom
  bool closed = false;
  std::uint64_t tick = 0;
};

// Moves the replies of one flow into the session's queue until it ends.
awaitable<void> pumpFlow(std::shared_ptr<SessionState> st, std::string key, Endpoint from,
                         std::shared_ptr<PacketFlow> flow) {
  std::vector<std::uint8_t> packet;
  try {
    while (!st->closed) {
      bool more = co_await flow->receive(packet);
      if (!more) break;
      if (st->queue.size() >= st->queueLimit) {
        spdlog::debug("udp session: queue full, dropped a packet from {}", key);
        continue;
      }
      st->queue.emplace_back(from, std::move(packet));
      packet = {};
      st->notify.cancel();
    }
  } catch (const std::exception& e) {
    if (!st->closed) spdlog::debug("udp session: flow to {} ended: {}", key, e.what());
  }
  auto it = st->flows.find(key);
  if (it != st->flows.end() && it->second.flow == flow) st->flows.erase(it);
}

class PerDestinationDatagram final : public Datagram {
 public:
  explicit PerDestinationDatagram(std::shared_ptr<SessionState> st) : st_(std::move(st)) {}
  ~PerDestinationDatagram() override { close(); }
  asio::any_io_executor executor() const override { return st_->ex; }

  awaitable<void> sendTo(asio::const_buffer payload, const Endpoint& to) override {
    if (st_->closed) fail(Errc::Closed, "UDP session is closed");
    std::string key = to.toString();
    auto it = st_->flows.find(key);
    std::shared_ptr<PacketFlow> flow;
    if (it != st_->flows.end()) {
      flow = it->second.flow;
      it->second.lastUse = ++st_->tick;
    } else {
      if (st_->flows.size() >= st_->maxFlows) evictOldest();
      flow = std::shared_ptr<PacketFlow>(co_await st_->factory(to));
      if (st_->closed) {
        flow->close();
        fail(Errc::Closed, "UDP session closed while opening a flow");
      }
      st_->flows[key] = FlowEntry{flow, ++st_->tick};
      asio::co_spawn(st_->ex, pumpFlow(st_, key, to, flow), asio::detached);
    }
    co_await flow->send(payload);
  }

  awaitable<std::size_t> receiveFrom(asio::mutable_buffer buf, Endpoint& from) override {
    while (st_->queue.empty()) {
      if (st_->closed) throw boost::system::system_error(asio::error::operation_aborted, "UDP session closed");
      st_->notify.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await st_->notify.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    auto& [src, packet] = st_->queue.front();
    std::size_t n = std::min(buf.size(), packet.size());
    std::memcpy(buf.data(), packet.data(), n);
    from = src;
    st_->queue.pop_front();
    co_return n;
  }

  void close() noexcept override {
    if (st_->closed) return;
    st_->closed = true;
    for (auto& [key, entry] : st_->flows) entry.flow->close();
    st_->flows.clear();
    st_->notify.cancel();
  }

 private:
  void evictOldest() {
    auto oldest = st_->flows.begin();
    for (auto it = st_->flows.begin(); it != st_->flows.end(); ++it)
      if (it->second.lastUse < oldest->second.lastUse) oldest = it;
    oldest->second.flow->close();
    st_->flows.erase(oldest);
  }

  std::shared_ptr<SessionState> st_;
};

}  // namespace

std::unique_ptr<Datagram> makePerDestinationDatagram(asio::any_io_executor ex, PacketFlowFactory factory,
                                                     std::size_t maxFlows, std::size_t queueLimit) {
  auto st = std::make_shared<SessionState>(ex);
  st->factory = std::move(factory);
  st->maxFlows = std::max<std::size_t>(1, maxFlows);
  st->queueLimit = std::max<std::size_t>(1, queueLimit);
  return std::make_unique<PerDestinationDatagram>(std::move(st));
}

}  // namespace dae::outbound
