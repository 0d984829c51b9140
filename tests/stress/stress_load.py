#!/usr/bin/python3
"""Stress (a): load during swaps.  wrk at full rate on every feed, plain
and gzip, for DURATION seconds while the stand-in Lumu API changes
incidents EVENTS_PER_S times a second, so feeds are swapped under the
readers.  Alongside, a Python client fetches the feeds one by one and
keeps every body.  Checks: no 5xx and no socket error; every body the
Python client got hashes to its ETag and every ETag either client saw
is one the daemon logged as published; one body length per ETag; every
distinct body passes tests/panos_check.py; the daemon's RSS at the end is
within RSS_DRIFT of its RSS after 10 seconds.  Prints TAP."""

import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stresslib import (FEEDS, KEY, PUBLISHED, Proc, etag_of,  # noqa
                       fetch, published, stress_workdir, write_conf)
from blackbox_lib import (Standin, Tap, finish, free_port,  # noqa: E402
                          panos_check, wait_for)

DURATION = int(os.environ.get("STRESS_SECONDS", "60"))
EVENTS_PER_S = 20
RSS_DRIFT = 0.05
WRK_THREADS, WRK_CONNECTIONS = 2, 64
MAX_CHECKED_BODIES = 80


class Sampler(threading.Thread):
    """Fetches each feed in turn, plain and gzip; keeps one body per
    ETag and every answer that does not hash to its ETag."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.bodies, self.bad, self.count, self.statuses = {}, [], 0, {}

    def run(self):
        i = 0
        while not self.stop.is_set():
            name = list(FEEDS)[i % 3]
            status, etag, body = fetch(self.port, name, gz=i % 2 == 1)
            i += 1
            self.count += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status != 200:
                continue
            if etag.endswith('-gz"'):
                etag = etag[:-4] + '"'
            if etag != etag_of(body):
                self.bad.append((name, etag, len(body)))
            self.bodies.setdefault(etag, (name, body))


class Rss(threading.Thread):
    """Samples the daemon's VmRSS once a second."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc, self.samples = proc, []
        self.stop = threading.Event()
        self.start_time = time.monotonic()

    def run(self):
        while not self.stop.wait(1.0):
            self.samples.append((time.monotonic() - self.start_time,
                                 self.proc.status("VmRSS")))

    def at(self, secs):
        near = [kb for t, kb in self.samples if t >= secs]
        return near[0] if near else (self.samples[-1][1] if self.samples
                                     else 0)


def read_wrk(path):
    out = {"status": {}, "etag": {}}
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == "status":
                out["status"][int(w[1])] = int(w[2])
            elif w[0] == "etag":
                out["etag"].setdefault(w[1], set()).add(int(w[2]))
            else:
                out[w[0]] = [int(x) for x in w[1:]]
    return out


def check_wrk(t, wrk, pub, sampler):
    req = wrk["requests"][0]
    secs = wrk["duration"][0] / 1e6
    p50, p99, mx = (x / 1000 for x in wrk["latency"])
    t.ok(req > 0, "wrk: %d requests in %.0f s, %.0f/s; latency p50 %.2f "
         "ms, p99 %.2f ms, max %.1f ms" % (req, secs, req / secs, p50,
                                           p99, mx))
    bad = {k: v for k, v in wrk["status"].items() if k != 200}
    t.ok(not bad, "wrk: every answer is 200 (%s)" % wrk["status"], bad)
    t.ok(wrk["errors"] == [0, 0, 0, 0, 0], "wrk: no socket error or "
         "timeout (connect, read, write, status, timeout: %s)"
         % wrk["errors"])
    allpub = set().union(*pub.values()) if pub else set()
    unknown = [e for e in wrk["etag"]
               if (e[:-4] + '"' if e.endswith('-gz"') else e) not in allpub]
    t.ok(not unknown, "wrk: all %d ETags seen are ETags the daemon "
         "published" % len(wrk["etag"]), unknown[:10])
    multi = {e: n for e, n in wrk["etag"].items() if len(n) != 1}
    t.ok(not multi, "wrk: one body length per ETag", multi)
    mismatch = [e for e, lens in wrk["etag"].items() if e in
                sampler.bodies and len(sampler.bodies[e][1]) not in lens]
    t.ok(not mismatch, "wrk and the Python client agree on body lengths",
         mismatch[:10])


