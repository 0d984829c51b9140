#!/usr/bin/python3
"""Stress (b): crash consistency.  KILLS times kill -9 the daemon while
the stand-in changes incidents 20 times a second: a third of the kills
in the first second (during the first sync), a third as soon as a
temporary state file appears (during a state write), a third at a random
moment.  After each kill the state file left must be whole and hold only
published feeds; after each restart the state loads (or is set aside
with a log line), no temporary file is left, and every feed served is
one published before and passes tests/panos_check.py.  Prints TAP."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import KEY, CrashRun, stress_workdir  # noqa: E402
from blackbox_lib import Standin, Tap, finish  # noqa: E402

KILLS = int(os.environ.get("STRESS_KILLS", "50"))


def main():
    t = Tap()
    wd = stress_workdir("crash")
    lumu = Standin(wd, KEY, extra=["--demo", "5000", "--seed", "21",
                                   "--events-every", "0.05"])
    try:
        stats = CrashRun(t, wd, lumu, seed=os.getpid()).run(KILLS)
        print("# %s" % ", ".join("%s: %d" % kv for kv in stats.items()))
    finally:
        finish(t, wd, lumu)


if __name__ == "__main__":
    main()
