/* cgroup v2 socket hooks: record which process owns each socket, keyed by
 * socket cookie, so that WAN egress can fill ctx->pname for pname() rules.
 *
 * tc egress has no process context (it can run in softirq on any CPU), so the
 * name must be captured where there is one: at socket creation, and again at
 * connect()/sendmsg() because sockets are inherited across fork/exec and
 * passed over unix sockets; the last process to use a socket is the one a
 * user means by pname(). The runtime attaches these to the cgroup given by
 * --cgroup (default: the v2 root). They always allow the operation.
 *
 * Needs a kernel that offers bpf_get_current_comm/pid_tgid to cgroup socket
 * programs (Linux 6.1 and later).
 */
#ifndef DAE_CGROUP_H
#define DAE_CGROUP_H

#include "dae/common.h"
#include "dae/maps.h"

#define DAE_CGROUP_ALLOW 1

static __always_inline void dae_sock_record(__u64 cookie, int refresh) {
  __u32 pid = (__u32)(bpf_get_current_pid_tgid() >> 32);
  if (refresh) {
    /* connect/sendmsg run per call (per datagram on unconnected UDP): skip
     * the write when the owner did not change, a lookup is much cheaper. */
    const struct dae_sock_info *old = bpf_map_lookup_elem(&dae_sock_pname, &cookie);
    if (old && old->pid == pid) return;
  }
  struct dae_sock_info info;
  dae_memset(&info, 0, sizeof(info));
  info.pid = pid;
  bpf_get_current_comm(info.pname, sizeof(info.pname));
  /* Best effort: a full map only loses pname() for this socket. */
  bpf_map_update_elem(&dae_sock_pname, &cookie, &info, BPF_ANY);
}

SEC("cgroup/sock_create")
int dae_sock_create(struct bpf_sock *sk) {
  dae_sock_record(bpf_get_socket_cookie(sk), 0);
  return DAE_CGROUP_ALLOW;
}

SEC("cgroup/sock_release")
int dae_sock_release(struct bpf_sock *sk) {
  __u64 cookie = bpf_get_socket_cookie(sk);
  bpf_map_delete_elem(&dae_sock_pname, &cookie);
  return DAE_CGROUP_ALLOW;
}

SEC("cgroup/connect4")
int dae_sock_connect4(struct bpf_sock_addr *ctx) {
  dae_sock_record(bpf_get_socket_cookie(ctx), 1);
  return DAE_CGROUP_ALLOW;
}

SEC("cgroup/connect6")
int dae_sock_connect6(struct bpf_sock_addr *ctx) {
  dae_sock_record(bpf_get_socket_cookie(ctx), 1);
  return DAE_CGROUP_ALLOW;
}

SEC("cgroup/sendmsg4")
int dae_sock_sendmsg4(struct bpf_sock_addr *ctx) {
  dae_sock_record(bpf_get_socket_cookie(ctx), 1);
  return DAE_CGROUP_ALLOW;
}

SEC("cgroup/sendmsg6")
int dae_sock_sendmsg6(struct bpf_sock_addr *ctx) {
  dae_sock_record(bpf_get_socket_cookie(ctx), 1);
  return DAE_CGROUP_ALLOW;
}

#endif /* DAE_CGROUP_H */