def check_sampler(t, sampler, pub):
    t.ok(sampler.count > 100 and set(sampler.statuses) == {200},
         "Python client: %d requests, statuses %s" % (sampler.count,
                                                       sampler.statuses))
    t.ok(not sampler.bad, "Python client: every body hashes to its ETag "
         "(%d distinct bodies)" % len(sampler.bodies), sampler.bad[:10])
    allpub = set().union(*pub.values()) if pub else set()
    unknown = [e for e in sampler.bodies if e not in allpub]
    t.ok(not unknown, "Python client: every ETag was published", unknown)
    failed = []
    for etag, (name, body) in list(sampler.bodies.items())[
            :MAX_CHECKED_BODIES]:
        ok, out = panos_check(FEEDS[name], body)
        if not ok:
            failed.append((name, etag, out[:200]))
    t.ok(not failed, "%d distinct bodies pass the PAN-OS line checker"
         % min(len(sampler.bodies), MAX_CHECKED_BODIES), failed[:5])


def run_wrk(wd, port):
    out = os.path.join(wd, "wrk.out")
    p = subprocess.run(
        ["wrk", "-t%d" % WRK_THREADS, "-c%d" % WRK_CONNECTIONS,
         "-d%ds" % DURATION, "--timeout", "5s", "-s",
         os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "swaps.lua"), "http://127.0.0.1:%d/" % port],
        capture_output=True, text=True, timeout=DURATION + 60,
        env=dict(os.environ, WRK_OUT=out))
    return p, out


def main():
    t = Tap()
    if shutil.which("wrk") is None:
        t.ok(True, "# SKIP wrk is not installed (apt-get install wrk)")
        t.done()
    wd = stress_workdir("load")
    lumu = Standin(wd, KEY, extra=["--demo", "2000", "--seed", "11",
                                   "--events-every",
                                   str(1.0 / EVENTS_PER_S)])
    port = free_port()
    conf = write_conf(wd, "load.conf", lumu.url, port, "state",
                      "access-log = no\n")
    d = Proc(wd, conf, "load.log")
    try:
        t.ok(wait_for(lambda: all(fetch(port, n)[0] == 200 for n in FEEDS),
                      30), "daemon serves every feed")
        before = len(PUBLISHED.findall(d.text()))
        sampler, rss = Sampler(port), Rss(d)
        sampler.start()
        rss.start()
        p, out = run_wrk(wd, port)
        sampler.stop.set()
        rss.stop.set()
        sampler.join(10)
        rss.join(5)
        t.ok(p.returncode == 0 and os.path.exists(out), "wrk ran",
             p.stdout + p.stderr)
        pub = published(d.text())
        swaps = len(PUBLISHED.findall(d.text())) - before
        t.ok(swaps >= DURATION, "%d feed swaps during the run (%.1f/s)"
             % (swaps, swaps / DURATION))
        if os.path.exists(out):
            check_wrk(t, read_wrk(out), pub, sampler)
        check_sampler(t, sampler, pub)
        r10, rend = rss.at(10), rss.at(DURATION)
        t.ok(r10 > 0 and abs(rend - r10) <= r10 * RSS_DRIFT,
             "RSS %d kB after 10 s, %d kB after %d s (%+.1f%%; max %d kB)"
             % (r10, rend, DURATION, (rend - r10) * 100.0 / max(r10, 1),
                max(kb for _, kb in rss.samples)), rss.samples)
        t.ok(d.alive() and d.stop() == 0, "the daemon ran throughout and "
             "stops cleanly")
    finally:
        finish(t, wd, d, lumu)


if __name__ == "__main__":
    main()
