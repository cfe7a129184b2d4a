// Everything the runtime sets up in the kernel for one rules.o: the loaded
// programs and maps, the load-time parameters, tc attachments on the LAN and WAN
// interfaces (and loopback for the host's own proxied traffic), the cgroup socket
// hooks, the local-delivery policy route and kernel parameters. Destroying it
// undoes all of it.
#pragma once
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
  std::string cgroupPath;  // empty: the cgroup v2 root
  // The mark, table and rule preference of the local-delivery route.
  uint32_t tproxyMark = 0x8000000;
  uint32_t routeTable = 2023;
  uint32_t rulePref = 2023;
};

// The runtime's own sockets carry this mark when the config sets none.
inline constexpr uint32_t kDefaultSoMark = 0x2dae;

// Reads the options from the artifact's global section.
DatapathOptions optionsFromConfig(const loader::Artifact& artifact);

class Datapath {
 public:
  Datapath(const loader::Artifact& artifact, DatapathOptions options);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  const loader::BpfObject& object() const { return *object_; }
  const DatapathOptions& options() const { return options_; }
  // What is attached where, one line each (for logs and `status`).
  std::vector<std::string> describe() const;

 private:
  DatapathOptions options_;
  std::unique_ptr<SysctlOverride> sysctls_;
  std::unique_ptr<loader::BpfObject> object_;
  std::unique_ptr<LocalDeliveryRoute> route_;
  std::vector<std::unique_ptr<TcAttachment>> tc_;
  std::vector<std::unique_ptr<CgroupAttachment>> cgroups_;
  std::string cgroupPath_;
};

}  // namespace dae::datapath
