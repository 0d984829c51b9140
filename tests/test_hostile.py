#!/usr/bin/python3
"""Black-box: hostile clients against the real lumu-edl (threads = 2).

While a well-behaved client fetches feeds over plain HTTP and TLS, and
checks every answer byte for byte and times it, the test holds a
thousand idle connections, idle half-sent requests, TLS handshakes that
stall (nothing sent, or half a ClientHello), a client that sends a
request a byte every quarter second and one that sends headers a byte a
second without end, and it
sends oversized request lines and headers, malformed request lines,
pipelined requests, half-closed requests and connections reset right
after their request.  Checks: the good client's answers are all right
and their p99 latency stays under P99_LIMIT; every hostile request gets
a 4xx or a close, never a hang; the stalled connections and the endless
headers are closed by the server's request deadline
(HTTP_REQUEST_TIMEOUT_S in feed/http.c) within a margin, and counted in
/metrics, while the quarter-second request, done within it, is answered;
the daemon never dies.  Then a second daemon, started with a
limit of FD_LIMIT open files, gets 200 connections: it must not crash,
must say why it stops accepting, and must serve new clients again as
the connections close.  About 25 seconds."""

import gzip
import hashlib
import http.client
import os
import resource
import selectors
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blackbox_lib import (BINARY, Daemon, Standin, Tap, feeds_conf,  # noqa
                          finish, free_port, panos_check, request, wait_for,
                          workdir)

KEY = "hostile-company-key-0123456789"
FEEDS = {"ip": "ip", "domains": "domain", "urls": "url"}
REQUEST_TIMEOUT = 10    # HTTP_REQUEST_TIMEOUT_S of feed/http.c
CLOSE_MARGIN = 8        # seconds allowed past it on a busy machine
P99_LIMIT = 0.200       # seconds, for the good client
IDLE = 1000
FD_LIMIT = 64


def write_conf(wd, api_url, port, tls_port, state="state"):
    tls = ""
    if tls_port:
        tls = ("listen = 127.0.0.1:%d tls\ntls-certificate = tls.crt\n"
               "tls-key = tls.key\n" % tls_port)
    return feeds_conf(wd, KEY, api_url, port, name="feeds-%d.conf" % port,
                      server=tls, state_dir=state)


def make_certificate(wd):
    """A self-signed certificate for 127.0.0.1, made now; True if made."""
    try:
        p = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
             "/CN=localhost", "-addext",
             "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", os.path.join(wd, "tls.key"),
             "-out", os.path.join(wd, "tls.crt")],
            capture_output=True, timeout=30)
    except OSError:
        return False
    return p.returncode == 0


def etag_of(body):
    """The server's strong ETag for a body: 32 hex digits of SHA-256."""
    return '"%s"' % hashlib.sha256(body).hexdigest()[:32]


class Good(threading.Thread):
    """The well-behaved client: a new connection per request, every feed
    in turn, one request in five over TLS; answers checked and timed."""

    def __init__(self, port, tls_port, ca, ref):
        super().__init__(daemon=True)
        self.port, self.tls_port, self.ref = port, tls_port, ref
        self.ctx = ssl.create_default_context(cafile=ca)
        self.stop = threading.Event()
        self.latencies, self.wrong = [], []

    def one(self, name, tls):
        if tls:
            c = http.client.HTTPSConnection("127.0.0.1", self.tls_port,
                                            context=self.ctx, timeout=10)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port,
                                           timeout=10)
        gz = len(self.latencies) % 3 == 0
        start = time.monotonic()
        try:
            c.request("GET", "/feeds/" + name,
                      headers={"Accept-Encoding": "gzip"} if gz else {})
            r = c.getresponse()
            body = r.read()
            status, enc = r.status, r.getheader("Content-Encoding")
        except (OSError, http.client.HTTPException) as e:
            status, body, enc = repr(e), b"", None
        finally:
            c.close()
        self.latencies.append(time.monotonic() - start)
        if enc == "gzip":
            body = gzip.decompress(body)
        if status != 200 or body != self.ref[name]:
            self.wrong.append((name, tls, status, len(body)))

    def run(self):
        names = list(FEEDS) * 5
        i = 0
        while not self.stop.is_set():
            self.one(names[i % len(names)], i % 5 == 4)
            i += 1
            time.sleep(0.01)

    def p99(self):
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0


