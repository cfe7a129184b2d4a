#include "datapath/Datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>

#include "dae/abi.h"

namespace dae::datapath {
namespace {

std::map<std::string, std::string> globals(const loader::Artifact& a) {
  std::map<std::string, std::string> out;
  for (const auto& kv : a.config.global()) out[kv.key()] = kv.value();
  return out;
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Interfaces without an Ethernet header (tun, wireguard, ppp) get the L3 programs.
bool hasEthernetHeader(const std::string& ifname) {
  std::ifstream in("/sys/class/net/" + ifname + "/type");
  int type = 1;
  in >> type;
  return type == 1 || type == 772;  // ARPHRD_ETHER, ARPHRD_LOOPBACK
}

}  // namespace

DatapathOptions optionsFromConfig(const loader::Artifact& artifact) {
  auto g = globals(artifact);
  DatapathOptions o;
  o.lanInterfaces = splitList(g["lan_interface"]);
  o.wanInterfaces = splitList(g["wan_interface"]);
  o.tproxyPort = static_cast<uint16_t>(std::stoul(g["tproxy_port"].empty() ? "12345" : g["tproxy_port"]));
  o.tproxyPortProtect = g["tproxy_port_protect"] != "false";
  o.soMarkFromDae = static_cast<uint32_t>(std::stoul(g["so_mark_from_dae"].empty() ? "0" : g["so_mark_from_dae"]));
  if (o.soMarkFromDae == 0) o.soMarkFromDae = kDefaultSoMark;
  o.autoConfigKernelParameter = g["auto_config_kernel_parameter"] == "true";
  return o;
}

Datapath::Datapath(const loader::Artifact& artifact, DatapathOptions options) : options_(std::move(options)) {
  for (auto& w : options_.wanInterfaces)
    if (w == "auto") w = defaultRouteInterface();
  for (const auto& i : options_.lanInterfaces) interfaceIndex(i);  // clear error for a missing one
  for (const auto& i : options_.wanInterfaces) interfaceIndex(i);
  if (options_.lanInterfaces.empty() && options_.wanInterfaces.empty())
    throw std::runtime_error("neither lan_interface nor wan_interface is set: nothing to proxy");

  sysctls_ = std::make_unique<SysctlOverride>();
  if (!options_.wanInterfaces.empty()) {
    // The host's own proxied packets come back in on loopback with a local source
    // address; IPv4 drops those as martians unless loopback accepts local sources.
    // Needed for WAN at all, so not subject to auto_config_kernel_parameter.
    sysctls_->set("net/ipv4/conf/lo/accept_local", "1");
  }
  if (options_.autoConfigKernelParameter) {
    if (!options_.lanInterfaces.empty()) {
      sysctls_->set("net/ipv4/ip_forward", "1");
      sysctls_->set("net/ipv6/conf/all/forwarding", "1");
      for (const auto& i : options_.lanInterfaces) sysctls_->set("net/ipv4/conf/" + i + "/send_redirects", "0");
    }
  }

  // Load only the programs this setup attaches: the verifier need not pay for the rest.
  std::vector<std::string> programs;
  bool l2lan = false, l3lan = false, l2wan = false, l3wan = false;
  for (const auto& i : options_.lanInterfaces) (hasEthernetHeader(i) ? l2lan : l3lan) = true;
  for (const auto& i : options_.wanInterfaces) (hasEthernetHeader(i) ? l2wan : l3wan) = true;
  if (l2lan) programs.push_back("dae_lan_ingress");
  if (l3lan) programs.push_back("dae_lan_ingress_l3");
  if (l2wan) programs.push_back("dae_wan_egress");
  if (l3wan) programs.push_back("dae_wan_egress_l3");
  bool wan = !options_.wanInterfaces.empty();
  if (wan) {
    programs.push_back("dae_lo_ingress");
    for (const char* p : {"dae_sock_create", "dae_sock_release", "dae_sock_connect4", "dae_sock_connect6",
                          "dae_sock_sendmsg4", "dae_sock_sendmsg6"})
      programs.emplace_back(p);
  }
  object_ = std::make_unique<loader::BpfObject>(artifact, programs);

  dae_params params{};
  params.tproxy_port = options_.tproxyPort;
  params.so_mark_from_dae = options_.soMarkFromDae;
  params.flags = options_.tproxyPortProtect ? DAE_PARAM_F_PROTECT_TPROXY : 0;
  params.abi_version = DAE_ABI_VERSION;
  params.tproxy_mark = options_.tproxyMark;
  params.lo_ifindex = static_cast<uint32_t>(interfaceIndex("lo"));
  uint32_t zero = 0;
  if (bpf_map_update_elem(object_->mapFd("dae_params"), &zero, &params, BPF_ANY) != 0)
    throw std::runtime_error("cannot write dae_params");

  route_ = std::make_unique<LocalDeliveryRoute>(options_.tproxyMark, options_.routeTable, options_.rulePref);

  auto attach = [&](const std::string& ifname, const char* l2prog, const char* l3prog, TcDirection dir) {
    removeStaleTcFilters(ifname);
    const char* prog = hasEthernetHeader(ifname) ? l2prog : l3prog;
    tc_.push_back(std::make_unique<TcAttachment>(object_->programFd(prog), ifname, dir));
  };
  for (const auto& i : options_.lanInterfaces) attach(i, "dae_lan_ingress", "dae_lan_ingress_l3", TcDirection::Ingress);
  for (const auto& i : options_.wanInterfaces) attach(i, "dae_wan_egress", "dae_wan_egress_l3", TcDirection::Egress);
  if (wan) {
    attach("lo", "dae_lo_ingress", "dae_lo_ingress", TcDirection::Ingress);
    cgroupPath_ = options_.cgroupPath.empty() ? cgroupV2Root() : options_.cgroupPath;
    bpf_program* prog;
    bpf_object__for_each_program(prog, object_->raw()) {
      std::string name = bpf_program__name(prog);
      if (name.rfind("dae_sock_", 0) == 0 && bpf_program__fd(prog) >= 0)
        cgroups_.push_back(std::make_unique<CgroupAttachment>(prog, cgroupPath_));
    }
  }
}

Datapath::~Datapath() {
  // Detach before the policy route goes, so that no packet is steered to nowhere.
  cgroups_.clear();
  tc_.clear();
  route_.reset();
  object_.reset();
  sysctls_.reset();
}

std::vector<std::string> Datapath::describe() const {
  std::vector<std::string> out;
  for (const auto& t : tc_)
    out.push_back("tc " + std::string(t->direction() == TcDirection::Ingress ? "ingress" : "egress") + " on " +
                  t->interface() + (t->usesTcx() ? " (tcx link)" : " (tc filter)"));
  if (!cgroups_.empty()) out.push_back(std::to_string(cgroups_.size()) + " cgroup socket hooks on " + cgroupPath_);
  return out;
}

}  // namespace dae::datapath
