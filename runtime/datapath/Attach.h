// Attaching the loaded programs: tc on interfaces (tcx links, or classic tc
// filters on kernels without tcx) and cgroup socket hooks. Every attachment is an
// RAII object: destroying it detaches. tcx and cgroup links are also released by
// the kernel when the process dies, so a SIGKILL leaves nothing attached;
// classic filters are found and removed by the next start (removeStaleTcFilters).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct bpf_program;
struct bpf_link;

namespace dae::datapath {

enum class TcDirection { Ingress, Egress };

class TcAttachment {
 public:
  TcAttachment(int progFd, const std::string& ifname, TcDirection dir);
  ~TcAttachment();
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;
  const std::string& interface() const { return ifname_; }
  TcDirection direction() const { return dir_; }
  bool usesTcx() const { return linkFd_ >= 0; }
  // The kernel's id of the attached program.
  uint32_t programId() const { return progId_; }
  // Replaces the program in one step, with no moment in which none is attached: a
  // tcx link is updated (bpf_link_update), a classic filter replaced in place
  // (same handle and priority, BPF_TC_F_REPLACE). Throws on failure, leaving the
  // old program attached.
  void replaceProgram(int progFd);

 private:
  std::string ifname_;
  int ifindex_ = 0;
  TcDirection dir_;
  uint32_t progId_ = 0;
  int linkFd_ = -1;         // tcx link
  bool classic_ = false;    // classic filter (handle/priority kDaeTcHandle/kDaeTcPriority)
  bool createdQdisc_ = false;
};

// Removes classic tc filters with dae's handle and priority from an interface.
void removeStaleTcFilters(const std::string& ifname);

class CgroupAttachment {
 public:
  // `progFd` of a cgroup/sock_* program; attach type taken from the program.
  CgroupAttachment(bpf_program* prog, const std::string& cgroupPath);
  ~CgroupAttachment();
  CgroupAttachment(const CgroupAttachment&) = delete;
  CgroupAttachment& operator=(const CgroupAttachment&) = delete;
  // Replaces the program of the link in one step (bpf_link_update).
  void replaceProgram(bpf_program* prog);

 private:
  bpf_link* link_ = nullptr;
};

// The cgroup v2 mount point (mounting it at /sys/fs/cgroup if nothing is).
std::string cgroupV2Root();

}  // namespace dae::datapath
