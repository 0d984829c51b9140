"""What the stress runs (tests/stress/) and tests/test_crash.py share:
the daemon as a child with limits, the state file read independently of
feed/state.c, the ETags the daemon says it published, and the checks,
each taking a TAP object: crash consistency (kill -9 at random moments,
during the first sync and during state writes), a full disk under the
state directory, a memory cap against a resync too big for it, and an
updates stream that floods a capped daemon."""

import gzip
import hashlib
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)
from blackbox_lib import (BINARY, FEED_TYPES, Standin,  # noqa: E402
                          feeds_conf, free_port, iso, panos_check, request,
                          wait_for)

KEY = "stress-company-key-0123456789"
FEEDS = FEED_TYPES      # the feeds of write_conf
SAVE_DELAY = 5          # SAVE_DELAY_SECONDS of feed/daemon.c
PUBLISHED = re.compile(r'feed (\S+): \d+ entries, .* etag ("[0-9a-f]{32}")')


def etag_of(body):
    """The daemon's strong ETag for a body: 32 hex digits of SHA-256."""
    return '"%s"' % hashlib.sha256(body).hexdigest()[:32]


def write_conf(wd, name, api_url, port, state_dir, extra_server=""):
    """A configuration with the three usual feeds; returns its path."""
    return feeds_conf(wd, KEY, api_url, port, name=name, updates_wait="1s",
                      server=extra_server, state_dir=state_dir)


def stress_workdir(kind):
    """A new directory for one stress run, named after it and this
    process."""
    wd = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                      "lumu-edl-stress-%s.%d" % (kind, os.getpid()))
    os.makedirs(wd)
    return wd


def resource_standins(wd, live_demo, big_demo, seed):
    """The stand-ins of the resource checks, seeded seed, seed + 1 and
    seed + 2: a live Lumu of live_demo incidents changing 20 times a
    second (in wd), a small one (wd/small) and a big one (wd/big) that
    adds as many long URLs to its big_demo incidents."""
    for sub in ("small", "big"):
        os.makedirs(os.path.join(wd, sub))
    live = Standin(wd, KEY, extra=["--demo", str(live_demo), "--seed",
                                   str(seed), "--events-every", "0.05"])
    small = Standin(os.path.join(wd, "small"), KEY,
                    extra=["--demo", "300", "--seed", str(seed + 1)])
    big = Standin(os.path.join(wd, "big"), KEY,
                  extra=["--demo", str(big_demo), "--seed", str(seed + 2)])
    big.control("POST", "incidents", {"incidents":
                                      incidents_json(big_demo, "big", 1000),
                                      "quiet": True})
    return live, small, big


