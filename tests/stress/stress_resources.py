#!/usr/bin/python3
"""Stress (c): resource bounds.  The state directory's file system fills
up (a 4 MB tmpfs; skipped when it cannot be mounted) while Lumu changes:
the daemon says why it cannot save, keeps serving and following Lumu,
keeps its last whole state file, and saves again once space is free.  A
memory cap (RLIMIT_AS) a little above what loading the saved state
takes, against a Lumu too big for it: the daemon says it ran out of
memory and serves the saved feeds unchanged; once the cap is lifted it
publishes the new data.  Then an updates stream that brings ever more
incidents under a fixed cap: the daemon must stay up and keep serving.
Prints TAP."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (disk_full, memory_cap, memory_flood,  # noqa: E402
                       resource_standins, stress_workdir)
from blackbox_lib import Tap, finish  # noqa: E402

FLOOD_CAP_MB = 110
FLOOD_BATCHES = 25


def main():
    t = Tap()
    wd = stress_workdir("res")
    live, small, big = resource_standins(wd, 2000, 5000, seed=31)
    try:
        disk_full(t, wd, live, recovery=True)
        memory_cap(t, wd, small, big, recovery=True)
        memory_flood(t, wd, small, FLOOD_CAP_MB, FLOOD_BATCHES)
    finally:
        finish(t, wd, live, small, big)


if __name__ == "__main__":
    main()
