// Everything the runtime sets up in the kernel for one rules.o: the loaded
// programs and maps, the load-time parameters, tc attachments on the LAN and WAN
// interfaces (and loopback for the host's own proxied traffic), the cgroup socket
// hooks, the local-delivery policy route and kernel parameters. Destroying it
// undoes all of it.
//
// Reload: prepare() loads a new rules.o next to the running program, taking over
// the maps that hold flow state (kStateMaps), and commit() swaps it into every
// attachment in place, so established flows keep their cached decisions and no
// packet ever meets an interface without a program.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datapath/Attach.h"
#include "datapath/Netlink.h"
#include "loader/Loader.h"

namespace dae::datapath {

struct DatapathOptions {
  std::vector<std::string> lanInterfaces;
  std::vector<std::string> wanInterfaces;  // "auto" = the default route's interface
  uint16_t tproxyPort = 12345;
  bool tproxyPortProtect = true;
  uint32_t soMarkFromDae = 0;
  bool autoConfigKernelParameter = false;
  bool kernelEvents = false;  // DAE_PARAM_F_EVENTS: decisions and drops into dae_events
  std::string cgroupPath;  // empty: the cgroup v2 root
  // The mark, table and rule preference of the local-delivery route.
  uint32_t tproxyMark = 0x8000000;
  uint32_t routeTable = 2023;
  uint32_t rulePref = 2023;
};

// The runtime's own sockets carry this mark when the config sets none.
inline constexpr uint32_t kDefaultSoMark = 0x2dae;

// Maps whose contents outlive a program: a reload hands them to the next one.
// dae_domain_map is handed over only while the domain() sets are the same (its
// bits index them); dae_rule_hits and the generated sets belong to one program.
inline constexpr const char* kStateMaps[] = {"dae_conntrack", "dae_routing_result", "dae_sock_pname",
                                             "dae_events"};

// Reads the options from the artifact's global section.
DatapathOptions optionsFromConfig(const loader::Artifact& artifact);

// A new program loaded into the kernel and ready to be swapped in.
struct PreparedProgram {
  std::unique_ptr<loader::BpfObject> object;
  DatapathOptions options;  // "auto" resolved
  uint16_t generation = 0;
  std::string domainSets;  // identity of the domain() sets (serialized)
};

// One attachment as `status` shows it.
struct AttachmentInfo {
  std::string interface;  // or the cgroup path
  std::string hook;       // "ingress", "egress", "cgroup"
  std::string mode;       // "tcx", "tc-filter", "link"
  std::string program;
  uint32_t programId = 0;
};

class Datapath {
 public:
  Datapath(const loader::Artifact& artifact, DatapathOptions options, uint16_t generation = 1);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // Loads `artifact` next to the running program, its state maps taken over from
  // the running one. Touches no attachment, so it may run on another thread while
  // the running program keeps working (the caller runs one prepare/commit at a
  // time). Throws LoadError (verifier, incompatible maps) or std::runtime_error for
  // an option that a reload cannot change (tproxy_port, so_mark_from_dae).
  PreparedProgram prepare(const loader::Artifact& artifact, DatapathOptions options, uint16_t generation) const;
  // Swaps the prepared program in: existing attachments are updated in place,
  // interfaces new in the config attached, ones no longer in it detached. On
  // failure everything is as before and the exception propagates. Returns the
  // previous program's object (close it when nothing refers to it any more).
  std::unique_ptr<loader::BpfObject> commit(PreparedProgram next);

  const loader::BpfObject& object() const { return *object_; }
  const DatapathOptions& options() const { return options_; }
  uint16_t generation() const { return generation_; }
  // Map fds that stay valid across reloads (kStateMaps); -1 if absent.
  int stateMapFd(const std::string& name) const;
  // What is attached where, one line each (for logs).
  std::vector<std::string> describe() const;
  std::vector<AttachmentInfo> attachments() const;

 private:
  struct Want {
    std::string ifname;
    TcDirection dir;
    std::string program;
  };
  static std::vector<Want> wanted(const DatapathOptions& o);
  void writeParams(const loader::BpfObject& object, const DatapathOptions& o, uint16_t generation) const;
  void applySysctls(const DatapathOptions& o);

  DatapathOptions options_;
  uint16_t generation_ = 1;
  std::string domainSets_;
  std::unique_ptr<SysctlOverride> sysctls_;
  std::unique_ptr<loader::BpfObject> object_;
  std::map<std::string, loader::UniqueFd> stateMaps_;
  std::unique_ptr<LocalDeliveryRoute> route_;
  struct Tc {
    std::unique_ptr<TcAttachment> attachment;
    std::string program;
  };
  std::vector<Tc> tc_;
  struct Cgroup {
    std::unique_ptr<CgroupAttachment> attachment;
    std::string program;
    uint32_t programId = 0;
  };
  std::vector<Cgroup> cgroups_;
  std::string cgroupPath_;
};

}  // namespace dae::datapath
