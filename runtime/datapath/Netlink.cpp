#include "datapath/Netlink.h"

#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace dae::datapath {
namespace {

// One rtnetlink request with its acknowledgement.
class Rtnl {
 public:
  Rtnl() {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "netlink socket");
  }
  ~Rtnl() { close(fd_); }
  Rtnl(const Rtnl&) = delete;
  Rtnl& operator=(const Rtnl&) = delete;

  // Returns 0 or the kernel's (positive) errno.
  int request(nlmsghdr* msg) {
    msg->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    msg->nlmsg_seq = ++seq_;
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    if (sendto(fd_, msg, msg->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
      throw std::system_error(errno, std::generic_category(), "netlink send");
    char buf[8192];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "netlink receive");
      }
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n)); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_seq != seq_) continue;
        if (h->nlmsg_type == NLMSG_ERROR) return -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
      }
    }
  }

 private:
  int fd_ = -1;
  uint32_t seq_ = 0;
};

struct Message {
  alignas(nlmsghdr) char buf[512] = {};
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf); }
  template <typename T>
  T* body() { return reinterpret_cast<T*>(NLMSG_DATA(hdr())); }
  void attr(uint16_t type, const void* data, size_t len) {
    auto* a = reinterpret_cast<rtattr*>(buf + NLMSG_ALIGN(hdr()->nlmsg_len));
    a->rta_type = type;
    a->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(a), data, len);
    hdr()->nlmsg_len = NLMSG_ALIGN(hdr()->nlmsg_len) + RTA_ALIGN(a->rta_len);
  }
  void u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
};

int ruleRequest(Rtnl& nl, uint16_t type, int family, uint32_t mark, uint32_t table, uint32_t pref) {
  Message m;
  m.hdr()->nlmsg_len = NLMSG_LENGTH(sizeof(fib_rule_hdr));
  m.hdr()->nlmsg_type = type;
  if (type == RTM_NEWRULE) m.hdr()->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* r = m.body<fib_rule_hdr>();
  r->family = static_cast<uint8_t>(family);
  r->action = FR_ACT_TO_TBL;
  r->table = RT_TABLE_UNSPEC;
  m.u32(FRA_FWMARK, mark);
  m.u32(FRA_FWMASK, mark);
  m.u32(FRA_TABLE, table);
  m.u32(FRA_PRIORITY, pref);
  return nl.request(m.hdr());
}

int routeRequest(Rtnl& nl, uint16_t type, int family, uint32_t table) {
  Message m;
  m.hdr()->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  m.hdr()->nlmsg_type = type;
  if (type == RTM_NEWROUTE) m.hdr()->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* r = m.body<rtmsg>();
  r->rtm_family = static_cast<uint8_t>(family);
  r->rtm_dst_len = 0;
  r->rtm_table = RT_TABLE_UNSPEC;
  r->rtm_protocol = RTPROT_BOOT;
  r->rtm_scope = RT_SCOPE_HOST;
  r->rtm_type = RTN_LOCAL;
  m.u32(RTA_TABLE, table);
  m.u32(RTA_OIF, static_cast<uint32_t>(interfaceIndex("lo")));
  return nl.request(m.hdr());
}

}  // namespace

int interfaceIndex(const std::string& name) {
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) throw std::runtime_error("no network interface named '" + name + "' in this network namespace");
  return static_cast<int>(idx);
}

void LocalDeliveryRoute::removeStale(uint32_t mark, uint32_t table, uint32_t pref) {
  Rtnl nl;
  for (int family : {AF_INET, AF_INET6}) {
    while (ruleRequest(nl, RTM_DELRULE, family, mark, table, pref) == 0) {
    }
    routeRequest(nl, RTM_DELROUTE, family, table);
  }
}

LocalDeliveryRoute::LocalDeliveryRoute(uint32_t mark, uint32_t table, uint32_t pref)
    : mark_(mark), table_(table), pref_(pref) {
  removeStale(mark, table, pref);
  Rtnl nl;
  for (int family : {AF_INET, AF_INET6}) {
    if (int err = routeRequest(nl, RTM_NEWROUTE, family, table); err)
      throw std::system_error(err, std::generic_category(),
                              std::string("cannot add the local route to table ") + std::to_string(table) +
                                  (family == AF_INET ? " (IPv4)" : " (IPv6)"));
    if (int err = ruleRequest(nl, RTM_NEWRULE, family, mark, table, pref); err)
      throw std::system_error(err, std::generic_category(), "cannot add the fwmark rule for the tproxy mark");
  }
}

LocalDeliveryRoute::~LocalDeliveryRoute() {
  try {
    removeStale(mark_, table_, pref_);
  } catch (const std::exception&) {
    // The namespace may be gone already; nothing else to undo.
  }
}

void SysctlOverride::set(const std::string& path, const std::string& value) {
  std::string full = "/proc/sys/" + path;
  std::string old;
  {
    std::ifstream in(full);
    if (!in) throw std::runtime_error("cannot read " + full + ": " + std::strerror(errno));
    std::getline(in, old);
  }
  if (old == value) return;
  std::ofstream out(full);
  out << value << '\n';
  out.flush();
  if (!out) throw std::runtime_error("cannot write " + full + ": " + std::strerror(errno));
  saved_.emplace_back(full, old);
}

SysctlOverride::~SysctlOverride() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
    std::ofstream out(it->first);
    out << it->second << '\n';
  }
}

std::string defaultRouteInterface() {
  std::ifstream v4("/proc/net/route");
  std::string line;
  std::getline(v4, line);  // header
  while (std::getline(v4, line)) {
    std::istringstream f(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    f >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask;
    if (dest == "00000000" && mask == "00000000") return iface;
  }
  std::ifstream v6("/proc/net/ipv6_route");
  while (std::getline(v6, line)) {
    std::istringstream f(line);
    std::string dest, dlen, src, slen, next, metric, ref, use, flags, iface;
    f >> dest >> dlen >> src >> slen >> next >> metric >> ref >> use >> flags >> iface;
    if (dest == std::string(32, '0') && dlen == "00" && iface != "lo") return iface;
  }
  throw std::runtime_error("wan_interface is 'auto' but this network namespace has no default route");
}

}  // namespace dae::datapath
