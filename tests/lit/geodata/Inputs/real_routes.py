"""Route SPECs for Inputs/real.dae with the answers the source tables give.

Reads ../shared/data itself (the domain lists with their include:/@attr rules, and
the IP-range CSVs) without any of the project's code, picks addresses inside and
outside the CN and HK ranges (IPv4 and IPv6, range edges included) and names from
the cn, google@cn and geolocation-!cn lists and from other lists, and writes
SPEC lines and the expected `outbound=... mark=0x0 must=0` lines.

usage: real_routes.py DATA_DIR SPECS_OUT EXPECTED_OUT
"""
import bisect
import ipaddress
import os
import random
import re
import sys

data, specs_out, expected_out = sys.argv[1:4]
rng = random.Random(2024)

# ---- domain lists ----------------------------------------------------------------
dlc_dir = os.path.join(data, "domain-list-community", "data")
raw = {}
for name in os.listdir(dlc_dir):
    lines = []
    with open(os.path.join(dlc_dir, name), encoding="utf-8") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words:
                lines.append(words)
    raw[name.lower()] = lines

resolved = {}


def resolve(name):
    if name in resolved:
        return resolved[name]
    out = []
    for words in raw[name]:
        head, attrs = words[0], [w[1:].lower() for w in words[1:]]
        kind, _, value = head.partition(":") if ":" in head else ("domain", "", head)
        if kind == "include":
            must = [a for a in attrs if not a.startswith("-")]
            lack = [a[1:] for a in attrs if a.startswith("-")]
            for e in resolve(value.lower()):
                if all(a in e[2] for a in must) and not any(a in e[2] for a in lack):
                    out.append(e)
        else:
            out.append((kind, value if kind == "regexp" else value.lower(), set(attrs)))
    resolved[name] = out
    return out


class DomainSet:
    def __init__(self, entries):
        self.suffix = {v for k, v, _ in entries if k == "domain"}
        self.full = {v for k, v, _ in entries if k == "full"}
        self.keyword = [v for k, v, _ in entries if k == "keyword"]
        self.regex = [re.compile(v) for k, v, _ in entries if k == "regexp"]

    def __contains__(self, name):
        if name in self.full:
            return True
        labels = name.split(".")
        if any(".".join(labels[i:]) in self.suffix for i in range(len(labels))):
            return True
        return any(k in name for k in self.keyword) or any(r.search(name) for r in self.regex)


google_cn = DomainSet([e for e in resolve("google") if "cn" in e[2]])
cn = DomainSet(resolve("cn"))
not_cn = DomainSet(resolve("geolocation-!cn"))

# ---- IP ranges ---------------------------------------------------------------------
rows = []  # (first, last, cc) in one integer space: IPv4 as ::ffff:a.b.c.d
ipdb = os.path.join(data, "ip-location-db")
for name in sorted(os.listdir(ipdb)):
    if not name.endswith(".csv"):
        continue
    with open(os.path.join(ipdb, name)) as f:
        for line in f:
            a, b, cc = line.strip().split(",")
            lo, hi = ipaddress.ip_address(a), ipaddress.ip_address(b)
            base = (0xFFFF << 32) if lo.version == 4 else 0
            rows.append((base + int(lo), base + int(hi), cc.upper()))
rows.sort()
starts = [r[0] for r in rows]


def country(value):
    i = bisect.bisect_right(starts, value) - 1
    return rows[i][2] if i >= 0 and rows[i][0] <= value <= rows[i][1] else None


def text(value):
    if value >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return "[" + str(ipaddress.IPv6Address(value)) + "]"


def expected(value, domain):
    if domain is not None:
        if domain in google_cn:
            return "gcn"
        if domain in cn:
            return "direct"
        if domain in not_cn:
            return "foreign"
    cc = country(value)
    return {"CN": "direct", "HK": "hkip"}.get(cc, "block")


addresses = []
for want_v4 in (True, False):
    family = [r for r in rows if (r[0] >> 32 == 0xFFFF) == want_v4]
    cn_rows = [r for r in family if r[2] == "CN"]
    hk_rows = [r for r in family if r[2] == "HK"]
    other = [r for r in family if r[2] not in ("CN", "HK")]
    for pool, n in ((cn_rows, 40), (hk_rows, 10), (other, 40)):
        for r in rng.sample(pool, n):
            addresses.append(rng.randint(r[0], r[1]))
    for r in rng.sample(cn_rows, 10):  # edges of CN ranges and their neighbours
        addresses += [r[0], r[1], r[0] - 1, r[1] + 1]

names = []
for dset, source in ((google_cn, "google"), (cn, "cn"), (not_cn, "geolocation-!cn")):
    entries = [e for e in resolve(source) if e[0] in ("domain", "full")]
    for kind, value, _ in rng.sample(entries, min(40, len(entries))):
        names.append(value if kind == "full" or rng.random() < 0.5 else "www." + value)
for name in rng.sample(sorted(raw), 40):  # other lists
    entries = [e for e in resolve(name) if e[0] in ("domain", "full")]
    if entries:
        names.append(rng.choice(entries)[1])
names += ["example.org", "no-such-name.invalid", "www.baidu.com", "mail.google.com", "www.google.cn"]

with open(specs_out, "w") as specs, open(expected_out, "w") as exp:
    stats = {}
    for value in addresses:
        src = "10.0.0.1:40000" if value >> 32 == 0xFFFF else "[fd00::1]:40000"
        specs.write(f"tcp {src} -> {text(value)}:443\n")
        e = expected(value, None)
        exp.write(f"outbound={e} mark=0x0 must=0\n")
        stats[e] = stats.get(e, 0) + 1
    dst = (0xFFFF << 32) + int(ipaddress.IPv4Address("192.0.2.10"))  # in no table
    for name in names:
        specs.write(f"tcp 10.0.0.1:40000 -> 192.0.2.10:443 domain={name}\n")
        e = expected(dst, name)
        exp.write(f"outbound={e} mark=0x0 must=0\n")
        stats[e] = stats.get(e, 0) + 1
print(" ".join(f"{k}={v}" for k, v in sorted(stats.items())))