class Stalled(threading.Thread):
    """Watches connections that send nothing more; notes when the server
    closes each one (EOF or reset), seconds after it was opened."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.opened, self.closed = {}, {}
        self.done = threading.Event()

    def add(self, kind, sock):
        sock.setblocking(False)
        with self.lock:
            self.opened[sock] = (kind, time.monotonic())
            self.sel.register(sock, selectors.EVENT_READ)

    def run(self):
        while not self.done.is_set():
            with self.lock:
                ready = self.sel.select(timeout=0) if self.opened else []
            for key, _ in ready:
                s = key.fileobj
                try:
                    gone = s.recv(65536) == b""
                except BlockingIOError:
                    continue
                except OSError:
                    gone = True
                if gone:
                    with self.lock:
                        kind, t0 = self.opened[s]
                        self.closed[s] = (kind, time.monotonic() - t0)
                        self.sel.unregister(s)
            time.sleep(0.02)

    def pending(self):
        with self.lock:
            return len(self.opened) - len(self.closed)

    def close_all(self):
        self.done.set()
        for s in self.opened:
            s.close()


def client_hello():
    """The bytes of a real TLS ClientHello."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def read_response(f, head=False):
    """One HTTP/1.1 response from a buffered reader: (status, headers,
    body), or None at EOF."""
    line = f.readline()
    if not line:
        return None
    status = int(line.split()[1])
    hdrs = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    body = b"" if head or status == 304 else f.read(n)
    return status, hdrs, body


