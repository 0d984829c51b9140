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
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (KEY, disk_full, incidents_json, memory_cap,  # noqa
                       memory_flood)
from blackbox_lib import Standin, Tap  # noqa: E402

FLOOD_CAP_MB = 110
FLOOD_BATCHES = 25


def main():
    t = Tap()
    wd = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                      "lumu-edl-stress-res.%d" % os.getpid())
    os.makedirs(wd)
    os.makedirs(os.path.join(wd, "small"))
    os.makedirs(os.path.join(wd, "big"))
    live = Standin(wd, KEY, extra=["--demo", "2000", "--seed", "31",
                                   "--events-every", "0.05"])
    small = Standin(os.path.join(wd, "small"), KEY,
                    extra=["--demo", "300", "--seed", "32"])
    big = Standin(os.path.join(wd, "big"), KEY,
                  extra=["--demo", "5000", "--seed", "33"])
    try:
        big.control("POST", "incidents", {"incidents":
                                          incidents_json(5000, "big", 1000),
                                          "quiet": True})
        disk_full(t, wd, live, recovery=True)
        memory_cap(t, wd, small, big, recovery=True)
        memory_flood(t, wd, small, FLOOD_CAP_MB, FLOOD_BATCHES)
    finally:
        for s in (live, small, big):
            s.stop()
        if t.failed == 0:
            shutil.rmtree(wd, ignore_errors=True)
        else:
            print("# kept " + wd)
    t.done()


if __name__ == "__main__":
    main()
