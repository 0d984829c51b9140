#!/usr/bin/python3
"""Black-box: snapshots swapped while the feeds are under load.

The stand-in Lumu API holds about 2,000 incidents; the real daemon runs
with two serving threads and a one-second long poll.  For LOAD_SECONDS,
client threads fetch every feed over keep-alive connections as fast as
they can (GET, GET with gzip, HEAD, HEAD with gzip, conditional GET),
while a driver changes incidents several times a second so that every
feed's snapshot is swapped again and again (wrk adds load beside them
when it is installed).  Checks: no 5xx and no connection error; every
body hashes to its ETag the way snapshot.c makes it (the first 128 bits
of SHA-256, in hex, quoted; "-gz" inside the quotes for the gzip body),
every ETag was published by the daemon and always came with the same
body; HEAD agrees with GET; a gzip body inflates to the plain body of
the same ETag; the daemon's RSS after 5 s and at the end differ by at
most 10% (not checked under AddressSanitizer)."""

import hashlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blackbox_lib import (BINARY, Daemon, Standin, Tap,  # noqa: E402
                          feeds_conf, finish, free_port, incident, iso,
                          request, wait_for, workdir)

KEY = "swap-load-company-key-0123"
FEEDS = ("ip", "domains", "urls")
LOAD_SECONDS = 15
RSS_EARLY = 5                   # seconds into the load of the first RSS
CLIENTS = 4
CHANGES_PER_SECOND = 4
RSS_SLACK = 0.10
# What each client asks for, in turn: (method, gzip, conditional).
KINDS = (("GET", False, False), ("GET", True, False), ("HEAD", False, False),
         ("HEAD", True, False), ("GET", False, True), ("GET", True, True))
# Headers a HEAD must share with the GET of the same ETag.
SAME_HEADERS = ("content-length", "content-type", "content-encoding",
                "cache-control", "vary")
PUBLISHED_RE = re.compile(r'feed (\S+): .* etag ("[0-9a-f]{32}")')


def ip_for(i):
    """A distinct public IPv4 address for every i < 2^16."""
    return "11.%d.%d.%d" % ((i >> 8) & 255, i & 255, 1 + i % 200)


def initial_incidents():
    """1,000 addresses, 700 names and 300 URLs."""
    out = [incident("ip-%04d" % i, ip_for(i)) for i in range(1000)]
    out += [incident("dn-%04d" % i, "host%d.swap.example" % i)
            for i in range(700)]
    out += [incident("url-%04d" % i, "http://web%d.swap.example/p/%d?q=%d"
                     % (i, i, i)) for i in range(300)]
    return out


def strong_etag(body):
    """The ETag snapshot.c gives a body."""
    return '"%s"' % hashlib.sha256(body).hexdigest()[:32]


def asan(binary):
    """Whether binary is built with AddressSanitizer, whose quarantine
    holds freed memory for a while: its RSS then says nothing."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Seen:
    """Everything the clients saw, folded as it arrives."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.requests = 0
        self.errors = []            # connection and protocol errors
        self.nbad = 0               # answers that break a rule
        self.bad = []               # the first few of them
        self.bodies = defaultdict(set)      # (feed, etag) -> digests
        self.get_hdrs = defaultdict(set)    # (feed, etag) -> header sets
        self.get_lm = defaultdict(set)      # (feed, etag) -> Last-Modified
        self.head_hdrs = defaultdict(set)
        self.head_lm = defaultdict(set)
        self.inflated = defaultdict(set)    # (feed, plain etag) -> digests
        self.etags = defaultdict(set)       # feed -> plain etags
        self.sockets = defaultdict(set)     # client -> local ports

    def flag(self, what):
        with self.lock:
            self.nbad += 1
            if len(self.bad) < 20:
                self.bad.append(what)


def check_body(seen, feed, gz, hdrs, body):
    """The ETag rules of one GET 200; returns (etag, plain etag, digest of
    the plain body) or None."""
    etag = hdrs.get("etag", "")
    if gz:
        if hdrs.get("content-encoding") != "gzip" or \
                not etag.endswith('-gz"'):
            seen.flag("%s: gzip asked, got %r %r" % (feed, etag,
                                                     hdrs.get(
                                                         "content-encoding")))
            return None
        try:
            plain = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        except zlib.error as e:
            seen.flag("%s %s: gzip body does not inflate: %s" % (feed, etag,
                                                                   e))
            return None
        base = etag[:-4] + '"'
    else:
        plain, base = body, etag
    if strong_etag(plain) != base:
        seen.flag("%s: body hashes to %s, ETag says %s" % (
            feed, strong_etag(plain), etag))
        return None
    return etag, base, hashlib.sha256(plain).hexdigest()


