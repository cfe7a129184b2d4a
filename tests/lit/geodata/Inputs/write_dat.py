"""Writes geoip.dat and geosite.dat with Debian's python3-protobuf, from a module that
protoc generated from compiler/geodata/geodata.proto: a file from another implementation
of the format than the project's writer.

usage: write_dat.py MODULE_DIR OUT_DIR
"""
import ipaddress
import sys

sys.path.insert(0, sys.argv[1])
import geodata_pb2 as pb  # noqa: E402

out = sys.argv[2]


def cidr(text):
    net = ipaddress.ip_network(text, strict=False)
    c = pb.CIDR()
    c.ip = net.network_address.packed if net.version == 6 else ipaddress.ip_address(text.split("/")[0]).packed
    c.prefix = net.prefixlen
    return c


ips = pb.GeoIPList()
cn = ips.entry.add()
cn.country_code = b"Cn"
# Host bits set (the reader clears them), IPv4 as 4 bytes, IPv6 as 16.
cn.cidr.extend([cidr("1.0.1.7/24"), cidr("1.0.2.0/23"), cidr("240e::/16")])
rev = ips.entry.add()
rev.country_code = b"NOT-PRIVATE"
rev.reverse_match = True
rev.cidr.extend([cidr("0.0.0.0/1"), cidr("128.0.0.0/1"), cidr("::/1")])
# IPv4 written as a 16-byte ::ffff:a.b.c.d address with a 128-bit prefix.
mapped = ips.entry.add()
mapped.country_code = b"MAPPED"
m = mapped.cidr.add()
m.ip = ipaddress.ip_address("::ffff:9.9.9.0").packed
m.prefix = 120
data = ips.SerializeToString()
# An unknown top-level field (as newer writers add) is skipped by readers.
data += bytes([0x10, 0x2A])
with open(out + "/geoip.dat", "wb") as f:
    f.write(data)

sites = pb.GeoSiteList()
mixed = sites.entry.add()
mixed.country_code = b"MIXED"
for t, value, attrs in [
    (pb.Domain.RootDomain, b"Example.COM", [("cn", True)]),
    (pb.Domain.Full, b"www.Example.org", []),
    (pb.Domain.Plain, b"Tracker", [("ads", True)]),
    (pb.Domain.Regex, b"^CDN[0-9]+\\.example\\.net$", [("cn", True), ("rank", 3)]),
    (pb.Domain.RootDomain, b".leading-dot.net", []),
]:
    d = mixed.domain.add()
    d.type = t
    d.value = value
    for key, v in attrs:
        a = d.attribute.add()
        a.key = key.encode()
        if isinstance(v, bool):
            a.bool_value = v
        else:
            a.int_value = v
with open(out + "/geosite.dat", "wb") as f:
    f.write(sites.SerializeToString())
