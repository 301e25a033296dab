#!/usr/bin/env python3
"""CPU time of a process's threads, grouped by role, for the load scripts.

    cpu_by_thread.py snapshot PID OUT       per-thread user/system ticks of PID into OUT
    cpu_by_thread.py diff BEFORE AFTER N    CPU ms per image between two snapshots (N images):
                                            exec (executor threads and their OpenMP workers), io (.NET thread
                                            pool: reading, parsing, answering), gc, jit, other
"""
import collections
import os
import sys


def role(name):
    if "executor" in name:  # OpenMP workers inherit the executor thread's name
        return "exec"
    if name.startswith(".NET TP") or name.startswith(".NET Sockets"):
        return "io"
    if "GC" in name:
        return "gc"
    if "Tiered" in name:
        return "jit"
    return "other"


def load(path):
    ticks = {}
    for line in open(path):
        tid, name, user, system = line.rstrip("\n").split("\t")
        ticks[tid] = (name, int(user) + int(system))
    return ticks


if sys.argv[1] == "snapshot":
    pid, out = sys.argv[2], sys.argv[3]
    with open(out, "w") as f:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
                fields = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
                f.write(f"{tid}\t{name}\t{fields[11]}\t{fields[12]}\n")
            except OSError:
                pass  # the thread ended meanwhile
else:
    before, after, images = load(sys.argv[2]), load(sys.argv[3]), max(1, int(sys.argv[4]))
    by_role = collections.Counter()
    for tid, (name, ticks) in after.items():
        by_role[role(name)] += ticks - before.get(tid, (name, 0))[1]
    ms = 1000 / os.sysconf("SC_CLK_TCK") / images
    print(" ".join(f"{r}={by_role[r] * ms:.1f}" for r in ("exec", "io", "gc", "jit", "other")),
          f"total={sum(by_role.values()) * ms:.1f}")
