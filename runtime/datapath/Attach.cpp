#include "datapath/Attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <mntent.h>
#include <net/if.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "datapath/Netlink.h"

namespace dae::datapath {
namespace {

// tcx attach types (Linux 6.6); Debian 12's uapi headers predate them.
constexpr int kBpfTcxIngress = 46;
constexpr int kBpfTcxEgress = 47;
// Classic filters: one fixed handle and priority, so a new start can find what a
// killed instance left.
constexpr uint32_t kDaeTcHandle = 0xdae;
constexpr uint32_t kDaeTcPriority = 0xdae;

bpf_tc_attach_point point(TcDirection d) { return d == TcDirection::Ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS; }

uint32_t programIdOf(int progFd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(progFd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace

TcAttachment::TcAttachment(int progFd, const std::string& ifname, TcDirection dir)
    : ifname_(ifname), ifindex_(interfaceIndex(ifname)), dir_(dir), progId_(programIdOf(progFd)) {
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  int type = dir == TcDirection::Ingress ? kBpfTcxIngress : kBpfTcxEgress;
  linkFd_ = bpf_link_create(progFd, ifindex_, static_cast<bpf_attach_type>(type), &opts);
  if (linkFd_ >= 0) return;
  int tcxErr = errno;
  // No tcx: classic clsact filter.
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = point(dir));
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST)
    throw std::system_error(-err, std::generic_category(), "cannot create the clsact qdisc on " + ifname);
  createdQdisc_ = err == 0;
  LIBBPF_OPTS(bpf_tc_opts, tc, .prog_fd = progFd, .flags = BPF_TC_F_REPLACE, .handle = kDaeTcHandle,
              .priority = kDaeTcPriority);
  err = bpf_tc_attach(&hook, &tc);
  if (err)
    throw std::system_error(-err, std::generic_category(),
                            "cannot attach to " + ifname + " (tcx: " + std::strerror(tcxErr) + ", tc filter)");
  classic_ = true;
}

void TcAttachment::replaceProgram(int progFd) {
  if (linkFd_ >= 0) {
    if (bpf_link_update(linkFd_, progFd, nullptr) != 0)
      throw std::system_error(errno, std::generic_category(), "cannot update the tcx link on " + ifname_);
  } else {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = point(dir_));
    LIBBPF_OPTS(bpf_tc_opts, tc, .prog_fd = progFd, .flags = BPF_TC_F_REPLACE, .handle = kDaeTcHandle,
                .priority = kDaeTcPriority);
    if (int err = bpf_tc_attach(&hook, &tc); err)
      throw std::system_error(-err, std::generic_category(), "cannot replace the tc filter on " + ifname_);
  }
  progId_ = programIdOf(progFd);
}

TcAttachment::~TcAttachment() {
  if (linkFd_ >= 0) {
    close(linkFd_);
    return;
  }
  if (!classic_) return;
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = point(dir_));
  LIBBPF_OPTS(bpf_tc_opts, tc, .handle = kDaeTcHandle, .priority = kDaeTcPriority);
  bpf_tc_detach(&hook, &tc);
  if (createdQdisc_) {
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&hook);
  }
}

void removeStaleTcFilters(const std::string& ifname) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (!idx) return;
  for (auto ap : {BPF_TC_INGRESS, BPF_TC_EGRESS}) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(idx), .attach_point = ap);
    LIBBPF_OPTS(bpf_tc_opts, tc, .handle = kDaeTcHandle, .priority = kDaeTcPriority);
    bpf_tc_detach(&hook, &tc);  // ENOENT when nothing was left: fine
  }
}

CgroupAttachment::CgroupAttachment(bpf_program* prog, const std::string& cgroupPath) {
  int fd = open(cgroupPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open cgroup " + cgroupPath);
  link_ = bpf_program__attach_cgroup(prog, fd);
  int err = errno;
  close(fd);
  if (!link_)
    throw std::system_error(err, std::generic_category(),
                            std::string("cannot attach ") + bpf_program__name(prog) + " to cgroup " + cgroupPath);
}

void CgroupAttachment::replaceProgram(bpf_program* prog) {
  if (int err = bpf_link__update_program(link_, prog); err)
    throw std::system_error(-err, std::generic_category(),
                            std::string("cannot update the cgroup link of ") + bpf_program__name(prog));
}

CgroupAttachment::~CgroupAttachment() {
  if (link_) bpf_link__destroy(link_);
}

std::string cgroupV2Root() {
  if (FILE* f = setmntent("/proc/self/mounts", "r")) {
    while (mntent* m = getmntent(f)) {
      if (std::strcmp(m->mnt_type, "cgroup2") == 0) {
        std::string dir = m->mnt_dir;
        endmntent(f);
        return dir;
      }
    }
    endmntent(f);
  }
  if (mount("none", "/sys/fs/cgroup", "cgroup2", 0, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(), "no cgroup v2 mounted and mounting one failed");
  return "/sys/fs/cgroup";
}

}  // namespace dae::datapath
