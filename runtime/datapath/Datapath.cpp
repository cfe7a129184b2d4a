#include "datapath/Datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "artifact.pb.h"
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

// The domain() sets a program's dae_domain_map bits stand for: two programs can
// share the map only when these are equal.
std::string domainSetsIdentity(const loader::Artifact& a) {
  artifact::RuleTable t;
  *t.mutable_domain_sets() = a.rules.domain_sets();
  return std::to_string(a.meta.domain_words()) + ":" + t.SerializeAsString();
}

void resolveAuto(DatapathOptions& o) {
  for (auto& w : o.wanInterfaces)
    if (w == "auto") w = defaultRouteInterface();
  for (const auto& i : o.lanInterfaces) interfaceIndex(i);  // clear error for a missing one
  for (const auto& i : o.wanInterfaces) interfaceIndex(i);
  if (o.lanInterfaces.empty() && o.wanInterfaces.empty())
    throw std::runtime_error("neither lan_interface nor wan_interface is set: nothing to proxy");
}

const char* kCgroupPrograms[] = {"dae_sock_create",   "dae_sock_release",  "dae_sock_connect4",
                                 "dae_sock_connect6", "dae_sock_sendmsg4", "dae_sock_sendmsg6"};

// The programs a setup attaches: only these are loaded (the verifier need not pay
// for the rest).
std::vector<std::string> programsFor(const DatapathOptions& o) {
  std::vector<std::string> programs;
  bool l2lan = false, l3lan = false, l2wan = false, l3wan = false;
  for (const auto& i : o.lanInterfaces) (hasEthernetHeader(i) ? l2lan : l3lan) = true;
  for (const auto& i : o.wanInterfaces) (hasEthernetHeader(i) ? l2wan : l3wan) = true;
  if (l2lan) programs.push_back("dae_lan_ingress");
  if (l3lan) programs.push_back("dae_lan_ingress_l3");
  if (l2wan) programs.push_back("dae_wan_egress");
  if (l3wan) programs.push_back("dae_wan_egress_l3");
  if (!o.wanInterfaces.empty()) {
    programs.push_back("dae_lo_ingress");
    for (const char* p : kCgroupPrograms) programs.emplace_back(p);
  }
  return programs;
}

uint32_t programIdOf(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
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
  o.kernelEvents = g["log_level"] == "debug" || g["log_level"] == "trace";
  return o;
}

Datapath::Datapath(const loader::Artifact& artifact, DatapathOptions options, uint16_t generation)
    : options_(std::move(options)), generation_(generation), domainSets_(domainSetsIdentity(artifact)) {
  resolveAuto(options_);
  sysctls_ = std::make_unique<SysctlOverride>();
  applySysctls(options_);

  object_ = std::make_unique<loader::BpfObject>(artifact, programsFor(options_));
  for (const char* name : kStateMaps)
    if (object_->mapFd(name) >= 0) stateMaps_.emplace(name, object_->dupMap(name));
  writeParams(*object_, options_, generation_);

  route_ = std::make_unique<LocalDeliveryRoute>(options_.tproxyMark, options_.routeTable, options_.rulePref);

  for (const auto& w : wanted(options_)) {
    removeStaleTcFilters(w.ifname);
    tc_.push_back({std::make_unique<TcAttachment>(object_->programFd(w.program), w.ifname, w.dir), w.program});
  }
  if (!options_.wanInterfaces.empty()) {
    cgroupPath_ = options_.cgroupPath.empty() ? cgroupV2Root() : options_.cgroupPath;
    for (const char* name : kCgroupPrograms) {
      bpf_program* prog = bpf_object__find_program_by_name(object_->raw(), name);
      if (!prog || bpf_program__fd(prog) < 0) continue;
      cgroups_.push_back({std::make_unique<CgroupAttachment>(prog, cgroupPath_), name, programIdOf(bpf_program__fd(prog))});
    }
  }
}

Datapath::~Datapath() {
  // Detach before the policy route goes, so that no packet is steered to nowhere.
  cgroups_.clear();
  tc_.clear();
  route_.reset();
  object_.reset();
  stateMaps_.clear();
  sysctls_.reset();
}

