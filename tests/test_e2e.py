#!/usr/bin/python3
"""Black-box: the real lumu-edl against the stand-in Lumu API.

Checks the configuration front end (-n, -nn, FILE:LINE errors), --once
with --export, and the daemon: every feed body byte for byte, the HTTP
answers around it, a live Lumu change arriving, reload (bad and good),
and a graceful stop.  Every feed body also goes through the independent
PAN-OS line checker."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blackbox_lib import (FEED_TYPES, Daemon, Standin, Tap,  # noqa: E402
                          feeds_conf, finish, free_port,
                          incident as lumu_incident, iso, panos_check,
                          request, run, wait_for, workdir)

KEY = "e2e-company-key-0123456789"


def incident(iid, status, types, adversary, created, contact):
    return lumu_incident(iid, adversary, status, types, created, contact)


INCIDENTS = [
    incident("e01", "open", ["C2C"], "8.8.8.8", 3, 1),
    incident("e02", "open", ["Malware"], "EVIL.example.", 3, 2),
    incident("e03", "closed", ["Phishing"],
             "http://User@phish.example:8080/Login%7e?x=%2f#frag", 4, 2),
    incident("e04", "open", ["Malware"], "muted.example", 6, 2),
    incident("e05", "muted", ["Malware"], "muted.example", 2, 2),
    incident("e06", "open", ["C2C"], "10.0.0.5", 2, 1),
    incident("e07", "open", ["Malware"], "2606:4700:0:0::1111", 2, 1),
    incident("e08", "open", ["Spam"], "bad\nname.example", 2, 1),
    incident("e09", "open", ["Spam"], "activity.lumu.io", 2, 1),
    incident("e10", "closed", ["C2C"], "old.example", 45, 40),
    incident("e11", "open", ["C2C"], "co.uk", 2, 1),
    incident("e12", "open", ["Network Scan"], "45.33.32.156", 2, 1),
    incident("e13", "open", ["C2C"], "tcp://93.184.216.34:443", 2, 1),
]

EXPECTED = {
    "ip": "8.8.8.8\n45.33.32.156\n93.184.216.34\n2606:4700::1111\n",
    "domains": "*.evil.example\nevil.example\n",
    "urls": "*.evil.example/\n*.evil.example/*\nevil.example/\n"
            "evil.example/*\nphish.example/Login~?x=%2F\n",
}
DROPPED_NAMES = ("activity.lumu.io\tallowlisted\n"
                 "bad\\nname.example\tinvalid\nco.uk\tpublic-suffix\n")
EXPECTED_DROPPED = {
    "ip": "10.0.0.5\tprotected\nbad\\nname.example\tinvalid\n",
    "domains": DROPPED_NAMES,
    "urls": DROPPED_NAMES,
}


def write_conf(wd, api_url, port, extra_feed=""):
    return feeds_conf(wd, KEY, api_url, port, tail=extra_feed +
                      "\n[allowlist]\nentries = activity.lumu.io\n")


def check_config_front_end(t, wd, conf):
    rc, out, err = run(["-n", "-c", conf], cwd=wd)
    t.ok(rc == 0 and out == "configuration OK\n", "-n accepts the config",
         out + err)
    rc, out, err = run(["-nn", "-c", conf], cwd=wd)
    t.ok(rc == 0 and "[feed urls]" in out and KEY not in out + err and
         "lookback = 30d" in out, "-nn prints defaults, hides the key",
         out + err)
    bad = os.path.join(wd, "bad.conf")
    with open(conf) as f, open(bad, "w") as g:
        g.write(f.read().replace("type = domain", "type = domian"))
    rc, out, err = run(["-n", "-c", bad], cwd=wd)
    line = [n for n, l in enumerate(open(bad), 1) if "domian" in l][0]
    t.ok(rc == 1 and err.startswith("%s:%d: " % (bad, line)),
         "-n names FILE:LINE of a bad value", err)
    rc, out, err = run(["-n", "-c", os.path.join(wd, "missing.conf")], cwd=wd)
    t.ok(rc == 1 and "missing.conf" in err, "-n reports a missing file", err)


def check_once(t, wd, conf):
    export = os.path.join(wd, "export")
    os.mkdir(export)
    rc, out, err = run(["--once", "--export", export, "-c", conf], cwd=wd)
    t.ok(rc == 0, "--once exits 0", err)
    for name, body in EXPECTED.items():
        path = os.path.join(export, name)
        got = open(path).read() if os.path.exists(path) else None
        t.eq(got, body, "--once --export wrote feed %s byte for byte" % name)
        t.ok(("%s: %s feed" % (name, FEED_TYPES[name])) in out,
             "--once summarises feed %s" % name, out)
    t.ok(KEY not in out + err, "--once never prints the company key")


def check_daemon_feeds(t, port):
    for name, body in EXPECTED.items():
        status, hdrs, data = request(port, "GET", "/feeds/" + name)
        t.eq((status, data.decode()), (200, body),
             "GET /feeds/%s byte for byte" % name)
        t.eq(hdrs.get("content-type"), "text/plain; charset=utf-8",
             "feed %s content type" % name)
        t.ok(hdrs.get("etag", "").startswith('"'), "feed %s has a strong "
             "ETag" % name, hdrs)
        ok, out = panos_check(FEED_TYPES[name], data)
        t.ok(ok, "feed %s passes the PAN-OS line checker" % name, out)
        status, hdrs2, data2 = request(port, "HEAD", "/feeds/" + name)
        t.ok(status == 200 and data2 == b"" and
             hdrs2.get("content-length") == str(len(body)) and
             hdrs2.get("etag") == hdrs.get("etag"),
             "HEAD /feeds/%s has the GET headers and no body" % name, hdrs2)
        status, _, data = request(port, "GET", "/feeds/%s/dropped" % name)
        t.eq((status, data.decode()), (200, EXPECTED_DROPPED[name]),
             "GET /feeds/%s/dropped" % name)
    status, _, _ = request(port, "GET", "/feeds/nope")
    t.eq(status, 404, "unknown feed is 404")
    status, hdrs, _ = request(port, "POST", "/feeds/ip", body=b"x")
    t.eq(status, 405, "POST is 405")
    status, _, data = request(port, "GET", "/healthz")
    t.eq(status, 200, "/healthz is 200")


def check_live_change(t, lumu, port):
    status, _ = lumu.control("POST", "incidents", {"incidents": [
        incident("e20", "open", ["C2C"], "1.1.1.1", 0, 0)]})
    t.eq(status, 200, "stand-in takes a new incident")

    def has_it():
        s, _, d = request(port, "GET", "/feeds/ip")
        return s == 200 and d.startswith(b"1.1.1.1\n")
    t.ok(wait_for(has_it, 10), "a new Lumu incident reaches the feed")
    lumu.control("POST", "incidents/e20", {"status": "muted",
                                           "statusTimestamp": iso(0),
                                           "event": "IncidentMuted"})

    def gone():
        s, _, d = request(port, "GET", "/feeds/ip")
        return s == 200 and b"1.1.1.1\n" not in d
    t.ok(wait_for(gone, 10), "muting it withdraws it from the feed")


def check_reload(t, d, wd, conf, lumu, port):
    good = open(conf).read()
    with open(conf, "w") as f:
        f.write(good + "\n[feed broken\n")
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    status, _, data = request(port, "GET", "/feeds/domains")
    t.eq((status, data.decode()), (200, EXPECTED["domains"]),
         "a broken reload keeps serving the running config")
    t.ok(wait_for(lambda: "not reloading" in d.logtext(), 5),
         "a broken reload is logged", d.logtext()[-2000:])
    write_conf(wd, lumu.url, port, "\n[feed c2c]\ntype = ip\n"
               "adversary-types = C2C\n")
    d.signal(signal.SIGHUP)

    def new_feed():
        s, _, data = request(port, "GET", "/feeds/c2c")
        return s == 200 and data
    got = wait_for(new_feed, 5)
    t.eq(got, b"8.8.8.8\n93.184.216.34\n", "a good reload adds a feed")


def check_log_file(t, wd, lumu):
    """log-file: the daemon logs there; SIGUSR1 reopens it after rotation."""
    port = free_port()
    conf = write_conf(wd, lumu.url, port)
    logpath = os.path.join(wd, "daemon.log")
    text = open(conf).read().replace(
        "[server]\n", "[server]\nlog-file = %s\n" % logpath, 1)
    with open(conf, "w") as f:
        f.write(text)
    d = Daemon(wd, conf)
    try:
        up = wait_for(lambda: request(port, "GET", "/feeds/ip")[0] == 200,
                      15)
        t.ok(up and "sync:" in open(logpath).read(),
             "log-file receives the daemon's log", d.logtext()[-500:])
        os.rename(logpath, logpath + ".1")
        d.signal(signal.SIGUSR1)
        wait_for(lambda: os.path.exists(logpath), 5)
        request(port, "GET", "/healthz")
        t.ok(wait_for(lambda: os.path.exists(logpath) and
                      "/healthz" in open(logpath).read(), 5),
             "SIGUSR1 reopens the log file after rotation")
    finally:
        d.stop()


def main():
    t = Tap()
    wd = workdir()
    lumu = Standin(wd, KEY, {"incidents": INCIDENTS})
    port = free_port()
    conf = write_conf(wd, lumu.url, port)
    d = None
    try:
        check_config_front_end(t, wd, conf)
        check_once(t, wd, conf)
        d = Daemon(wd, conf)
        up = wait_for(lambda: request(port, "GET", "/feeds/ip")[0] == 200,
                      15)
        t.ok(up, "daemon serves the ip feed after the first sync",
             d.logtext()[-3000:])
        check_daemon_feeds(t, port)
        check_live_change(t, lumu, port)
        check_reload(t, d, wd, conf, lumu, port)
        t.ok(KEY not in d.logtext(), "the company key is never logged")
        start = time.monotonic()
        rc = d.stop()
        t.ok(rc == 0 and time.monotonic() - start < 5,
             "SIGTERM stops the daemon cleanly", rc)
        check_log_file(t, wd, lumu)
    finally:
        finish(t, wd, d, lumu)


if __name__ == "__main__":
    main()
