#!/usr/bin/env python3
"""Prints the ids of the BPF programs the kernel has attached at an interface's tcx
hook, one per line, with the ids of their links: "prog 123 link 45". The kernel's
own view (BPF_PROG_QUERY), for tests that must not take the runtime's word for it;
Debian 12's bpftool predates tcx.

Usage: tcx_progs.py IFNAME ingress|egress   (run inside the interface's namespace)
"""
import ctypes
import os
import socket
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
BPF_PROG_QUERY = 16
ATTACH = {"ingress": 46, "egress": 47}  # BPF_TCX_INGRESS, BPF_TCX_EGRESS
MAX = 64


def main():
    ifname, direction = sys.argv[1], sys.argv[2]
    libc = ctypes.CDLL(None, use_errno=True)
    progs = (ctypes.c_uint32 * MAX)()
    links = (ctypes.c_uint32 * MAX)()
    attr = ctypes.create_string_buffer(64)
    # union bpf_attr, query: target_ifindex, attach_type, query_flags, attach_flags,
    # prog_ids, prog_cnt, (pad), prog_attach_flags, link_ids, link_attach_flags, revision
    struct.pack_into("IIIIQI4xQQQQ", attr, 0, socket.if_nametoindex(ifname), ATTACH[direction], 0, 0,
                     ctypes.addressof(progs), MAX, 0, ctypes.addressof(links), 0, 0)
    if libc.syscall(SYS_BPF, BPF_PROG_QUERY, attr, 64) != 0:
        err = ctypes.get_errno()
        sys.exit(f"BPF_PROG_QUERY {ifname} {direction}: {os.strerror(err)}")
    count = struct.unpack_from("I", attr, 24)[0]
    for i in range(count):
        print(f"prog {progs[i]} link {links[i]}")


if __name__ == "__main__":
    main()