// Interfaces without an Ethernet header get the _l3 variants; loopback carries the
// host's own proxied packets back in when any WAN interface is used.
std::vector<Datapath::Want> Datapath::wanted(const DatapathOptions& o) {
  std::vector<Want> out;
  for (const auto& i : o.lanInterfaces)
    out.push_back({i, TcDirection::Ingress, hasEthernetHeader(i) ? "dae_lan_ingress" : "dae_lan_ingress_l3"});
  for (const auto& i : o.wanInterfaces)
    out.push_back({i, TcDirection::Egress, hasEthernetHeader(i) ? "dae_wan_egress" : "dae_wan_egress_l3"});
  if (!o.wanInterfaces.empty()) out.push_back({"lo", TcDirection::Ingress, "dae_lo_ingress"});
  return out;
}

void Datapath::applySysctls(const DatapathOptions& o) {
  if (!o.wanInterfaces.empty()) {
    // The host's own proxied packets come back in on loopback with a local source
    // address; IPv4 drops those as martians unless loopback accepts local sources.
    // Needed for WAN at all, so not subject to auto_config_kernel_parameter.
    sysctls_->set("net/ipv4/conf/lo/accept_local", "1");
  }
  if (o.autoConfigKernelParameter && !o.lanInterfaces.empty()) {
    sysctls_->set("net/ipv4/ip_forward", "1");
    sysctls_->set("net/ipv6/conf/all/forwarding", "1");
    for (const auto& i : o.lanInterfaces) sysctls_->set("net/ipv4/conf/" + i + "/send_redirects", "0");
  }
}

void Datapath::writeParams(const loader::BpfObject& object, const DatapathOptions& o, uint16_t generation) const {
  dae_params params{};
  params.tproxy_port = o.tproxyPort;
  params.so_mark_from_dae = o.soMarkFromDae;
  params.flags = (o.tproxyPortProtect ? DAE_PARAM_F_PROTECT_TPROXY : 0) | (o.kernelEvents ? DAE_PARAM_F_EVENTS : 0);
  params.abi_version = DAE_ABI_VERSION;
  params.tproxy_mark = o.tproxyMark;
  params.lo_ifindex = static_cast<uint32_t>(interfaceIndex("lo"));
  params.generation = generation;
  uint32_t zero = 0;
  if (bpf_map_update_elem(object.mapFd("dae_params"), &zero, &params, BPF_ANY) != 0)
    throw std::runtime_error(std::string("cannot write dae_params: ") + std::strerror(errno));
}

PreparedProgram Datapath::prepare(const loader::Artifact& artifact, DatapathOptions options,
                                  uint16_t generation) const {
  resolveAuto(options);
  auto refuse = [](const std::string& what, const std::string& from, const std::string& to) {
    throw std::runtime_error("a reload cannot change " + what + " (" + from + " -> " + to +
                             "): restart dae-runtime for that");
  };
  if (options.tproxyPort != options_.tproxyPort)
    refuse("tproxy_port", std::to_string(options_.tproxyPort), std::to_string(options.tproxyPort));
  if (options.soMarkFromDae != options_.soMarkFromDae)
    refuse("so_mark_from_dae", std::to_string(options_.soMarkFromDae), std::to_string(options.soMarkFromDae));

  PreparedProgram next;
  next.options = std::move(options);
  next.generation = generation;
  next.domainSets = domainSetsIdentity(artifact);
  loader::MapReuse reuse;
  for (const auto& [name, fd] : stateMaps_) reuse[name] = fd.get();
  // Bits of dae_domain_map index the domain() sets: keep the answers only while
  // they mean the same (otherwise the DNS module fills the new map).
  if (next.domainSets == domainSets_ && object_->mapFd("dae_domain_map") >= 0)
    reuse["dae_domain_map"] = object_->mapFd("dae_domain_map");
  next.object = std::make_unique<loader::BpfObject>(artifact, programsFor(next.options), reuse);
  writeParams(*next.object, next.options, generation);
  return next;
}

