#include "dns/KernelRoute.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "datapath/Packet.h"
#include "dns/DomainMatcher.h"

namespace dae::dns {

struct KernelRouter::Impl {
  const loader::Artifact& artifact;
  loader::BpfObject object;
  std::optional<DomainMatcher> matcher;

  explicit Impl(const loader::Artifact& a) : artifact(a), object(a, {"dae_wan_egress"}) {
    try {
      matcher.emplace(a.rules);
    } catch (const std::exception& e) {
      spdlog::warn("DNS upstream routing: domain() rules cannot be evaluated ({}); upstream names are not injected",
                   e.what());
    }
  }
};

KernelRouter::KernelRouter(const loader::Artifact& artifact) : impl_(std::make_unique<Impl>(artifact)) {}
KernelRouter::~KernelRouter() = default;

asio::ip::address sourceAddressFor(const asio::ip::address& dst) {
  asio::io_context io;
  asio::ip::udp::socket s(io);
  boost::system::error_code ec;
  s.open(dst.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), ec);
  if (!ec) s.connect({dst, 53}, ec);
  if (!ec) {
    auto local = s.local_endpoint(ec);
    if (!ec) return local.address();
  }
  return dst.is_v4() ? asio::ip::address(asio::ip::address_v4::any()) : asio::ip::address(asio::ip::address_v6::any());
}

FlowRoute KernelRouter::route(uint8_t l4proto, const asio::ip::address& dst, uint16_t port, const std::string& domain) {
  Impl& m = *impl_;
  datapath::Packet p;
  p.l4proto = l4proto;
  p.ipversion = dst.is_v4() ? 4 : 6;
  p.src = sourceAddressFor(dst).to_string();
  p.dst = dst.to_string();
  p.sport = 49152;
  p.dport = port;
  p.tcpFlags = datapath::kTcpSyn;
  p.srcMac = {};
  dae_tuple tuple = datapath::tupleOf(p);

  int domainFd = m.object.mapFd("dae_domain_map");
  bool injected = false;
  if (!domain.empty() && domainFd >= 0 && m.matcher) {
    auto bits = m.matcher->bitmap(domain, std::max<uint32_t>(1, m.artifact.meta.domain_words()));
    bool any = false;
    for (uint32_t w : bits) any |= w != 0;
    if (any) {
      if (bpf_map_update_elem(domainFd, tuple.dip, bits.data(), BPF_ANY) != 0)
        throw std::runtime_error(std::string("cannot write the private dae_domain_map: ") + std::strerror(errno));
      injected = true;
    }
  }
  std::vector<uint8_t> frame = datapath::build(p);
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(), .data_size_in = static_cast<uint32_t>(frame.size()),
              .repeat = 1);
  int err = bpf_prog_test_run_opts(m.object.programFd("dae_wan_egress"), &run);
  int saved = errno;
  if (injected) bpf_map_delete_elem(domainFd, tuple.dip);
  if (err != 0) throw std::runtime_error(std::string("BPF_PROG_TEST_RUN failed: ") + std::strerror(saved));

  dae_ct_key key{};
  key.tuple = tuple;
  key.hook = DAE_HOOK_WAN_EGRESS;
  dae_ct_entry entry{};
  int ctFd = m.object.mapFd("dae_conntrack");
  if (ctFd < 0 || bpf_map_lookup_elem(ctFd, &key, &entry) != 0)
    throw std::runtime_error("the program made no decision for the upstream's packet");
  bpf_map_delete_elem(ctFd, &key);

  FlowRoute r;
  const auto& names = m.artifact.outbounds;
  r.outbound = entry.res.outbound < names.names_size() ? names.names(entry.res.outbound)
                                                       : "#" + std::to_string(entry.res.outbound);
  r.mark = entry.res.mark;
  r.must = entry.res.must != 0;
  r.dns = (entry.flags & DAE_FLOW_F_DNS) != 0;
  uint32_t idx = entry.res.rule_index;
  if (idx < static_cast<uint32_t>(m.artifact.rules.rules_size())) {
    const auto& rule = m.artifact.rules.rules(static_cast<int>(idx));
    r.rule = rule.locations_size() ? rule.locations(0).file() + ":" + std::to_string(rule.locations(0).line())
                                   : "#" + std::to_string(idx);
  } else {
    r.rule = "fallback";
  }
  return r;
}

RouteFn makeKernelRouteFn(const loader::Artifact& artifact) {
  struct State {
    std::mutex mu;
    std::unique_ptr<KernelRouter> router;
    bool failed = false;
  };
  auto st = std::make_shared<State>();
  // A copy: the function may outlive the caller's artifact (a reload replaces it while
  // the old module still finishes its queries).
  auto a = std::make_shared<const loader::Artifact>(artifact);
  return [st, a](uint8_t l4proto, const asio::ip::address& dst, uint16_t port, const std::string& domain) {
    std::lock_guard<std::mutex> lock(st->mu);
    if (!st->router && !st->failed) {
      try {
        st->router = std::make_unique<KernelRouter>(*a);
      } catch (const std::exception& e) {
        st->failed = true;
        spdlog::warn("DNS: cannot load a private copy of the program to route upstream traffic ({}); "
                     "upstreams are dialled direct",
                     e.what());
      }
    }
    if (st->router) {
      try {
        return st->router->route(l4proto, dst, port, domain);
      } catch (const std::exception& e) {
        spdlog::warn("DNS: routing upstream {}:{} with the kernel program failed ({}); dialling direct",
                     dst.to_string(), port, e.what());
      }
    }
    return FlowRoute{};
  };
}

}  // namespace dae::dns
