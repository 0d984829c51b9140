#!/usr/bin/python3
"""Black-box: crash consistency and resource bounds, the bounded version
of tests/stress/ (stress_crash.py, stress_resources.py) for make check.

Ten times kill -9 the daemon while the stand-in Lumu API changes
incidents 20 times a second (during the first sync, as soon as a state
write starts, or at a random moment): the state file left is whole and
holds only published feeds; each restart loads it (or sets it aside with
a log line), leaves no temporary file, and serves only feeds published
before that pass tests/panos_check.py.  Then the state directory's file
system fills up (a small tmpfs; skipped when mounting is refused): the
daemon says why, keeps serving and following Lumu and keeps its last
whole state.  Then an address-space cap just above what loading the
saved state takes, against a Lumu too big for it: the log says out of
memory and every feed is served at its last published version (the
check is skipped for ASan and TSan builds).  About 55 seconds."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "stress"))
from stresslib import (CrashRun, disk_full, memory_cap,  # noqa: E402
                       resource_standins)
from blackbox_lib import Tap, finish, workdir  # noqa: E402

KILLS = 10


def main():
    t = Tap()
    wd = workdir()
    live, small, big = resource_standins(wd, 1000, 3000, seed=41)
    try:
        start = time.monotonic()
        stats = CrashRun(t, wd, live, seed=os.getpid(),
                         longest=3.0).run(KILLS)
        print("# %s; %.0f s" % (", ".join("%s: %d" % kv for kv in
                                          stats.items()),
                                time.monotonic() - start))
        start = time.monotonic()
        disk_full(t, wd, live, recovery=False)
        print("# disk full: %.0f s" % (time.monotonic() - start))
        start = time.monotonic()
        memory_cap(t, wd, small, big, recovery=False)
        print("# memory cap: %.0f s" % (time.monotonic() - start))
    finally:
        finish(t, wd, live, small, big)


if __name__ == "__main__":
    main()