std::unique_ptr<loader::BpfObject> Datapath::commit(PreparedProgram next) {
  const loader::BpfObject& obj = *next.object;
  std::vector<Want> want = wanted(next.options);
  auto same = [](const Want& w, const TcAttachment& a) { return w.ifname == a.interface() && w.dir == a.direction(); };

  // 1. Interfaces new in the config: attach the new program. Nothing else has
  // changed yet, so a failure here only undoes these.
  std::vector<Tc> added;
  for (const auto& w : want) {
    bool exists = std::any_of(tc_.begin(), tc_.end(), [&](const Tc& t) { return same(w, *t.attachment); });
    if (exists) continue;
    removeStaleTcFilters(w.ifname);
    added.push_back({std::make_unique<TcAttachment>(obj.programFd(w.program), w.ifname, w.dir), w.program});
  }
  std::vector<Cgroup> addedCgroups;
  std::string cgroupPath = cgroupPath_;
  if (!next.options.wanInterfaces.empty() && cgroups_.empty()) {
    if (cgroupPath.empty()) cgroupPath = next.options.cgroupPath.empty() ? cgroupV2Root() : next.options.cgroupPath;
    for (const char* name : kCgroupPrograms) {
      bpf_program* prog = bpf_object__find_program_by_name(obj.raw(), name);
      if (!prog || bpf_program__fd(prog) < 0) continue;
      addedCgroups.push_back({std::make_unique<CgroupAttachment>(prog, cgroupPath), name,
                              programIdOf(bpf_program__fd(prog))});
    }
  }

  // 2. Interfaces in both: swap the program in place; undo the swaps done so far
  // if one fails (the old object is still loaded).
  std::vector<std::pair<Tc*, std::string>> swapped;  // attachment, its old program
  auto undo = [&]() {
    for (auto& [t, oldProgram] : swapped) {
      try {
        t->attachment->replaceProgram(object_->programFd(oldProgram));
        t->program = oldProgram;
      } catch (const std::exception& e) {
        spdlog::error("reload: cannot put the old program back on {}: {}", t->attachment->interface(), e.what());
      }
    }
  };
  try {
    for (auto& t : tc_) {
      auto w = std::find_if(want.begin(), want.end(), [&](const Want& w) { return same(w, *t.attachment); });
      if (w == want.end()) continue;
      t.attachment->replaceProgram(obj.programFd(w->program));
      swapped.emplace_back(&t, t.program);
      t.program = w->program;
    }
    if (!next.options.wanInterfaces.empty()) {
      for (auto& c : cgroups_) {
        bpf_program* prog = bpf_object__find_program_by_name(obj.raw(), c.program.c_str());
        if (!prog || bpf_program__fd(prog) < 0) throw std::runtime_error("the new program lacks " + c.program);
        c.attachment->replaceProgram(prog);
        c.programId = programIdOf(bpf_program__fd(prog));
      }
    }
  } catch (...) {
    // Cgroup links swapped before the failure keep the new hooks: they only record
    // process names into the shared dae_sock_pname, identically in both programs.
    undo();
    throw;
  }

  // 3. Interfaces no longer in the config: detach. The swap is complete.
  std::erase_if(tc_, [&](const Tc& t) {
    return std::none_of(want.begin(), want.end(), [&](const Want& w) { return same(w, *t.attachment); });
  });
  for (auto& t : added) tc_.push_back(std::move(t));
  if (next.options.wanInterfaces.empty()) {
    cgroups_.clear();
  } else {
    for (auto& c : addedCgroups) cgroups_.push_back(std::move(c));
    cgroupPath_ = cgroupPath;
  }
  try {
    applySysctls(next.options);
  } catch (const std::exception& e) {
    spdlog::warn("reload: {}", e.what());
  }

  std::unique_ptr<loader::BpfObject> previous = std::move(object_);
  object_ = std::move(next.object);
  options_ = std::move(next.options);
  generation_ = next.generation;
  domainSets_ = std::move(next.domainSets);
  return previous;
}

int Datapath::stateMapFd(const std::string& name) const {
  auto it = stateMaps_.find(name);
  return it == stateMaps_.end() ? -1 : it->second.get();
}

std::vector<AttachmentInfo> Datapath::attachments() const {
  std::vector<AttachmentInfo> out;
  for (const auto& t : tc_)
    out.push_back({t.attachment->interface(), t.attachment->direction() == TcDirection::Ingress ? "ingress" : "egress",
                   t.attachment->usesTcx() ? "tcx" : "tc-filter", t.program, t.attachment->programId()});
  for (const auto& c : cgroups_) out.push_back({cgroupPath_, "cgroup", "link", c.program, c.programId});
  return out;
}

std::vector<std::string> Datapath::describe() const {
  std::vector<std::string> out;
  for (const auto& t : tc_)
    out.push_back("tc " + std::string(t.attachment->direction() == TcDirection::Ingress ? "ingress" : "egress") +
                  " on " + t.attachment->interface() + (t.attachment->usesTcx() ? " (tcx link)" : " (tc filter)"));
  if (!cgroups_.empty()) out.push_back(std::to_string(cgroups_.size()) + " cgroup socket hooks on " + cgroupPath_);
  return out;
}

}  // namespace dae::datapath
