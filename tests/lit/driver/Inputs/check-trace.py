#!/usr/bin/env python3
"""Summarises an `strace -f -e trace=execve,fork,vfork,clone,clone3` log: how many
programs were executed and how many processes (as opposed to threads) were
created. Prints one line per kind, for FileCheck, and lists offenders."""
import re
import sys

execs, forks, procs, threads = [], [], [], []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    m = re.match(r"^(\d+) +(.*)$", line)
    body = m.group(2) if m else line
    if body.startswith("<..."):  # "<... clone3 resumed>": the call was counted at its start
        continue
    if body.startswith("execve(") or body.startswith("execveat("):
        execs.append(line)
    elif body.startswith("fork(") or body.startswith("vfork("):
        forks.append(line)
    elif body.startswith("clone(") or body.startswith("clone3("):
        # A thread shares the address space and is in the thread group.
        (threads if "CLONE_THREAD" in body else procs).append(line)

print("execve: %d" % len(execs))
for l in execs:
    print("  " + l)
print("fork/vfork: %d" % len(forks))
for l in forks:
    print("  " + l)
print("clone of a process: %d" % len(procs))
for l in procs:
    print("  " + l)
print("clone of a thread: %s" % ("some" if threads else "none"))