def raw(port, data, shut=False, timeout=5.0):
    """Sends data on a new connection; returns (bytes answered, seconds,
    how it ended: 'eof', 'reset' or 'timeout')."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    start, out, end = time.monotonic(), b"", "eof"
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        end = "timeout"
    except OSError:
        end = "reset"
    finally:
        s.close()
    return out, time.monotonic() - start, end


def status_of(answer):
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


HOSTILE = [
    ("a 20 KB request line", b"GET /" + b"a" * 20000 +
     b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("a 9 KB request line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n"),
    ("100 headers of 200 bytes", b"GET /feeds/ip HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 200) for i in range(100)) +
     b"\r\n"),
    ("one 9 KB header", b"GET /feeds/ip HTTP/1.1\r\nX-Big: " +
     b"v" * 9000 + b"\r\n\r\n"),
    ("a 5 KB method", b"A" * 5000 + b" /feeds/ip HTTP/1.1\r\n"
     b"Connection: close\r\n\r\n"),
    ("a garbage request line", b"GARBAGE\r\n\r\n"),
    ("a method alone", b"GET\r\n\r\n"),
    ("HTTP/9.9", b"GET /feeds/ip HTTP/9.9\r\n\r\n"),
    ("binary bytes", b"\x00\x01\x02\xff\xfe\r\n\r\n"),
    ("a fourth request-line field",
     b"GET /feeds/ip HTTP/1.1 extra\r\nHost: x\r\n\r\n"),
    ("a NUL in the target", b"GET /feeds/ip\x00x HTTP/1.1\r\n\r\n"),
    ("a bad percent escape", b"GET /feeds/%zz HTTP/1.1\r\n"
     b"Connection: close\r\n\r\n"),
    ("a header without a colon", b"GET /feeds/ip HTTP/1.1\r\nHost x\r\n\r\n"),
    ("a negative Content-Length", b"POST /feeds/ip HTTP/1.1\r\n"
     b"Content-Length: -1\r\n\r\n"),
    ("a 100 KB body", b"POST /feeds/ip HTTP/1.1\r\nContent-Length: "
     b"100000\r\n\r\n" + b"x" * 100000),
    ("a bad chunk size", b"POST /feeds/ip HTTP/1.1\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n"),
    ("TLS bytes on the plain port", client_hello()),
]


def check_hostile_requests(t, port):
    """Each gets a 4xx status or a close within seconds, never a 2xx."""
    for what, data in HOSTILE:
        out, secs, end = raw(port, data)
        code = status_of(out)
        t.ok(end != "timeout" and (400 <= code < 500 or not out),
             "%s: answered %s in %.2f s (%s)" % (what, code or "nothing",
                                                 secs, end),
             out[:200])


def check_pipelined(t, port, ref):
    """Several requests in one write: all answered, in order."""
    reqs = [("GET", "/feeds/ip"), ("GET", "/feeds/domains"),
            ("HEAD", "/feeds/urls"), ("GET", "/healthz"), ("GET", "/nope"),
            ("GET", "/feeds/urls")]
    data = b"".join(b"%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (
        m.encode(), p.encode(),
        b"Connection: close\r\n" if i == len(reqs) - 1 else b"")
        for i, (m, p) in enumerate(reqs))
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    got = []
    try:
        s.sendall(data)
        f = s.makefile("rb")
        for m, _ in reqs:
            r = read_response(f, head=m == "HEAD")
            if r is None:
                break
            got.append((r[0], r[2]))
    except OSError as e:
        got.append(repr(e))
    finally:
        s.close()
    want = [(200, ref["ip"]), (200, ref["domains"]), (200, b""),
            (200, b"ok\n"), (404, None), (200, ref["urls"])]
    ok = len(got) == len(want) and all(
        g[0] == w[0] and (w[1] is None or g[1] == w[1])
        for g, w in zip(got, want))
    t.ok(ok, "six pipelined requests in one write are answered in order",
         [(g[0], len(g[1])) if isinstance(g, tuple) else g for g in got])


def check_half_closed(t, port, ref):
    """A request then SHUT_WR: still answered in full."""
    for name in ("urls", "ip"):
        out, secs, end = raw(port, b"GET /feeds/%s HTTP/1.1\r\nHost: x\r\n"
                             b"\r\n" % name.encode(), shut=True)
        body = out.partition(b"\r\n\r\n")[2]
        t.ok(status_of(out) == 200 and body == ref[name] and end == "eof",
             "half-closed request for /feeds/%s answered in full (%.2f s)"
             % (name, secs), out[:200])


def check_resets(t, port):
    """200 connections reset right after their request."""
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(b"GET /feeds/urls HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()
    t.ok(request(port, "GET", "/healthz")[0] == 200,
         "200 connections reset after their request: still serving")


class Trickle(threading.Thread):
    """Sends data a byte every `every` seconds, reading meanwhile, until
    the server closes; secs is then the time since connecting."""

    def __init__(self, port, data, every):
        super().__init__(daemon=True)
        self.port, self.data, self.every = port, data, every
        self.answer, self.end, self.secs = b"", None, None
        self.stop = threading.Event()

    def run(self):
        start = time.monotonic()
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ)
        try:
            i = 0
            while not self.stop.is_set():
                if i < len(self.data):
                    s.sendall(self.data[i:i + 1])
                    i += 1
                if not sel.select(self.every):
                    continue
                b = s.recv(65536)
                if not b:
                    self.end = "eof"
                    return
                self.answer += b
            self.end = "still open"
        except OSError as e:
            self.end = "closed by the server (%s)" % type(e).__name__
        finally:
            self.secs = time.monotonic() - start
            sel.close()
            s.close()


def open_stalled(watch, port, tls_port):
    for _ in range(IDLE):
        watch.add("idle", socket.create_connection(("127.0.0.1", port)))
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /feeds/ip HTTP/1.1\r\nHost: x\r\n")
        watch.add("half-sent request", s)
    hello = client_hello()
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", tls_port))
        if i % 2:
            s.sendall(hello[:len(hello) // 2])
        watch.add("TLS, half a ClientHello" if i % 2 else
                  "TLS, nothing sent", s)


def at_deadline(secs):
    """Whether a connection open secs was closed by the request deadline
    (not before it, nor long after)."""
    return REQUEST_TIMEOUT - 0.5 <= secs <= REQUEST_TIMEOUT + CLOSE_MARGIN


def check_stalled(t, watch):
    kinds = {}
    for s, (kind, _) in watch.opened.items():
        secs = watch.closed.get(s, (kind, None))[1]
        kinds.setdefault(kind, []).append(secs)
    for kind, secs in kinds.items():
        closed = [x for x in secs if x is not None]
        t.ok(len(closed) == len(secs) and all(map(at_deadline, closed)),
             "%d stalled connections (%s) closed by the server: %d, "
             "after %.1f to %.1f s (request deadline %d s)" % (
                 len(secs), kind, len(closed), min(closed or [0]),
                 max(closed or [0]), REQUEST_TIMEOUT))


def request_timeouts(port):
    """lumu_edl_http_request_timeouts_total from /metrics, or -1."""
    for line in request(port, "GET", "/metrics")[2].decode().splitlines():
        if line.startswith("lumu_edl_http_request_timeouts_total "):
            return int(line.split()[1])
    return -1


def baseline(port, tls_port, ca, ref):
    """The good client alone for three seconds: its p99 in ms."""
    good = Good(port, tls_port, ca, ref)
    good.start()
    time.sleep(3)
    good.stop.set()
    good.join(15)
    return good.p99() * 1000


def hostile_phase(t, port, tls_port, ca, ref):
    quiet = baseline(port, tls_port, ca, ref)
    watch = Stalled()
    watch.start()
    good = Good(port, tls_port, ca, ref)
    good.start()
    slow = Trickle(port, b"GET /feeds/ip HTTP/1.0\r\n\r\n", 0.25)
    endless = Trickle(port, b"GET /feeds/ip HTTP/1.1\r\nX-Slow: " +
                      b"a" * 4000, 1)
    slow.start()
    endless.start()
    start = time.monotonic()
    open_stalled(watch, port, tls_port)
    check_hostile_requests(t, port)
    check_pipelined(t, port, ref)
    check_half_closed(t, port, ref)
    check_resets(t, port)
    wait_for(lambda: watch.pending() == 0 and not slow.is_alive() and
             not endless.is_alive(),
             REQUEST_TIMEOUT + CLOSE_MARGIN + 2 - (time.monotonic() - start),
             step=0.2)
    good.stop.set()
    endless.stop.set()
    good.join(15)
    slow.join(5)
    endless.join(5)
    watch.close_all()
    check_stalled(t, watch)
    body = slow.answer.partition(b"\r\n\r\n")[2]
    t.ok(status_of(slow.answer) == 200 and body == ref["ip"],
         "a request sent a byte every quarter second is answered in full "
         "(%.1f s)" % (slow.secs or 0), slow.answer[:200])
    t.ok(endless.end != "still open" and not endless.answer and
         at_deadline(endless.secs or 0),
         "a client sending headers one byte a second without end: %s "
         "after %.1f s (request deadline %d s)" % (
             endless.end, endless.secs or 0, REQUEST_TIMEOUT),
         endless.answer[:200])
    stalled = len(watch.opened) + 1
    n = request_timeouts(port)
    t.ok(n >= stalled, "/metrics counts %d connections closed by the "
         "request deadline (at least the %d stalled ones)" % (n, stalled))
    t.ok(not good.wrong, "good client: %d answers, all byte for byte"
         % len(good.latencies), good.wrong[:10])
    t.ok(len(good.latencies) > 100 and good.p99() < P99_LIMIT,
         "good client: p99 %.1f ms, max %.1f ms over %d requests under "
         "hostile load (limit %.0f ms; %.1f ms without it)" % (
             good.p99() * 1000, max(good.latencies or [0]) * 1000,
             len(good.latencies), P99_LIMIT * 1000, quiet))


def limit_files():
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def fd_cap_phase(t, wd, api_url, ref):
    """A daemon limited to FD_LIMIT files gets 200 connections."""
    port = free_port()
    conf = write_conf(wd, api_url, port, 0, state="state-fd")
    log = open(os.path.join(wd, "fd-capped.log"), "w")
    p = subprocess.Popen([BINARY, "-c", conf], stdout=log,
                         stderr=subprocess.STDOUT, cwd=wd,
                         preexec_fn=limit_files)
    socks = []
    try:
        up = wait_for(lambda: request(port, "GET", "/feeds/ip")[2] ==
                      ref["ip"], 15)
        t.ok(up, "daemon limited to %d files serves" % FD_LIMIT)
        for _ in range(200):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port),
                                                      timeout=2))
            except OSError:
                break
        time.sleep(2)
        t.ok(p.poll() is None, "with %d connections open against a limit "
             "of %d files it is still running" % (len(socks), FD_LIMIT))
        # Leaves 20 open: well under the limit once the rest are gone.
        for s in socks[:180]:
            s.close()
        start = time.monotonic()
        back = wait_for(lambda: request(port, "GET", "/feeds/urls",
                                        timeout=1)[2] == ref["urls"], 8)
        t.ok(back, "180 closed: a new client is served again after %.1f s"
             % (time.monotonic() - start))
        for s in socks[180:]:
            s.close()
        socks = []
        oks = sum(request(port, "GET", "/feeds/" + n)[2] == ref[n]
                  for n in FEEDS for _ in range(5))
        t.ok(oks == 15 and p.poll() is None,
             "all closed: 15 of 15 requests right, still running", oks)
        with open(os.path.join(wd, "fd-capped.log")) as f:
            text = f.read()
        t.ok("Too many open files" in text,
             "the log says why it stopped accepting", text[-1500:])
    finally:
        for s in socks:
            s.close()
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


def reference(t, port):
    ref = {}
    for name, kind in FEEDS.items():
        status, hdrs, body = request(port, "GET", "/feeds/" + name)
        ref[name] = body
        t.ok(status == 200 and hdrs.get("etag") == etag_of(body),
             "feed %s: %d bytes, ETag is the SHA-256 of the body"
             % (name, len(body)), hdrs)
        ok, out = panos_check(kind, body)
        t.ok(ok, "feed %s passes the PAN-OS line checker" % name, out)
    return ref


def main():
    t = Tap()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < IDLE + 200:
        t.ok(True, "# SKIP open-file limit %d is too low for %d "
             "connections" % (want, IDLE))
        t.done()
    wd = workdir()
    if not make_certificate(wd):
        t.ok(False, "openssl made a certificate")
        t.done()
    lumu = Standin(wd, KEY, extra=["--demo", "300", "--seed", "5"])
    port, tls_port = free_port(), free_port()
    d = None
    try:
        d = Daemon(wd, write_conf(wd, lumu.url, port, tls_port))
        up = wait_for(lambda: request(port, "GET", "/readyz")[0] == 200, 20)
        t.ok(up, "daemon is ready", d.logtext()[-2000:])
        ref = reference(t, port)
        hostile_phase(t, port, tls_port, os.path.join(wd, "tls.crt"), ref)
        t.ok(d.proc.poll() is None and
             request(port, "GET", "/feeds/ip")[2] == ref["ip"],
             "after the hostile load the daemon runs and serves")
        fd_cap_phase(t, wd, lumu.url, ref)
        t.ok(d.stop() == 0, "SIGTERM stops the daemon cleanly")
    finally:
        finish(t, wd, d, lumu)


if __name__ == "__main__":
    main()