class Proc:
    """lumu-edl as a child, optionally under resource limits."""

    def __init__(self, wd, conf, log, limits=(), env=None):
        self.logpath = os.path.join(wd, log)
        self.log = open(self.logpath, "w")

        def pre():
            # Soft limits only: a test may lift them later (prlimit).
            for which, value in limits:
                resource.setrlimit(which, (value,
                                           resource.getrlimit(which)[1]))
        self.proc = subprocess.Popen(
            [BINARY, "-c", conf], stdout=self.log, stderr=subprocess.STDOUT,
            cwd=wd, preexec_fn=pre if limits else None,
            env=dict(os.environ, **(env or {})))
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def kill9(self):
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self, timeout=15):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc

    def text(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def status(self, field):
        """A /proc/PID/status field in kB (VmRSS, VmSize...), or 0."""
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0


def published(text):
    """Every ETag a daemon log says was published, by feed."""
    out = {}
    for name, etag in PUBLISHED.findall(text):
        out.setdefault(name, set()).add(etag)
    return out


def merge(into, more):
    for name, etags in more.items():
        into.setdefault(name, set()).update(etags)


def fetch(port, name, gz=False, timeout=5):
    """GET /feeds/NAME: (status, ETag, body decoded)."""
    status, hdrs, body = request(port, "GET", "/feeds/" + name, timeout=
                                 timeout, headers={"Accept-Encoding": "gzip"}
                                 if gz else None)
    if hdrs.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return status, hdrs.get("etag", ""), body


def read_state(path):
    """Reads a state file by its documented format (feed/state.c):
    None when absent, else a dict with "intact" (the SHA-256 line checks
    out and every record parses) and, when intact, "feeds" {NAME: body},
    "incidents", "offset"."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    st = {"intact": False, "size": len(data)}
    tail = data[-72:]
    if len(data) < 72 or not tail.startswith(b"sha256\t") or \
            hashlib.sha256(data[:-72]).hexdigest().encode() != tail[7:71]:
        return st
    try:
        parse_state(data[:-72], st)
    except (ValueError, IndexError):
        return st
    st["intact"] = True
    return st


def parse_state(data, st):
    pos = 0

    def line():
        nonlocal pos
        end = data.index(b"\n", pos)
        out, pos = data[pos:end], end + 1
        return out.decode("latin-1")
    if line() != "lumu-edl state 1":
        raise ValueError("magic")
    line()
    st["offset"] = line().partition("\t")[2]
    line()
    for _ in range(int(line().split("\t")[1])):
        line()
    st["incidents"] = int(line().split("\t")[1])
    for _ in range(st["incidents"]):
        for _ in range(int(line().split("\t")[8])):
            line()
    st["feeds"] = {}
    for _ in range(int(line().split("\t")[1])):
        f = line().split("\t")
        n, dn = int(f[6]), int(f[7])
        st["feeds"][f[1]] = data[pos:pos + n]
        pos += n + dn
    if pos != len(data):
        raise ValueError("trailing bytes")


def leftovers(state_dir, prefix):
    try:
        return [n for n in os.listdir(state_dir) if n.startswith(prefix)]
    except FileNotFoundError:
        return []


def wait_listening(port, proc, seconds=15):
    """Waits until the daemon answers /healthz; False if it died."""
    return wait_for(lambda: not proc.alive() or
                    request(port, "GET", "/healthz", timeout=1)[0] == 200,
                    seconds) and proc.alive()


# ------------------------------------------------------ crash consistency

class CrashRun:
    """kill -9 the daemon over and over, each time at one of three kinds
    of moment, and check each restart."""

    def __init__(self, t, wd, lumu, seed, longest=2.0 * SAVE_DELAY):
        self.t, self.wd, self.lumu, self.longest = t, wd, lumu, longest
        self.rng = random.Random(seed)
        self.port = free_port()
        self.state_dir = os.path.join(wd, "state")
        self.conf = write_conf(wd, "crash.conf", lumu.url, self.port,
                               "state", "access-log = no\n")
        self.published = {}
        self.stats = {"random": 0, "first sync": 0, "state write": 0,
                      "mid-write": 0, "loaded": 0, "set aside": 0,
                      "no state": 0, "temp removed": 0}

    def check_state_file(self, n):
        """After a kill: the state file is whole and holds only feeds
        that were published; a temporary file may be left."""
        st = read_state(os.path.join(self.state_dir, "state"))
        temps = leftovers(self.state_dir, "state.tmp.")
        if temps:
            self.stats["mid-write"] += 1
        if st is None:
            return None
        self.t.ok(st["intact"], "kill %d: the state file left is whole "
                  "(SHA-256 and every record check out)" % n, st)
        bad = [name for name, body in st.get("feeds", {}).items()
               if etag_of(body) not in self.published.get(name, ())]
        self.t.ok(not bad, "kill %d: every feed in the state file was "
                  "published before" % n, bad)
        return st

    def check_restart(self, n, st, p):
        """The restarted daemon loads the state or sets it aside, and
        serves only feeds published before, each passing the checker."""
        up = wait_listening(self.port, p)
        self.t.ok(up, "restart %d: listening" % n, p.text()[-1500:])
        served = {name: fetch(self.port, name) for name in FEEDS}
        text = p.text()
        mine = published(text)
        if st is None:
            self.stats["no state"] += 1
        elif "state: loaded" in text:
            self.stats["loaded"] += 1
        elif "is damaged" in text and leftovers(self.state_dir,
                                                "state.bad-"):
            self.stats["set aside"] += 1
        else:
            self.t.ok(False, "restart %d: state neither loaded nor set "
                      "aside" % n, text[-1500:])
        if "left by an interrupted write" in text:
            self.stats["temp removed"] += 1
        self.t.ok(not leftovers(self.state_dir, "state.tmp."),
                  "restart %d: no temporary state file left" % n)
        for name, (status, etag, body) in served.items():
            if status == 503 and (st is None or not st["intact"]):
                continue    # nothing saved yet: 503 is the contract
            known = self.published.get(name, set()) | mine.get(name, set())
            ok, out = panos_check(FEEDS[name], body)
            self.t.ok(status == 200 and etag == etag_of(body) and
                      etag in known and ok,
                      "restart %d: feed %s is one published before (%s) "
                      "and passes the checker" % (n, name, etag),
                      (status, etag, out))
        merge(self.published, mine)

    def kill_at(self, p, kind):
        """Waits for the moment of the kind, then kill -9."""
        if kind == "state write":
            end = time.monotonic() + SAVE_DELAY + 4
            while time.monotonic() < end:
                if leftovers(self.state_dir, "state.tmp."):
                    break
                time.sleep(0.0005)
            # Either side of the rename: within the write or just after.
            time.sleep(self.rng.choice((0, 0, self.rng.uniform(0, 0.02))))
        elif kind == "first sync":
            time.sleep(self.rng.uniform(0.0, 0.6))
        else:
            time.sleep(self.rng.uniform(0.05, self.longest))
        p.kill9()

    def first_state(self):
        """Runs until a first state file is whole, then kill -9."""
        p = Proc(self.wd, self.conf, "crash-0.log")
        path = os.path.join(self.state_dir, "state")
        wait_for(lambda: read_state(path) is not None and
                 read_state(path)["intact"], SAVE_DELAY + 30)
        p.kill9()
        merge(self.published, published(p.text()))
        return self.check_state_file(0)

    def run(self, kills):
        kinds = ["state write", "first sync", "random"]
        st = self.first_state()
        for n in range(1, kills + 1):
            kind = kinds[n % 3]
            self.stats[kind] += 1
            p = Proc(self.wd, self.conf, "crash-%d.log" % n)
            self.check_restart(n - 1, st, p)
            self.kill_at(p, kind)
            merge(self.published, published(p.text()))
            st = self.check_state_file(n)
        p = Proc(self.wd, self.conf, "crash-last.log")
        self.check_restart(kills, st, p)
        self.t.ok(p.stop() == 0, "after %d kills the daemon stops cleanly"
                  % kills)
        final = read_state(os.path.join(self.state_dir, "state"))
        self.t.ok(final is not None and final["intact"],
                  "the state saved at the clean stop is whole")
        return self.stats


# ------------------------------------------------------------- disk full

def mount_tmpfs(path, size):
    """Mounts a tmpfs of size at path; returns None or why it could not."""
    os.makedirs(path, exist_ok=True)
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700"
                            % size, "tmpfs", path], capture_output=True,
                           timeout=20)
    except OSError as e:
        return str(e)
    if p.returncode != 0:
        return (p.stderr or p.stdout).decode(errors="replace").strip()
    return None


def umount(path):
    subprocess.run(["umount", path], capture_output=True, timeout=20)


def fill(path):
    """Fills the file system of path; returns the filler's name."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def state_mtime(state_dir):
    try:
        return os.stat(os.path.join(state_dir, "state")).st_mtime
    except OSError:
        return 0


def disk_full(t, wd, lumu, recovery):
    """The state directory's file system fills up while the daemon runs
    with live changes; with recovery, it empties again."""
    state_dir = os.path.join(wd, "fullstate")
    why = mount_tmpfs(state_dir, "4m")
    if why is not None:
        t.ok(True, "# SKIP disk full: cannot mount a tmpfs (%s)" % why)
        return
    port = free_port()
    conf = write_conf(wd, "full.conf", lumu.url, port, "fullstate",
                      "access-log = no\n")
    p = Proc(wd, conf, "full.log")
    try:
        t.ok(wait_for(lambda: state_mtime(state_dir), SAVE_DELAY + 15),
             "disk full: a first state file is written")
        before = read_state(os.path.join(state_dir, "state"))
        filler = fill(state_dir)
        seen = wait_for(lambda: "No space left on device" in p.text(),
                        SAVE_DELAY + 15)
        t.ok(seen, "disk full: the log says why the state cannot be "
             "written", p.text()[-1500:])
        swaps = len(PUBLISHED.findall(p.text()))
        served = {name: fetch(port, name) for name in FEEDS}
        t.ok(p.alive() and all(s == 200 and e == etag_of(b)
                               for s, e, b in served.values()),
             "disk full: still serving every feed")
        t.ok(wait_for(lambda: len(PUBLISHED.findall(p.text())) > swaps, 15),
             "disk full: feeds keep following Lumu")
        now = read_state(os.path.join(state_dir, "state"))
        t.ok(now is not None and now["intact"] and before is not None and
             not leftovers(state_dir, "state.tmp."),
             "disk full: the last state file is whole and no temporary "
             "file is left")
        if recovery:
            os.unlink(filler)
            mark = state_mtime(state_dir)
            ok = wait_for(lambda: state_mtime(state_dir) > mark,
                          SAVE_DELAY * 3)
            t.ok(ok, "disk full: once space is free again the state is "
                 "written again within %d s" % (SAVE_DELAY * 3))
        t.ok(p.stop() == 0, "disk full: SIGTERM stops the daemon cleanly")
    finally:
        if p.alive():
            p.kill9()
        umount(state_dir)


# ------------------------------------------------------------ memory cap

def incidents_json(n, tag, path_len=400):
    """n incidents with long URL indicators, as the stand-in takes them."""
    return [{"id": "%s-%06d" % (tag, i), "status": "open",
             "adversaryTypes": ["Malware"],
             "adversaries": ["http://m%06d.%s.example.com/%s" %
                             (i, tag, "p" * path_len)], "adversaryId": "x",
             "timestamp": iso(1), "statusTimestamp": iso(1),
             "lastContact": iso(0.5), "firstContact": iso(1)}
            for i in range(n)]


def last_published(name, saved, text):
    """The ETag a feed was last published with, per the log, else the
    one it had when the state was saved."""
    mine = [e for n, e in PUBLISHED.findall(text) if n == name]
    return mine[-1] if mine else saved


def settled_size(wd, conf, env):
    """VmPeak (kB) of the daemon loading its state with Lumu down."""
    p = Proc(wd, conf, "mem-measure.log", env=env)
    time.sleep(1.5)
    peak = p.status("VmPeak")
    p.stop()
    return peak


def reserves_address_space():
    """Why an address-space cap cannot apply to the binary (ASan and
    TSan reserve terabytes of it), or None."""
    with open(BINARY, "rb") as f:
        data = f.read()
    for lib in (b"libasan", b"libtsan"):
        if lib in data:
            return "the binary is built with %s" % lib.decode()
    return None


def memory_cap(t, wd, small, big, recovery):
    """Saved feeds from a small Lumu; then, under an address-space cap a
    little above what loading them takes, a Lumu too big for it."""
    why = reserves_address_space()
    if why is not None:
        t.ok(True, "# SKIP memory cap: %s" % why)
        return
    env = {"MALLOC_ARENA_MAX": "1"}    # one heap: the cap applies plainly
    port = free_port()
    state = "memstate"
    conf = write_conf(wd, "mem-small.conf", small.url, port, state)
    p = Proc(wd, conf, "mem-small.log", env=env)
    t.ok(wait_for(lambda: all(fetch(port, n)[0] == 200 for n in FEEDS), 20),
         "memory cap: feeds from the small Lumu")
    saved = {n: fetch(port, n) for n in FEEDS}
    p.stop()
    down = write_conf(wd, "mem-down.conf", "http://127.0.0.1:9", port, state)
    peak = settled_size(wd, down, env)
    cap = (peak + 2 * 1024) * 1024
    conf = write_conf(wd, "mem-big.conf", big.url, port, state)
    p = Proc(wd, conf, "mem-big.log", limits=[(resource.RLIMIT_AS, cap)],
             env=env)
    try:
        up = wait_listening(port, p)
        # The store is bounded to the cap, so the read is refused before
        # memory runs out; either way the log must say why.
        said = wait_for(lambda: "out of memory" in p.text() or
                        "more incidents than the store holds" in p.text()
                        or not p.alive(), 20)
        t.ok(up and said and p.alive(), "memory cap %d MB: the log says "
             "the read did not fit" % (cap >> 20), p.text()[-1500:])
        ok = 0
        for _ in range(6):
            ok += all(last_published(n, saved[n][1], p.text()) ==
                      fetch(port, n)[1] for n in FEEDS)
            time.sleep(0.25)
        t.ok(ok == 6 and p.alive(), "memory cap: every feed served is "
             "its last published version (%d of 6 rounds)" % ok)
        if recovery:
            resource.prlimit(p.pid, resource.RLIMIT_AS,
                             resource.getrlimit(resource.RLIMIT_AS))
            grown = wait_for(lambda: fetch(port, "urls")[1] !=
                             saved["urls"][1], 70, step=0.5)
            t.ok(grown, "memory cap lifted: the big Lumu's feeds are "
                 "published at the next retry")
        t.ok(p.stop() == 0, "memory cap: SIGTERM stops the daemon")
    finally:
        if p.alive():
            p.kill9()


def memory_flood(t, wd, lumu, cap_mb, batches):
    """Under a fixed cap, Lumu's updates stream brings ever more
    incidents: the daemon must stay up and keep serving."""
    why = reserves_address_space()
    if why is not None:
        t.ok(True, "# SKIP updates flood under a memory cap: %s" % why)
        return
    port = free_port()
    conf = write_conf(wd, "flood.conf", lumu.url, port, "floodstate",
                      "access-log = no\n")
    p = Proc(wd, conf, "flood.log", limits=[(resource.RLIMIT_AS,
                                             cap_mb << 20)])
    try:
        t.ok(wait_for(lambda: fetch(port, "ip")[0] == 200, 20),
             "updates flood: serving under a %d MB cap" % cap_mb)
        served = fails = 0
        for b in range(batches):
            lumu.control("POST", "incidents",
                         {"incidents": incidents_json(2000, "f%d" % b, 900)})
            time.sleep(0.5)
            if not p.alive():
                break
            for n in FEEDS:
                ok = fetch(port, n, timeout=3)[0] == 200
                served += ok
                fails += not ok
        text = p.text()
        t.ok(p.alive(), "updates flood: %d x 2000 incidents past the cap, "
             "still running (exit %s)" % (batches, p.proc.poll()),
             text[-1000:])
        t.ok(fails == 0, "updates flood: every feed request answered "
             "(%d answered, %d not)" % (served, fails))
        t.ok("the store is full" in text and "MB under the "
             "address-space limit" in text,
             "updates flood: the store was bounded to the cap and the log "
             "says it filled")
    finally:
        if p.alive():
            p.stop()
