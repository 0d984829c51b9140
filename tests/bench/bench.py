#!/usr/bin/python3
"""Benchmarks of lumu-edl against a reference, reported as ratios.

render     rebuild ip, domain and url feeds from 1,000,000 indicators
           (select + render) against `sort -u` of the same lines, shuffled
serve      requests/s of lumu-edl against nginx serving the same bytes
           from files (sendfile on, same number of workers), with wrk on
           loopback: a 100,000-entry feed, a 1,000-entry feed, the 304 path
ingest     `lumu-edl --once` over 200,000 incidents from the stand-in
           against a plain client fetching the same pages; peak RSS per
           indicator above an empty run
freshness  time from the stand-in queueing an event to the feed carrying it

Runs alternate and medians are quoted: on a shared 2-core machine two
identical runs can differ by 15%.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from blackbox_lib import (Standin, free_port, iso, request,  # noqa: E402
                          wait_for)

KEY = "bench-company-key"


def ip_for(i):
    """A distinct public IPv4 address for every i < 2^24."""
    return "%d.%d.%d.%d" % (11 + (i >> 16) % 150, (i >> 8) & 255, i & 255,
                            1 + i % 200)


def incidents(n, kind="ip"):
    out = []
    for i in range(n):
        adv = ip_for(i) if kind == "ip" else "host%d.bench.example" % i
        out.append({"id": "b-%07d" % i, "status": "open",
                    "adversaryTypes": ["C2C"], "adversaries": [adv],
                    "timestamp": iso(1 + (i % 1000) / 1000.0),
                    "lastContact": iso((i % 1000) / 1000.0)})
    return out


def write_conf(wd, lumu_url, port, feeds, threads=2):
    with open(os.path.join(wd, "key"), "w") as f:
        f.write(KEY)
    path = os.path.join(wd, "feeds.conf")
    with open(path, "w") as f:
        f.write("[lumu]\ncompany-key-file = key\napi-url = %s\n"
                "max-requests-per-minute = 0\nupdates-wait = 5s\n"
                "max-shrink = 100%%\n\n[server]\nlisten = 127.0.0.1:%d\n"
                "threads = %d\nstate-dir = state\naccess-log = no\n\n%s"
                % (lumu_url, port, threads, feeds))
    return path


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          **kw).stdout


def timed(cmd, **kw):
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.monotonic() - t


def bench_render(build, wd):
    out = sh([os.path.join(build, "bench", "bench_render"), "1000000", wd])
    print(out, end="")
    rows = []
    for m in re.finditer(r"feed (\S+) lines (\d+) seconds ([\d.]+)", out):
        name, lines, ours = m.group(1), int(m.group(2)), float(m.group(3))
        src = os.path.join(wd, name + ".lines")
        shuf = src + ".shuf"
        with open(shuf, "w") as f:
            subprocess.run(["shuf", src], check=True, stdout=f)
        ref = statistics.median(
            timed(["sort", "-u", shuf], env=dict(os.environ, LC_ALL="C"))
            for _ in range(3))
        rows.append(("render %s (%d lines)" % (name, lines), ours, ref,
                     ours / ref))
    m = re.search(r"bytes_per_indicator (\d+)", out)
    return rows, int(m.group(1)) if m else None


def wrk(url, header=None, seconds=8):
    cmd = ["wrk", "-t2", "-c50", "-d%ds" % seconds, url]
    if header:
        cmd[1:1] = ["-H", header]
    out = sh(cmd)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError("wrk saw errors: " + out)
    return float(m.group(1))


def start_nginx(wd, root, port):
    conf = os.path.join(wd, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""worker_processes 2;
pid %s/nginx.pid;
error_log %s/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type text/plain;
  client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;
  uwsgi_temp_path %s; scgi_temp_path %s;
  server { listen 127.0.0.1:%d; root %s; }
}
""" % ((wd,) * 7 + (port, root)))
    subprocess.run(["nginx", "-c", conf, "-g", "daemon on;"], check=True)
    return os.path.join(wd, "nginx.pid")


def bench_serve(build, wd, binary):
    lumu = Standin(wd, KEY, {"incidents": incidents(100000)})
    port = free_port()
    conf = write_conf(wd, lumu.url, port,
                      "[feed big]\ntype = ip\n\n[feed small]\ntype = ip\n"
                      "max-entries = 1000\n")
    export = os.path.join(wd, "export")
    os.mkdir(export)
    sh([binary, "--once", "--export", export, "-c", conf], cwd=wd)
    d = subprocess.Popen([binary, "-c", conf], cwd=wd,
                         stderr=subprocess.DEVNULL)
    # nginx workers run as nobody when started as root: let them in.
    os.chmod(wd, 0o755)
    nport = free_port()
    pidfile = start_nginx(wd, export, nport)
    rows = []
    try:
        # Feeds are published one after the other: wait for the last.
        for name in ("big", "small"):
            b = open(os.path.join(export, name), "rb").read()
            same = wait_for(lambda: request(port, "GET", "/feeds/" +
                                            name)[2] == b, 180, step=0.5)
            assert same, "lumu-edl and nginx must serve the same bytes"
            assert request(nport, "GET", "/" + name)[2] == b, \
                "nginx must serve the exported bytes"
        etag = request(port, "GET", "/feeds/small")[1]["etag"]
        netag = request(nport, "GET", "/small")[1]["etag"]
        cases = [("serve 100,000-entry feed", "/feeds/big", "/big", None,
                  None),
                 ("serve 1,000-entry feed", "/feeds/small", "/small", None,
                  None),
                 ("serve 304 Not Modified", "/feeds/small", "/small",
                  "If-None-Match: " + etag, "If-None-Match: " + netag)]
        for title, p1, p2, h1, h2 in cases:
            ours, ref = [], []
            for _ in range(3):   # alternate, quote medians
                ours.append(wrk("http://127.0.0.1:%d%s" % (port, p1), h1))
                ref.append(wrk("http://127.0.0.1:%d%s" % (nport, p2), h2))
            o, r = statistics.median(ours), statistics.median(ref)
            rows.append((title + " (req/s)", o, r, o / r))
    finally:
        d.terminate()
        d.wait()
        with open(pidfile) as f:
            os.kill(int(f.read()), signal.SIGQUIT)
        lumu.stop()
    return rows


