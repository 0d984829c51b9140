#!/usr/bin/python3
"""Black-box: the real lumu-edl against a Lumu API that misbehaves.

Every fault the stand-in can inject (HTTP 500 and 503, a 429 with real
rate-limit headers, garbage, truncated JSON, JSON of the wrong shape, a
body over the cap, an answer slower than the timeout, a refused
connection, a rotated key, an offset that goes backwards) must leave the
feeds byte for byte as they were (ETags too), keep the daemon up, show in
/status lumu.last_error, and let the next change through once it clears.
Then: a restart with the API down serves the saved feeds at once; a
damaged state file is set aside; kill -9 at random moments (and in the
middle of state writes) never leaves a feed that was not published; the
shrink guard holds back a read that would empty a feed until a second
read agrees; and with threat-triggers = yes an active context's trigger
reaches the url feed and survives a restart.  (resync = 1m may fire once
near the end; a full read of unchanged data changes nothing.)

The scenarios run side by side, each with its own stand-in, daemon and
directory, to stay within about a minute and a half; their results are
printed in a fixed order.  Extra arguments pick scenarios by name."""

import glob
import json
import os
import random
import shutil
import signal
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blackbox_lib import (FEED_TYPES, Daemon, Standin, Tap,  # noqa: E402
                          feeds_conf, free_port, incident as lumu_incident,
                          panos_check, request, wait_for, workdir)

KEY = "faults-company-key-0123456789"
UPDATES = "/api/incidents/open-incidents/updates"
ALL = "/api/incidents/all"
# The three feeds without their include options.
PLAIN_FEEDS = """[feed ip]
type = ip

[feed domains]
type = domain

[feed urls]
type = url
"""


def incident(iid, adversary, status="open", types=("C2C",), days=0.01):
    return lumu_incident(iid, adversary, status, types, days, days)


BASE_IPS = ["45.10.0.%d" % i for i in range(1, 9)]
BASE = [incident("b%02d" % i, ip, days=1 + i / 100.0)
        for i, ip in enumerate(BASE_IPS)] + [
    incident("b20", "evil-one.example", types=("Malware",), days=1),
    incident("b21", "http://phish.example/login", types=("Phishing",),
             days=1),
]


class Rec:
    """Collects TAP results of one scenario, printed later in order."""

    def __init__(self, name):
        self.name = name
        self.items = []

    def ok(self, cond, what, detail=None):
        self.items.append(("ok", bool(cond), "%s: %s" % (self.name, what),
                           detail))
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, what, "got:  %r\nwant: %r" %
                       (short(got), short(want)))

    def failed(self):
        return any(kind == "ok" and not cond for kind, cond, _, _ in
                   self.items)

    def note(self, text):
        self.items.append(("note", True, "%s: %s" % (self.name, text), None))


def short(v):
    """A value for a failure message, long bodies cut."""
    text = repr(v)
    return text if len(text) < 600 else text[:600] + "..."


def write_conf(wd, api_url, port, extra=""):
    return feeds_conf(wd, KEY, api_url, port, feeds=PLAIN_FEEDS,
                      lumu="resync = 1m\nmax-shrink = 50%\n" + extra)


def feeds(port):
    """{name: (status, body, etag)} of every feed."""
    out = {}
    for name in FEED_TYPES:
        s, h, body = request(port, "GET", "/feeds/" + name)
        out[name] = (s, body, h.get("etag"))
    return out


def status(port):
    s, _, body = request(port, "GET", "/status")
    try:
        return json.loads(body) if s == 200 else {}
    except ValueError:
        return {}


def last_error(port):
    return (status(port).get("lumu") or {}).get("last_error") or ""


def has_ip(port, ip):
    s, _, body = request(port, "GET", "/feeds/ip")
    return s == 200 and (ip + "\n").encode() in body


def serving(port):
    return all(v[0] == 200 for v in feeds(port).values())