def record(seen, feed, method, gz, cond, sent, status, hdrs, body):
    """Folds one answer into seen, flagging what breaks a rule."""
    etag = hdrs.get("etag", "")
    sig = tuple(hdrs.get(h) for h in SAME_HEADERS)
    lm = hdrs.get("last-modified")
    with seen.lock:
        seen.requests += 1
        seen.statuses[status] += 1
    if status == 304:
        if not cond or etag != sent or body:
            seen.flag("%s: 304 for %r with ETag %r" % (feed, sent, etag))
        return
    if status != 200:
        seen.flag("%s %s: status %d" % (method, feed, status))
        return
    if cond and etag == sent:
        seen.flag("%s: 200 although If-None-Match %s matches" % (feed, etag))
    if method == "HEAD":
        if body:
            seen.flag("HEAD %s: %d body bytes" % (feed, len(body)))
        with seen.lock:
            seen.head_hdrs[(feed, etag)].add(sig)
            seen.head_lm[(feed, etag)].add(lm)
        return
    if hdrs.get("content-length") != str(len(body)):
        seen.flag("GET %s: Content-Length %r for %d bytes" % (
            feed, hdrs.get("content-length"), len(body)))
    got = check_body(seen, feed, gz, hdrs, body)
    if got is None:
        return
    etag, base, plain_digest = got
    with seen.lock:
        seen.bodies[(feed, etag)].add(hashlib.sha256(body).hexdigest())
        seen.get_hdrs[(feed, etag)].add(sig)
        seen.get_lm[(feed, etag)].add(lm)
        seen.inflated[(feed, base)].add(plain_digest)
        seen.etags[feed].add(base)


def client(idx, port, seen, stop):
    """One keep-alive connection asking for every feed in every way."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    last = {}
    i = idx
    while not stop.is_set():
        feed = FEEDS[i % len(FEEDS)]
        method, gz, cond = KINDS[(i // len(FEEDS)) % len(KINDS)]
        i += 1
        hdrs = {"Accept-Encoding": "gzip"} if gz else {}
        sent = last.get((feed, gz))
        if cond and sent:
            hdrs["If-None-Match"] = sent
        try:
            conn.request(method, "/feeds/" + feed, headers=hdrs)
            with seen.lock:
                seen.sockets[idx].add(conn.sock.getsockname()[1])
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            with seen.lock:
                seen.errors.append("%s %s: %r" % (method, feed, e))
            conn.close()
            continue
        got = {k.lower(): v for k, v in resp.getheaders()}
        if resp.status == 200 and method == "GET":
            last[(feed, gz)] = got.get("etag")
        record(seen, feed, method, gz, cond and sent is not None,
               hdrs.get("If-None-Match"), resp.status, got, body)
    conn.close()


def driver(lumu, stop, counts):
    """Adds an incident (address, name or URL in turn) and mutes the one
    added three turns before, several times a second: every feed keeps
    changing and never comes back to a body it had."""
    n = 0
    live = []
    while not stop.wait(1.0 / CHANGES_PER_SECOND):
        kind = n % 3
        value = ("5.%d.%d.9" % (n >> 8 & 255, n & 255), "swap%d.load.example"
                 % n, "http://swap%d.url.example/x?n=%d" % (n, n))[kind]
        status, _ = lumu.control("POST", "incidents", {"incidents": [
            incident("new-%05d" % n, value)]})
        counts["posted"] += 1
        counts["failed"] += status != 200
        live.append("new-%05d" % n)
        if len(live) > 3:
            status, _ = lumu.control("POST", "incidents/" + live.pop(0),
                                     {"status": "muted",
                                      "statusTimestamp": iso(0),
                                      "event": "IncidentMuted"})
            counts["posted"] += 1
            counts["failed"] += status != 200
        n += 1


def start_wrk(port, wd):
    """wrk on the ip feed with gzip beside the checked clients, or None
    when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    out = open(os.path.join(wd, "wrk.out"), "w")
    return subprocess.Popen(["wrk", "-t1", "-c8", "-d%ds" % LOAD_SECONDS,
                             "-H", "Accept-Encoding: gzip",
                             "http://127.0.0.1:%d/feeds/ip" % port],
                            stdout=out, stderr=subprocess.STDOUT), out


def run_load(t, d, lumu, port, wd):
    """The load phase; returns (seen, RSS after RSS_EARLY s, RSS at end,
    driver counts, wrk output or None)."""
    seen, stop, counts = Seen(), threading.Event(), Counter()
    threads = [threading.Thread(target=client, args=(i, port, seen, stop))
               for i in range(CLIENTS)]
    threads.append(threading.Thread(target=driver, args=(lumu, stop,
                                                         counts)))
    wrk = start_wrk(port, wd)
    start = time.monotonic()
    for th in threads:
        th.start()
    time.sleep(RSS_EARLY)
    early = rss_kb(d.proc.pid)
    time.sleep(max(0, LOAD_SECONDS - (time.monotonic() - start)))
    late = rss_kb(d.proc.pid)
    stop.set()
    for th in threads:
        th.join(30)
    wrk_out = None
    if wrk is not None:
        wrk[0].wait(30)
        wrk[1].close()
        with open(os.path.join(wd, "wrk.out")) as f:
            wrk_out = f.read()
    return seen, early, late, counts, wrk_out