def peak_rss_run(cmd, cwd):
    """Runs cmd, returns (seconds, peak RSS in bytes of that process).
    Linux carries a process's peak RSS across fork and exec, so a child
    of this interpreter (holding the whole data set) would report the
    interpreter's size: GNU time, a small process, forks it instead."""
    t = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-f", "peak_rss_kb %M"] + cmd,
                         cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.communicate()[1].decode()
    secs = time.monotonic() - t
    if p.returncode != 0:
        raise RuntimeError(err)
    peak = re.findall(r"^peak_rss_kb (\d+)$", err, re.M)
    return secs, int(peak[-1]) * 1024


def raw_fetch(url, pages):
    """The reference: every page fetched by a plain client, in turn."""
    body = json.dumps({"fromDate": iso(30), "toDate": iso(0),
                       "status": ["open", "muted", "closed"],
                       "adversary-types": ["C2C"]}).encode()
    t = time.monotonic()
    for page in range(1, pages + 1):
        req = urllib.request.Request(
            "%s/api/incidents/all?key=%s&page=%d&items=100" % (url, KEY,
                                                              page),
            data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            r.read()
    return time.monotonic() - t


def bench_ingest(build, wd, binary, n=200000):
    rows = []
    empty_wd = os.path.join(wd, "empty")
    os.mkdir(empty_wd)
    lumu0 = Standin(empty_wd, KEY, {"incidents": []})
    conf0 = write_conf(empty_wd, lumu0.url, free_port(),
                       "[feed ip]\ntype = ip\n")
    _, base_rss = peak_rss_run([binary, "--once", "-c", conf0], empty_wd)
    lumu0.stop()
    lumu = Standin(wd, KEY, {"incidents": incidents(n)})
    conf = write_conf(wd, lumu.url, free_port(), "[feed ip]\ntype = ip\n")
    try:
        ours, refs, rss = [], [], 0
        for _ in range(3):
            refs.append(raw_fetch(lumu.url, (n + 99) // 100))
            secs, peak = peak_rss_run([binary, "--once", "-c", conf], wd)
            ours.append(secs)
            rss = max(rss, peak)
        o, r = statistics.median(ours), statistics.median(refs)
        rows.append(("ingest %d incidents (s)" % n, o, r, o / r))
    finally:
        lumu.stop()
    return rows, (rss - base_rss) / n


def bench_freshness(build, wd, binary, samples=20):
    lumu = Standin(wd, KEY, {"incidents": incidents(1000)})
    port = free_port()
    conf = write_conf(wd, lumu.url, port, "[feed ip]\ntype = ip\n")
    d = subprocess.Popen([binary, "-c", conf], cwd=wd,
                         stderr=subprocess.DEVNULL)
    lat = []
    try:
        wait_for(lambda: request(port, "GET", "/feeds/ip")[0] == 200, 60)
        time.sleep(1)
        for i in range(samples):
            ip = "5.%d.7.9" % i
            t = time.monotonic()
            lumu.control("POST", "incidents", {"incidents": [
                {"id": "f-%d" % i, "status": "open", "adversaryTypes":
                 ["C2C"], "adversaries": [ip], "timestamp": iso(0),
                 "lastContact": iso(0)}]})
            ok = wait_for(lambda: (ip + "\n").encode()
                          in request(port, "GET", "/feeds/ip")[2], 10,
                          step=0.005)
            if ok:
                lat.append(time.monotonic() - t)
            time.sleep(0.2)
    finally:
        d.terminate()
        d.wait()
        lumu.stop()
    return lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    only = set(args.only or ["render", "serve", "ingest", "freshness"])
    binary = os.path.abspath(os.path.join(args.build, "lumu-edl"))
    rows = []
    notes = []
    for name in ("render", "serve", "ingest", "freshness"):
        if name not in only:
            continue
        wd = tempfile.mkdtemp(prefix="lumu-edl-bench.")
        try:
            if name == "render":
                r, per = bench_render(args.build, wd)
                rows += r
                notes.append("store memory: %s bytes per indicator" % per)
            elif name == "serve":
                rows += bench_serve(args.build, wd, binary)
            elif name == "ingest":
                r, per = bench_ingest(args.build, wd, binary)
                rows += r
                notes.append("ingest peak RSS above an empty run: %.0f "
                             "bytes per indicator" % per)
            else:
                lat = bench_freshness(args.build, wd, binary)
                if lat:
                    notes.append("freshness: median %.0f ms, max %.0f ms "
                                 "over %d events" % (
                                     statistics.median(lat) * 1000,
                                     max(lat) * 1000, len(lat)))
        finally:
            shutil.rmtree(wd, ignore_errors=True)
    print("\n%-44s %12s %12s %8s" % ("benchmark", "lumu-edl", "reference",
                                      "ratio"))
    for title, o, r, ratio in rows:
        print("%-44s %12.3f %12.3f %8.2f" % (title, o, r, ratio))
    for n in notes:
        print(n)


if __name__ == "__main__":
    main()