class Env:
    """One stand-in, one daemon and their directory."""

    def __init__(self, name, incidents, extra_conf="", contexts=None):
        self.wd = workdir()
        self.name = name
        self.lumu = Standin(self.wd, KEY, {"incidents": incidents,
                                           "contexts": contexts or {}})
        self.port = free_port()
        self.conf = write_conf(self.wd, self.lumu.url, self.port, extra_conf)
        self.d = None
        self.counter = 0

    def start(self, wait=True):
        self.d = Daemon(self.wd, self.conf)
        if wait:
            return wait_for(lambda: serving(self.port), 15)
        return wait_for(lambda: request(self.port, "GET",
                                        "/healthz")[0] == 200, 10)

    def stop(self):
        rc = self.d.stop() if self.d is not None else None
        return rc

    def serves(self, t):
        """Starts the daemon; one TAP line says whether it serves every
        feed."""
        return t.ok(self.start(), "the daemon serves every feed",
                    self.log()[-2000:])

    def log(self):
        return self.d.logtext() if self.d is not None else ""

    def alive(self):
        return self.d is not None and self.d.proc.poll() is None and \
            request(self.port, "GET", "/healthz")[0] == 200

    def new_ip(self):
        """Posts a new incident with a fresh address; returns the address."""
        self.counter += 1
        ip = "45.20.%d.%d" % (self.counter // 250, self.counter % 250 + 1)
        s, _ = self.lumu.control("POST", "incidents", {"incidents": [
            incident("n-%s-%d" % (self.name, self.counter), ip)]})
        return ip if s == 200 else None

    def fault(self, **f):
        return self.lumu.control("POST", "fault", f)[0] == 200

    def clear_faults(self):
        self.lumu.control("DELETE", "fault")

    def close(self, keep):
        if self.d is not None and self.d.proc.poll() is None:
            self.d.stop()
        self.lumu.stop()
        if not keep:
            shutil.rmtree(self.wd, ignore_errors=True)


def finish(t, env, ok):
    """Stops everything; keeps the directory of a scenario that failed."""
    keep = not ok or t.failed()
    env.close(keep)
    if keep:
        t.note("kept " + env.wd)


def settle(t, env, what, before, expect, timeout=15, read=False):
    """Checks a fault's aftermath: feeds as before, the daemon up, the
    error in /status; then clears it and waits for the next change (and,
    with read, for the full read to succeed again)."""
    err = wait_for(lambda: expect in last_error(env.port), timeout)
    t.ok(err, "%s: /status last_error says so" % what,
         "last_error: %r" % last_error(env.port))
    t.eq(feeds(env.port), before, "%s: feeds keep their bytes and ETags"
         % what)
    t.ok(env.alive(), "%s: the daemon stays up" % what)
    mark = len(env.log())
    env.clear_faults()
    ip = env.new_ip()
    t.ok(ip and wait_for(lambda: has_ip(env.port, ip), 15),
         "%s: once cleared, the next change reaches the feed" % what,
         env.log()[-1500:])
    if read:
        t.ok(wait_for(lambda: "lumu: full read: " in env.log()[mark:] and
                      " incidents in " in env.log()[mark:], 20),
             "%s: and the full read succeeds again" % what,
             env.log()[mark:][-1500:])


# ------------------------------------------------------------ scenarios

BODY_FAULTS = [
    ("HTTP 500", {"mode": "status", "status": 500},
     "HTTP 500: ServerError - injected fault"),
    ("HTTP 503", {"mode": "status", "status": 503, "body": "down"},
     "HTTP 503"),
    ("garbage", {"mode": "garbage"}, "invalid JSON"),
    ("truncated JSON", {"mode": "truncate"}, "invalid JSON"),
    ("wrong shape", {"mode": "wrong-shape"}, "answer is not an object"),
    ("huge body", {"mode": "huge", "bytes": 5 << 20},
     "response larger than 4194304 bytes"),
]


def body_fault(t, env, what, fault, expect):
    """One fault on the stream and on a full read at the same time: the
    next answer of the stream goes back in offset (which asks for a full
    read), then both lines meet the fault until it is cleared."""
    before = feeds(env.port)
    mark = len(env.log())
    env.fault(mode="offset-backwards", path=UPDATES, count=1)
    env.fault(path=ALL, count=-1, **fault)
    env.fault(path=UPDATES, count=-1, **fault)

    def both():
        lines = env.log()[mark:].splitlines()
        return all(any(line_ in x and expect in x for x in lines)
                   for line_ in ("lumu: full read", "lumu: updates"))
    t.ok(wait_for(both, 15), "%s: the full read and the stream both fail "
         "and log it" % what, env.log()[mark:][-1500:])
    settle(t, env, what, before, expect, read=True)


def rate_limited(t, env, started):
    """A 429 with RateLimit-* headers: spend the key's minute budget from
    outside (another client of the same key), then watch the daemon wait
    for RateLimit-Reset before it asks again."""
    # The stand-in's minute began at `started` with the daemon's first
    # requests; none of them ages out before the daemon has waited.
    time.sleep(max(0, started + 44 - time.monotonic()))
    before = feeds(env.port)
    env.lumu.control("DELETE", "log")
    path = "/api/administration/labels?key=" + KEY
    for _ in range(400):
        if request(env.lumu.port, "GET", path)[0] == 429:
            break
    got = wait_for(lambda: "HTTP 429" in last_error(env.port), 10)
    msg = last_error(env.port)
    t.ok(got and "rate limited by Lumu (HTTP 429), waiting" in msg,
         "HTTP 429: /status last_error says so", msg)
    t.eq(feeds(env.port), before, "HTTP 429: feeds keep their bytes and "
         "ETags")
    t.ok(env.alive(), "HTTP 429: the daemon stays up")
    try:
        wait_s = int(msg.split("waiting ")[1].split(" s")[0])
    except (IndexError, ValueError):
        wait_s = -1
    left = started + 61 - time.monotonic()
    t.ok(left - 4 <= wait_s <= left + 2, "HTTP 429: it waits as "
         "RateLimit-Reset says (about %.0f s)" % left, msg)
    time.sleep(min(max(wait_s, 0), 14) * 0.8)
    _, log = env.lumu.control("GET", "log")
    mine = [r for r in (log or {}).get("requests", [])
            if r["path"].startswith("/api/incidents/")]
    first429 = next((i for i, r in enumerate(mine) if r["status"] == 429),
                    None)
    t.ok(first429 is not None and len(mine) == first429 + 1,
         "HTTP 429: nothing is sent while it waits",
         [(r["path"], r["status"], r["time"]) for r in mine])
    env.lumu.control("POST", "ratelimit", {"per_minute": 0})
    ip = env.new_ip()
    t.ok(ip and wait_for(lambda: has_ip(env.port, ip), wait_s + 15),
         "HTTP 429: once the limit lifts, the next change reaches the feed",
         env.log()[-1500:])


def wrong_key(t, env):
    """The key is rotated at Lumu: 401 until the operator puts the new
    one in the key file and reloads."""
    before = feeds(env.port)
    new_key = KEY + "-rotated"
    env.lumu.control("POST", "key", {"key": new_key})
    expect = "Lumu rejected the company key (HTTP 401)"
    t.ok(wait_for(lambda: expect in last_error(env.port), 10),
         "wrong key: /status last_error says so", last_error(env.port))
    t.eq(feeds(env.port), before, "wrong key: feeds keep their bytes and "
         "ETags")
    t.ok(env.alive(), "wrong key: the daemon stays up")
    with open(os.path.join(env.wd, "key"), "w") as f:
        f.write(new_key + "\n")
    env.d.signal(signal.SIGHUP)
    ip = env.new_ip()
    t.ok(ip and wait_for(lambda: has_ip(env.port, ip), 15),
         "wrong key: after the new key and a reload, the next change "
         "reaches the feed", env.log()[-1500:])
    t.ok(new_key not in env.log() and KEY not in env.log(),
         "wrong key: neither key is ever logged")


def scenario_faults(t):
    """A backwards offset, bad answers and a rotated key, on one running
    daemon."""
    env = Env("faults", BASE)
    ok = False
    try:
        if not env.serves(t):
            return
        before = feeds(env.port)
        mark = len(env.log())
        env.fault(mode="offset-backwards", path=UPDATES, count=1)
        t.ok(wait_for(lambda: "offset went back" in env.log()[mark:] and
                      "lumu: full read:" in env.log()[mark:], 10),
             "offset backwards: logged, and a full read follows",
             env.log()[mark:][-1500:])
        t.eq(feeds(env.port), before, "offset backwards: feeds keep their "
             "bytes and ETags")
        ip = env.new_ip()
        t.ok(ip and wait_for(lambda: has_ip(env.port, ip), 10),
             "offset backwards: the next change reaches the feed")
        for what, fault, expect in BODY_FAULTS:
            body_fault(t, env, what, fault, expect)
        wrong_key(t, env)
        t.eq(env.stop(), 0, "the daemon stops cleanly")
        ok = True
    finally:
        finish(t, env, ok)


def scenario_ratelimit(t):
    """A 429 from the rate limiter, with its real headers."""
    env = Env("ratelimit", BASE)
    ok = False
    try:
        # The limiter's minute starts empty here.
        env.lumu.control("POST", "ratelimit", {"per_minute": 300})
        started = time.monotonic()
        if not env.serves(t):
            return
        rate_limited(t, env, started)
        t.eq(env.stop(), 0, "the daemon stops cleanly")
        ok = True
    finally:
        finish(t, env, ok)


def stream_timeout(t, env):
    """One long poll answered later than its timeout (updates-wait + 15 s)."""
    before = feeds(env.port)
    env.fault(mode="slow", seconds=20, path=UPDATES, count=1)
    time.sleep(8)
    t.eq(feeds(env.port), before, "slow answer: feeds unchanged while it "
         "hangs")
    settle(t, env, "slow answer", before, "updates: timeout", timeout=15)


def standin_down(t, env, data):
    """The API goes away: connections are refused; then a restart while
    it is still away; then it comes back on the same port."""
    before = feeds(env.port)
    env.lumu.stop()
    t.ok(wait_for(lambda: "connect" in last_error(env.port).lower(), 10),
         "refused: /status last_error says so", last_error(env.port))
    t.eq(feeds(env.port), before, "refused: feeds keep their bytes and "
         "ETags")
    t.ok(env.alive(), "refused: the daemon stays up")
    t.eq(env.stop(), 0, "refused: the daemon stops cleanly")
    env.d = Daemon(env.wd, env.conf)
    first = (0, {}, b"")
    end = time.monotonic() + 10
    while first[0] == 0 and time.monotonic() < end:
        first = request(env.port, "GET", "/feeds/ip")
        time.sleep(0.001)
    t0 = time.monotonic()
    t.eq((first[0], first[1].get("etag"), first[2]), (200, before["ip"][2],
         before["ip"][1]), "restart with Lumu down: the very first answer "
         "is the saved feed")
    loaded = wait_for(lambda: serving(env.port), 5)
    t.note("saved feeds served %.3f s after the first answer" %
           (time.monotonic() - t0))
    t.ok(loaded and feeds(env.port) == before, "restart with Lumu down: "
         "the saved feeds, same bytes and ETags", feeds(env.port))
    t.eq(request(env.port, "GET", "/readyz")[0], 200, "restart with Lumu "
         "down: /readyz is 200 (just started from saved state)")
    t.ok((status(env.port).get("lumu") or {}).get("loaded_state") is True,
         "restart with Lumu down: /status says loaded_state")
    # Back on the same port, with one incident more.
    wd2 = os.path.join(env.wd, "again")
    os.mkdir(wd2)
    env.counter += 1
    ip = "45.30.0.%d" % env.counter
    data["incidents"].append(incident("back-1", ip))
    env.lumu = Standin(wd2, KEY, data, ["--port", str(env.lumu.port)])
    t.ok(wait_for(lambda: has_ip(env.port, ip), 15),
         "Lumu back: its news reaches the feed", env.log()[-1500:])
    # A new stand-in numbers its stream afresh: bring it past the cursor
    # the daemon saved, as the real stream would be.
    cursor = (status(env.port).get("lumu") or {}).get("offset") or "0"
    for _ in range(20):
        _, st = env.lumu.control("GET", "state")
        if st["offset"] > int(cursor):
            break
        env.lumu.control("POST", "events", {"events": [
            {"IncidentMarkedAsRead": {"incidentId": "back-1"}}] *
            min(5000, int(cursor) - st["offset"] + 1)})
    ip = env.new_ip()
    t.ok(ip and wait_for(lambda: has_ip(env.port, ip), 10),
         "Lumu back: the stream delivers again", env.log()[-1500:])


def scenario_outage(t):
    """A slow answer, a refused connection, a restart while Lumu is down
    (with a state of a few thousand incidents, so loading it takes a
    moment)."""
    bulk = [incident("o%04d" % i, "45.12.%d.%d" % (i // 250, i % 250 + 1),
                     days=3) for i in range(3000)]
    env = Env("outage", BASE + bulk)
    ok = False
    try:
        if not env.serves(t):
            return
        stream_timeout(t, env)
        _, data = env.lumu.control("GET", "incidents")
        standin_down(t, env, data)
        t.eq(env.stop(), 0, "the daemon stops cleanly")
        ok = True
    finally:
        finish(t, env, ok)


def damaged_state(t, env, what, damage, want):
    """Stops the daemon, damages its state file, starts it again."""
    t.eq(env.stop(), 0, "%s: the daemon stops cleanly" % what)
    path = os.path.join(env.wd, "state", "state")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(damage(data))
    nbad = len(glob.glob(path + ".bad-*"))
    env.start(wait=False)
    t.ok(env.alive(), "%s: the daemon starts" % what, env.log()[-1500:])
    t.ok(wait_for(lambda: "is damaged" in env.log(), 5),
         "%s: it logs the damage" % what, env.log()[-1500:])
    t.eq(len(glob.glob(path + ".bad-*")), nbad + 1, "%s: the file is set "
         "aside as state.bad-*" % what)
    t.ok(wait_for(lambda: feeds(env.port) == want, 15), "%s: a full sync "
         "brings the same feeds back" % what, feeds(env.port))
    t.ok((status(env.port).get("lumu") or {}).get("loaded_state") is False,
         "%s: /status says the state was not loaded" % what)


def shrink_guard(t, env):
    """A read that would empty most of a feed is held back once."""
    before = feeds(env.port)
    t.eq(env.stop(), 0, "shrink: the daemon stops cleanly")
    for iid in ("b%02d" % i for i in range(6)):
        env.lumu.control("POST", "incidents/" + iid,
                         {"status": "muted", "quiet": True})
    env.start(wait=False)
    t.ok(wait_for(lambda: "held back" in env.log(), 10),
         "shrink: the first read after the restart is held back",
         env.log()[-1500:])
    t.eq(feeds(env.port), before, "shrink: feeds keep their bytes and ETags")
    env.fault(mode="offset-backwards", path=UPDATES, count=1)
    left = "".join(ip + "\n" for ip in BASE_IPS[6:])
    t.ok(wait_for(lambda: "applying it" in env.log(), 10),
         "shrink: a second read that agrees is applied", env.log()[-1500:])
    t.ok(wait_for(lambda: sorted(feeds(env.port)["ip"][1].decode()
                                 .splitlines()) == sorted(left.split()), 5),
         "shrink: the feed now has only the incidents left open",
         feeds(env.port)["ip"])


def scenario_state(t):
    """Damaged state files, then the shrink guard."""
    env = Env("state", BASE)
    ok = False
    try:
        if not env.serves(t):
            return
        want = feeds(env.port)
        damaged_state(t, env, "truncated state", lambda d: d[:len(d) // 2],
                      want)
        damaged_state(t, env, "garbage state",
                      lambda d: b"\x00garbage\xff\n" * 64, want)
        shrink_guard(t, env)
        t.eq(env.stop(), 0, "the daemon stops cleanly")
        ok = True
    finally:
        finish(t, env, ok)


class Watcher:
    """Keeps changing incidents at Lumu and records every feed body the
    daemon serves, with its ETag."""

    def __init__(self, env, base_ips):
        self.env = env
        self.base = set(base_ips)
        self.posted = []            # addresses, in the stream's order
        self.seen = {n: {} for n in FEED_TYPES}      # body -> etag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.post),
                        threading.Thread(target=self.watch)]
        for th in self.threads:
            th.start()

    def post(self):
        while not self.stop.wait(0.25):
            ip = self.env.new_ip()
            if ip:
                with self.lock:
                    self.posted.append(ip)

    def watch(self):
        while not self.stop.wait(0.02):
            for name, (s, body, etag) in feeds(self.env.port).items():
                if s == 200:
                    with self.lock:
                        self.seen[name].setdefault(body, etag)

    def close(self):
        self.stop.set()
        for th in self.threads:
            th.join()

    def correct_ip(self, body):
        """A body consistent with Lumu at some moment: the base and the
        first k posted addresses, for some k."""
        got = set(body.decode().split())
        with self.lock:
            posted = list(self.posted)
        extra = got - self.base
        return self.base <= got and extra == set(posted[:len(extra)])


def check_after_crash(t, env, w, i, stats):
    """The feeds right after a restart: valid, and published before (or
    a newer state Lumu really had)."""
    now = feeds(env.port)
    for name, (s, body, etag) in now.items():
        ok, out = panos_check(FEED_TYPES[name], body)
        if not ok or s != 200:
            t.ok(False, "kill %d: feed %s valid" % (i, name), out)
            return False
        with w.lock:
            seen = w.seen[name].get(body)
        if seen is not None:
            stats["seen"] += 1
            if seen != etag:
                t.ok(False, "kill %d: feed %s has the ETag it had" % (i, name),
                     (seen, etag))
                return False
        elif name != "ip" or not w.correct_ip(body):
            t.ok(False, "kill %d: feed %s is one that was published"
                 % (i, name), body)
            return False
        else:
            stats["newer"] += 1
    return True


def kill_once(env, rnd, i, stats):
    """Kills the daemon the moment a state write is under way (odd
    rounds), or at a random moment after it saved once (even rounds)."""
    state = os.path.join(env.wd, "state", "state")
    tmp = "%s.tmp.%d" % (state, env.d.proc.pid)
    started = time.time()
    end = time.monotonic() + 12
    while time.monotonic() < end:
        if i % 2 == 1 and os.path.exists(tmp):
            stats["mid-write"] += 1
            break
        if i % 2 == 0 and os.path.exists(state) and \
                os.path.getmtime(state) > started:
            time.sleep(rnd.uniform(0, 2.5))
            break
        time.sleep(0.0003 if i % 2 == 1 else 0.01)
    env.d.proc.send_signal(signal.SIGKILL)
    env.d.proc.wait()
    env.d.log.close()
    stats["tmp-left"] += os.path.exists(tmp)


def scenario_kill(t):
    """kill -9 ten times while Lumu keeps changing."""
    bulk = [incident("k%03d" % i, "45.11.%d.%d" % (i // 200, i % 200 + 1),
                     days=2) for i in range(300)]
    env = Env("kill", BASE + bulk)
    rnd = random.Random(os.getpid())
    stats = {"seen": 0, "newer": 0, "mid-write": 0, "tmp-left": 0,
             "loaded": 0, "aside": 0}
    ok = False
    w = None
    try:
        if not env.serves(t):
            return
        w = Watcher(env, BASE_IPS + [i["adversaries"][0] for i in bulk])
        good = True
        for i in range(10):
            kill_once(env, rnd, i, stats)
            env.start(wait=False)
            if not t.ok(wait_for(lambda: serving(env.port), 10),
                        "kill %d: the daemon serves again" % i,
                        env.log()[-1500:]):
                good = False
                break
            good = check_after_crash(t, env, w, i, stats) and good
            log = env.log()
            stats["loaded"] += "state: loaded" in log
            stats["aside"] += "is damaged" in log
        t.ok(good, "after each kill -9, every feed is valid and one that "
             "was published (or a newer state Lumu had)")
        t.eq(stats["aside"], 0, "no kill -9 ever damaged the state file")
        t.eq(stats["loaded"], 10, "the state loaded after every restart")
        left = [f for f in os.listdir(os.path.join(env.wd, "state"))
                if ".tmp." in f and
                not f.endswith(".tmp.%d" % env.d.proc.pid)]
        t.eq(left, [], "no temporary state file of a killed daemon is "
             "left behind once it runs again")
        t.note("%d feeds as seen before, %d newer; %d kills mid-write, "
               "%d of them left a temporary file for the next start"
               % (stats["seen"], stats["newer"], stats["mid-write"],
                  stats["tmp-left"]))
        w.close()
        w = None
        t.eq(env.stop(), 0, "the daemon stops cleanly")
        ok = True
    finally:
        if w is not None:
            w.close()
        finish(t, env, ok)


def scenario_triggers(t):
    """threat-triggers = yes through the daemon: a trigger of an active
    context reaches the url feed, one of an inactive context does not,
    and a restart keeps them across its first full read."""
    incs = BASE + [incident("t01", "trig.example", types=("Malware",)),
                   incident("t02", "quiet.example", types=("Malware",))]
    ctx = {"t01": {"currently_active": True, "threat_triggers":
                   ["https://trig.example/payload.php"]},
           "t02": {"currently_active": False, "threat_triggers":
                   ["https://inactive.example/x"]}}
    env = Env("triggers", incs, "threat-triggers = yes\n", ctx)
    ok = False
    try:
        start = time.monotonic()
        if not env.serves(t):
            return
        t.ok("not implemented" not in env.log(), "threat-triggers = yes "
             "gives no warning", env.log()[-1500:])

        def urls():
            return feeds(env.port)["urls"][1]
        t.ok(wait_for(lambda: b"trig.example/payload.php" in urls(), 65),
             "an active context's trigger reaches the url feed", urls())
        t.note("the trigger was served %.1f s after the start" %
               (time.monotonic() - start))
        t.ok(b"inactive.example" not in urls(), "an inactive context's "
             "trigger does not")
        before = feeds(env.port)
        t.eq(env.stop(), 0, "the daemon stops cleanly")
        mark = 0
        env.start(wait=False)
        t.ok(wait_for(lambda: "sync: " in env.log()[mark:], 10),
             "after a restart, the first full read is applied",
             env.log()[-1500:])
        t.eq(feeds(env.port), before, "and the triggers read before the "
             "restart stay: same bytes and ETags")
        t.eq(env.stop(), 0, "the daemon stops cleanly")
        ok = True
    finally:
        finish(t, env, ok)


SCENARIOS = [("faults", scenario_faults),
             ("ratelimit", scenario_ratelimit), ("outage", scenario_outage),
             ("state", scenario_state), ("kill", scenario_kill),
             ("triggers", scenario_triggers)]


def run(name, func, rec):
    try:
        func(rec)
    except Exception:
        rec.ok(False, "scenario raised", traceback.format_exc())


def main():
    t = Tap()
    picked = [s for s in SCENARIOS if len(sys.argv) < 2 or
              s[0] in sys.argv[1:]]
    recs = [Rec(name) for name, _ in picked]
    threads = [threading.Thread(target=run, args=(name, func, rec))
               for (name, func), rec in zip(picked, recs)]
    start = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for rec in recs:
        for kind, cond, what, detail in rec.items:
            if kind == "note":
                print("# " + what)
            else:
                t.ok(cond, what, detail)
    print("# %.0f s" % (time.monotonic() - start))
    t.done()


if __name__ == "__main__":
    main()