def check_seen(t, seen, published):
    t.ok(seen.requests >= 300, "the clients made %d requests" %
         seen.requests, seen.statuses)
    t.eq(seen.errors, [], "no connection or protocol error")
    t.ok(all(s < 500 for s in seen.statuses), "no 5xx (%s)" %
         dict(seen.statuses), seen.statuses)
    t.ok(all(len(p) == 1 for p in seen.sockets.values()),
         "each client kept one keep-alive connection", dict(seen.sockets))
    t.ok(seen.nbad == 0, "every answer keeps the rules (ETag from the "
         "body, 304 only on a match, HEAD without body): %d do not" %
         seen.nbad, "\n".join(seen.bad))
    for feed in FEEDS:
        etags = seen.etags[feed]
        t.ok(len(etags) >= 3, "feed %s was swapped under load: %d "
             "versions seen" % (feed, len(etags)))
        t.ok(etags <= published[feed], "every ETag of feed %s was "
             "published by the daemon" % feed,
             sorted(etags - published[feed])[:5])
    t.ok(all(len(v) == 1 for v in seen.bodies.values()),
         "each ETag always came with the same body (%d ETags)" %
         len(seen.bodies),
         [k for k, v in seen.bodies.items() if len(v) != 1][:5])
    check_agreement(t, seen)


def check_agreement(t, seen):
    """HEAD against GET, gzip against plain, per ETag."""
    both = [k for k in seen.head_hdrs if k in seen.get_hdrs]
    bad = [k for k in both if seen.head_hdrs[k] != seen.get_hdrs[k] or
           not seen.head_lm[k] <= seen.get_lm[k]]
    t.ok(len(both) >= 3 and not bad, "HEAD and GET agree on %d ETags "
         "(length, type, encoding, caching, Last-Modified)" % len(both),
         [(k, seen.head_hdrs[k], seen.get_hdrs[k]) for k in bad[:3]])
    pairs = [k for k in seen.inflated if (k[0], k[1]) in seen.bodies and
             (k[0], k[1][:-1] + '-gz"') in seen.bodies]
    bad = [k for k in pairs if len(seen.inflated[k]) != 1]
    t.ok(len(pairs) >= 3 and not bad, "gzip bodies inflate to the plain "
         "body of the same ETag (%d ETags)" % len(pairs), bad[:5])


def published_etags(d):
    out = defaultdict(set)
    for m in PUBLISHED_RE.finditer(d.logtext()):
        out[m.group(1)].add(m.group(2))
    return out


def main():
    t = Tap()
    wd = workdir()
    lumu = Standin(wd, KEY, {"incidents": initial_incidents()})
    port = free_port()
    conf = feeds_conf(wd, KEY, lumu.url, port, updates_wait="1s",
                      server="access-log = no\n")
    d = None
    try:
        d = Daemon(wd, conf)
        up = wait_for(lambda: all(request(port, "GET", "/feeds/" + f)[0] ==
                                  200 for f in FEEDS), 60)
        t.ok(up, "daemon serves every feed", d.logtext()[-2000:])
        if not up:
            return
        seen, early, late, counts, wrk_out = run_load(t, d, lumu, port, wd)
        t.ok(counts["posted"] >= LOAD_SECONDS * CHANGES_PER_SECOND and
             counts["failed"] == 0, "the driver made %d incident changes" %
             counts["posted"], counts)
        check_seen(t, seen, published_etags(d))
        if wrk_out is not None:
            t.ok("Non-2xx" not in wrk_out and "Socket errors" not in wrk_out
                 and "Requests/sec" in wrk_out, "wrk beside them: no "
                 "error, no non-2xx", wrk_out)
            m = re.search(r"(\d+) requests in", wrk_out)
            print("# wrk made %s requests" % (m.group(1) if m else "?"))
        growth = (late - early) / early if early else 1
        what = "daemon RSS %d kB after %d s, %d kB after %d s (%+.1f%%)" % (
            early, RSS_EARLY, late, LOAD_SECONDS, growth * 100)
        if asan(BINARY):
            t.ok(True, what + " # SKIP AddressSanitizer keeps freed memory")
        else:
            t.ok(early > 0 and abs(growth) <= RSS_SLACK, what)
        rc = d.stop()
        t.ok(rc == 0, "SIGTERM stops the daemon cleanly", rc)
    finally:
        finish(t, wd, d, lumu)


if __name__ == "__main__":
    main()
