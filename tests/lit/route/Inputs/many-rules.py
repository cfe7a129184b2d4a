#!/usr/bin/env python3
"""many-rules.py N: a config of N rules that the optimiser cannot merge (neighbours
always differ in outbound) over mixed fields, the "unmerged" shape of
bench/route_bench.sh. Rule i is on line 7 + i:
  i % 4 == 0: dip(172.{16 + (i >> 8) % 4}.{i & 255}.0/24) -> proxy
  i % 4 == 1: dport(20000 + i) && l4proto(udp) -> alt
  i % 4 == 2: sip(192.168.{i & 255}.{(i >> 8) + 1}) && dport(30000 + i) -> block
  i % 4 == 3: dip('2001:db8:{i:x}::/48') && !dport(1 + i % 400) -> direct(mark: i + 1)
"""
import sys

n = int(sys.argv[1])
print("global {}\ngroup {\n  proxy { policy: min }\n  alt { policy: min }\n}\nrouting {")
for i in range(n):
    k = i % 4
    if k == 0:
        print("  dip(172.%d.%d.0/24) -> proxy" % (16 + (i >> 8) % 4, i & 255))
    elif k == 1:
        print("  dport(%d) && l4proto(udp) -> alt" % (20000 + i))
    elif k == 2:
        print("  sip(192.168.%d.%d) && dport(%d) -> block" % (i & 255, (i >> 8) + 1, 30000 + i))
    else:
        print("  dip('2001:db8:%x::/48') && !dport(%d) -> direct(mark: 0x%x)" % (i, 1 + i % 400, i + 1))
print("  fallback: direct\n}")
