// The kernel settings the datapath needs besides BPF: the policy route that
// delivers steered packets locally, kernel parameters, the default-route
// interface. Talks rtnetlink directly (no `ip` process). Acts on the network
// namespace the runtime runs in.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dae::datapath {

// `ip rule add fwmark MARK/MARK lookup TABLE pref PREF` and `ip route add local
// default dev lo table TABLE`, for IPv4 and IPv6. Removes them again when destroyed;
// install() first removes what a dead instance may have left.
class LocalDeliveryRoute {
 public:
  LocalDeliveryRoute(uint32_t mark, uint32_t table, uint32_t pref);
  ~LocalDeliveryRoute();
  LocalDeliveryRoute(const LocalDeliveryRoute&) = delete;
  LocalDeliveryRoute& operator=(const LocalDeliveryRoute&) = delete;

  static void removeStale(uint32_t mark, uint32_t table, uint32_t pref);

 private:
  uint32_t mark_, table_, pref_;
};

// Sets /proc/sys values and restores the old ones when destroyed.
class SysctlOverride {
 public:
  SysctlOverride() = default;
  ~SysctlOverride();
  SysctlOverride(const SysctlOverride&) = delete;
  SysctlOverride& operator=(const SysctlOverride&) = delete;
  // path relative to /proc/sys, e.g. "net/ipv4/ip_forward".
  void set(const std::string& path, const std::string& value);

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

// The interface of the default route (IPv4 first, then IPv6); throws if none.
std::string defaultRouteInterface();
// if_nametoindex with a clear error.
int interfaceIndex(const std::string& name);

}  // namespace dae::datapath
