#!/usr/bin/python3
"""Black-box: pushing to PAN-OS, against tests/fake_panos.py (HTTPS, its
certificate trusted through --ca-file / ca-file) and the stand-in Lumu API.

lumu-to-paloalto (the real binary under that name): DAG registration
add-only and with --overwrite-dag, category merge and
--overwrite-category, the include options, the commit job polled to FIN,
the key always in the X-PAN-KEY header, --config files, -t and
timestamp.stmp written only after full success, and failures (wrong
password, a failing commit job, Lumu refusing the key, usage errors)
ending non-zero with one line on stderr and nothing recorded.

The daemon with a [panos fw1] section: the tag and the category
converge to exactly the feeds, a live Lumu change follows, device faults
are retried, and /status reports the target."""

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blackbox_lib import (BINARY, HERE, PY, Daemon, Standin, Tap,  # noqa
                          feeds_conf, finish, free_port,
                          incident as lumu_incident, request, start_child,
                          stop_child, wait_for, workdir)

PA_BINARY = os.environ.get("LUMU_TO_PALOALTO", os.path.join(
    os.path.dirname(BINARY), "lumu-to-paloalto"))
KEY = "panos-test-company-key"
TAG = "lumu-iocs"
CAT = "Lumu Blocklist"


def incident(iid, status, types, adversary, days=1):
    return lumu_incident(iid, adversary, status, types, days + 1, days)


INCIDENTS = [
    incident("p01", "open", ["C2C"], "8.8.8.8"),
    incident("p02", "closed", ["Malware"], "45.33.32.156"),
    incident("p03", "open", ["C2C"], "10.0.0.5"),
    incident("p04", "muted", ["C2C"], "1.0.0.1"),
    incident("p05", "open", ["Malware"], "2606:4700:0:0::1111"),
    incident("p06", "open", ["Phishing"], "EVIL.example."),
    incident("p07", "closed", ["Phishing"],
             "http://phish.example:8080/Login%7e?x=%2f#frag"),
    incident("p08", "open", ["Spam"], "spam.example", days=3),
]
IPS = {"8.8.8.8", "45.33.32.156", "2606:4700::1111"}
URLS = {"evil.example/", "phish.example/Login~?x=%2F", "spam.example/"}
URLS_WIDE = URLS | {"*.evil.example/", "evil.example/*",
                    "*.evil.example/*", "*.spam.example/", "spam.example/*",
                    "*.spam.example/*"}


class Fake:
    """tests/fake_panos.py on an ephemeral port, over HTTPS."""

    def __init__(self, wd, extra=()):
        self.portfile = os.path.join(wd, "fw.port")
        self.ca = os.path.join(wd, "fw-ca.pem")
        self.proc, self.log, self.port = start_child(
            [PY, os.path.join(HERE, "fake_panos.py"), "--port", "0",
             "--port-file", self.portfile, "--ca-out", self.ca,
             "--commit-seconds", "1.2"] + list(extra),
            os.path.join(wd, "fake_panos.log"), self.portfile, 20,
            "fake PAN-OS")
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def control(self, method, path, body=None):
        req = urllib.request.Request(
            "https://127.0.0.1:%d/_control/%s" % (self.port, path),
            method=method, data=None if body is None else
            json.dumps(body).encode())
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            return json.loads(r.read())

    def state(self):
        return self.control("GET", "state")

    def reqs(self):
        return self.control("GET", "log")

    def tagged(self, tag, vsys="vsys1"):
        table = self.state()["registered"].get(vsys, {})
        return {ip for ip, r in table.items() if tag in r["tags"]}

    def members(self, name, cfg="candidate", scope="vsys1"):
        cat = self.state()[cfg].get(scope, {}).get(name)
        return None if cat is None else cat["list"]

    def stop(self):
        stop_child(self.proc, self.log)


def api(fw, query="", form=None, headers=None, ctype=None):
    """One raw XML API call to the fake; returns (HTTP status, body)."""
    data = None
    if form is not None:
        data = form if isinstance(form, bytes) else \
            urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(
        "https://127.0.0.1:%d/api/?%s" % (fw.port, query), data=data,
        headers=dict(headers or {}, **({"Content-Type": ctype}
                                       if ctype else {})))
    try:
        with urllib.request.urlopen(req, context=fw.ctx, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def check_fake(t, fw):
    """The fake itself: keys passed three ways, Basic, errors, multipart."""
    st, body = api(fw, "type=keygen&user=admin&password=secret")
    key = body.split("<key>")[1].split("</key>")[0] if "<key>" in body \
        else ""
    t.ok(st == 200 and key.startswith("LUFRPT1"), "fake: keygen by GET")
    info = urllib.parse.quote("<show><system><info/></system></show>")
    st, body = api(fw, "type=op&cmd=%s&key=%s" % (
        info, urllib.parse.quote(key)))
    t.ok(st == 200 and "sw-version" in body, "fake: key in the query")
    st, body = api(fw, "", {"type": "op", "cmd": "<show><system><info/>"
                            "</system></show>", "key": key})
    t.ok(st == 200 and "sw-version" in body, "fake: key in the form")
    st, body = api(fw, "type=op&cmd=" + info, headers={
        "Authorization": "Basic " + base64.b64encode(
            b"admin:secret").decode()})
    t.ok(st == 200 and "sw-version" in body, "fake: HTTP Basic")
    st, body = api(fw, "type=op&cmd=" + info, headers={"X-PAN-KEY": "nope"})
    t.ok(st == 403 and "code = '403'" in body, "fake: a bad key is 403")
    api(fw, "type=keygen&user=admin&password=secret")
    st, body = api(fw, "type=op&cmd=" + info, headers={"X-PAN-KEY": key})
    t.eq(st, 403, "fake: a new keygen revokes the old key")
    st, body = api(fw, "type=keygen&user=admin&password=secret")
    key = body.split("<key>")[1].split("</key>")[0]
    msg = ('<uid-message><type>update</type><payload><register><entry '
           'ip="192.0.2.99"><tag><member timeout="99999999">t</member>'
           '</tag></entry></register></payload></uid-message>')
    mp = ("--XX\r\nContent-Disposition: form-data; name=\"file\"; "
          "filename=\"m.xml\"\r\n\r\n%s\r\n--XX--\r\n" % msg).encode()
    st, body = api(fw, "type=user-id", mp, {"X-PAN-KEY": key},
                   "multipart/form-data; boundary=XX")
    t.ok(st == 200 and 'status="error"' in body and "invalid timeout" in
         body, "fake: multipart user-id; a timeout over 30 days refused",
         body)


def pa_run(wd, fw, lumu, args, creds=True, timeout=90):
    """Runs lumu-to-paloalto in wd; returns (rc, stdout, stderr)."""
    base = ["--hostname", "127.0.0.1", "--port", str(fw.port),
            "--ca-file", fw.ca, "--company-key", KEY,
            "--api-url", lumu.url]
    if creds:
        base += ["--username", "admin", "--password", "secret"]
    p = subprocess.run([PA_BINARY] + base + list(args), cwd=wd,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def read_or_none(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def last_line(s):
    lines = s.strip().splitlines()
    return lines[-1] if lines else ""


def check_add_only(t, wd, fw, lumu):
    fw.control("POST", "registered", {"entries": {
        "203.0.113.50": [TAG], "198.51.100.9": ["other"]}})
    fw.control("POST", "category", {"name": CAT,
                                    "members": ["keep.example/"]})
    fw.control("DELETE", "log")
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    rc, out, err = pa_run(wd, fw, lumu, [
        "--dag", "--tag", TAG, "--custom-url-category",
        "--custom-url-category-name", CAT, "--commit"])
    t.eq(rc, 0, "add-only run exits 0")
    if rc != 0:
        print("# " + err.replace("\n", "\n# "))
    t.eq(fw.tagged(TAG), IPS | {"203.0.113.50"},
         "DAG: the chosen IPs are added, what was there stays")
    t.eq(fw.tagged("other"), {"198.51.100.9"}, "another tag is untouched")
    t.eq(sorted(fw.members(CAT)), sorted(URLS | {"keep.example/"}),
         "category: members merged into the existing ones")
    t.eq(sorted(fw.members(CAT, "running") or []),
         sorted(URLS | {"keep.example/"}),
         "the commit made the category running config")
    log = fw.reqs()
    t.ok(log and all(e["method"] == "POST" and e["content_type"].startswith(
        "application/x-www-form-urlencoded") for e in log),
        "every API call is a form POST", [e["content_type"] for e in log])
    t.ok(all(e["auth"] == "header" for e in log if e["type"] != "keygen"),
         "the key is sent in X-PAN-KEY only",
         [(e["type"], e["auth"]) for e in log])
    t.eq(sum(e["type"] == "keygen" for e in log), 1, "one keygen")
    polls = [e for e in log if e["type"] == "op" and e["cmd"] and
             "<jobs>" in e["cmd"]]
    t.ok(len(polls) >= 2 and "FIN" in polls[-1]["answer"] and
         "<progress>100" in polls[-1]["answer"],
         "the commit job is polled until FIN and 100%",
         [p["answer"][:120] for p in polls])
    commits = [e for e in log if e["type"] == "commit"]
    t.ok(len(commits) == 1 and commits[0]["action"] == "partial" and
         commits[0].get("partial") == ["admin"],
         "a partial commit by the admin", commits)
    regs = [e for e in log if e["type"] == "user-id"]
    t.ok(regs and all('persistent="1"' in e["cmd"] for e in regs if
                      "<register>" in e["cmd"]),
         "registrations are persistent", regs)
    stamp = read_or_none(os.path.join(wd, "timestamp.stmp")) or ""
    try:
        when = datetime.strptime(stamp.strip(), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        when = None
    t.ok(when is not None and start <= when <= datetime.now(timezone.utc),
         "timestamp.stmp holds the run's start, RFC 3339 UTC", stamp)


def check_overwrite(t, wd, fw, lumu):
    fw.control("DELETE", "log")
    rc, out, err = pa_run(wd, fw, lumu, [
        "--dag", "--tag", TAG, "--overwrite-dag", "--custom-url-category",
        "--custom-url-category-name", CAT, "--overwrite-category",
        "--include-subdomains", "--include_subdirectories", "--commit"])
    t.eq(rc, 0, "overwrite run exits 0")
    t.eq(fw.tagged(TAG), IPS, "--overwrite-dag: the tag holds exactly the "
         "chosen IPs")
    t.eq(fw.tagged("other"), {"198.51.100.9"},
         "--overwrite-dag leaves other tags alone")
    t.eq(sorted(fw.members(CAT)), sorted(URLS_WIDE),
         "--overwrite-category with both include options: exactly the "
         "url-feed lines")
    t.eq(sorted(fw.members(CAT, "running") or []), sorted(URLS_WIDE),
         "committed")
    unreg = [e for e in fw.reqs() if e["type"] == "user-id" and
             "<unregister>" in (e["cmd"] or "")]
    t.ok(len(unreg) == 1 and "203.0.113.50" in unreg[0]["cmd"],
         "the stale IP is unregistered", unreg)
    rc, out, err = pa_run(wd, fw, lumu, [
        "--custom-url-category", "--custom-url-category-name", CAT,
        "--overwrite-category", "--include-subdomains"])
    t.eq(sorted(fw.members(CAT)), sorted(URLS | {
        "*.evil.example/", "*.spam.example/"}),
        "--include-subdomains alone adds *.name/ only")
    t.eq(sorted(fw.members(CAT, "running")), sorted(URLS_WIDE),
         "without --commit the running config is unchanged")


def check_paging(t, wd, fw, lumu):
    stale = ["100.64.%d.%d" % (i // 250, i % 250 + 1) for i in range(1200)]
    fw.control("POST", "registered", {"entries": {ip: ["bulk"]
                                                  for ip in stale}})
    fw.control("DELETE", "log")
    rc, out, err = pa_run(wd, fw, lumu, ["--dag", "--tag", "bulk",
                                         "--overwrite-dag"])
    t.ok(rc == 0 and fw.tagged("bulk") == IPS,
         "1200 stale IPs read in pages and replaced", err)
    log = fw.reqs()
    starts = [e.get("start") for e in log if e["type"] == "op"]
    t.eq(starts, ["1", "501", "1001"], "registered-ip read 500 at a time")
    sizes = [e["cmd"].count("<entry ") for e in log
             if e["type"] == "user-id"]
    t.eq(sizes, [1000, 200, 3], "User-ID batches of at most 1000 "
         "entries, unregistrations first")


def check_create(t, wd, fw, lumu):
    name = "New 'Lumu\" & <Cat>"
    fw.control("DELETE", "log")
    rc, out, err = pa_run(wd, fw, lumu, [
        "--custom-url-category", "--custom-url-category-name", name])
    cat = fw.state()["candidate"].get("vsys1", {}).get(name) or {}
    t.ok(rc == 0 and sorted(cat.get("list", [])) == sorted(URLS) and
         cat.get("type") == "URL List" and "lumu-edl" in
         (cat.get("description") or ""),
         "a missing category is created as a URL List (name with both "
         "quotes, & and <)", (err, cat))
    xpaths = [e["xpath"] for e in fw.reqs() if e["type"] == "config"]
    t.ok(xpaths and all("concat(" in x for x in xpaths),
         "the XPath literal of such a name is a concat()", xpaths)


def check_failures(t, wd, fw, lumu):
    stamp = os.path.join(wd, "timestamp.stmp")
    before = read_or_none(stamp)
    tagged = fw.tagged(TAG)
    fw.control("DELETE", "log")
    lumu.control("DELETE", "log")
    p = subprocess.run([PA_BINARY, "--hostname", "127.0.0.1", "--port",
                        str(fw.port), "--ca-file", fw.ca, "--company-key",
                        KEY, "--api-url", lumu.url, "--username", "admin",
                        "--password", "Not-The-Pa55", "--dag", "--tag",
                        "new-tag",
                        "-t"], cwd=wd, capture_output=True, text=True,
                       timeout=60)
    t.ok(p.returncode == 1 and "keygen" in last_line(p.stderr) and
         "Invalid credentials" in last_line(p.stderr),
         "wrong password: exit 1, the reason on the last stderr line",
         p.stderr)
    t.ok("Not-The-Pa55" not in p.stderr,
         "the password is never printed")
    t.eq(read_or_none(stamp), before, "wrong password: timestamp.stmp "
         "untouched")
    t.eq(fw.tagged("new-tag"), set(), "wrong password: nothing registered")
    t.eq(lumu.control("GET", "log")[1]["requests"], [],
         "wrong password: found out before Lumu is asked")

    fw.control("POST", "fault", {"mode": "job-fail", "count": 1})
    fw.control("POST", "registered", {"entries": {"192.0.2.200": [TAG]}})
    rc, out, err = pa_run(wd, fw, lumu, [
        "--custom-url-category", "--custom-url-category-name", CAT,
        "--overwrite-category", "--commit"])
    t.ok(rc == 1 and "FAIL" in last_line(err) and
         "Validation Error" in last_line(err),
         "a failing commit job: exit 1 with the device's details", err)
    t.eq(read_or_none(stamp), before, "failed commit: timestamp.stmp "
         "untouched")

    fw.control("POST", "fault", {"mode": "commit-lock", "count": 1})
    rc, out, err = pa_run(wd, fw, lumu, ["--custom-url-category",
                                         "--custom-url-category-name", CAT,
                                         "--commit"])
    t.ok(rc == 0 and "lock" in err.lower(),
         "a held commit lock is retried, then the commit succeeds", err)
    t.ok(read_or_none(stamp) != before, "success: timestamp.stmp rewritten")

    os.makedirs(os.path.join(wd, "bad"))
    bad = Standin(os.path.join(wd, "bad"), "another-key", {"incidents": []})
    try:
        fw.control("DELETE", "log")
        rc, out, err = pa_run(wd, fw, bad, ["--dag", "--tag", TAG])
        t.ok(rc == 1 and last_line(err).startswith(
            "lumu-to-paloalto: Lumu") and KEY not in err,
            "Lumu refusing the key: exit 1, key not shown", err)
        t.eq([e["type"] for e in fw.reqs()], ["keygen"],
             "a failed Lumu read changes nothing on the device")
    finally:
        bad.stop()
    t.eq(fw.tagged(TAG), tagged | {"192.0.2.200"},
         "failed runs left the tag as it was")


def check_window(t, wd, fw, lumu):
    def from_dates():
        _, log = lumu.control("GET", "log")
        return [json.loads(r["body"])["fromDate"] for r in log["requests"]
                if r["path"].startswith("/api/incidents/all") and
                r.get("body")]

    stamp = os.path.join(wd, "timestamp.stmp")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    saved, seed, offset = (now - timedelta(days=d) for d in (3, 2, 1))
    with open(stamp, "w") as f:
        f.write(saved.strftime("%Y-%m-%dT%H:%M:%S.678Z\n"))
    cases = [
        (["-t"], saved, "-t reads from the saved timestamp"),
        (["--from", seed.strftime("%Y-%m-%dT%H:%M:%S:000Z")], seed,
         "--from in the seed's spelling"),
        (["--from", (offset + timedelta(hours=2)).strftime(
            "%Y-%m-%dT%H:%M:%S+02:00")], offset, "--from with an offset"),
        (["--from", seed.strftime("%Y-%m-%dT%H:%M:%SZ"), "--hours", "5"],
         now - timedelta(hours=5), "--hours wins over --from"),
        ([], now - timedelta(days=30), "30 days by default"),
    ]
    for args, want, what in cases:
        lumu.control("DELETE", "log")
        rc, out, err = pa_run(wd, fw, lumu, ["--dag", "--tag", "w"] + args)
        dates = sorted(from_dates())
        got = (datetime.strptime(dates[0], "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=timezone.utc) if dates else None)
        t.ok(rc == 0 and got is not None and
             abs((got - want).total_seconds()) < 120, what,
             "rc %d, fromDates %r, want %s\n%s" % (rc, dates, want, err))
    with open(stamp, "w") as f:
        f.write("garbage\n")
    rc, out, err = pa_run(wd, fw, lumu, ["--dag", "--tag", "w", "-t"])
    t.ok(rc == 0 and "timestamp.stmp" in err,
         "-t with a broken timestamp.stmp warns and reads 30 days", err)


def check_front_end(t, wd, fw, lumu):
    conf = os.path.join(wd, "pa.conf")
    with open(conf, "w") as f:
        f.write("# lumu-to-paloalto options\nhostname = 127.0.0.1\n"
                "port = %d\nca_file = %s\ncompany-key = %s\n"
                "api-url = %s\nuser = admin\npassword = \"secret\"\n"
                "dag = yes\ntag = from-file\ncustom-url-category = no\n"
                "logging = file\n" % (fw.port, fw.ca, KEY, lumu.url))
    logfile = os.path.join(wd, "lumu.log")
    if os.path.exists(logfile):
        os.unlink(logfile)
    p = subprocess.run([PA_BINARY, "--config", conf, "--tag", "from-cli"],
                       cwd=wd, capture_output=True, text=True, timeout=60)
    t.ok(p.returncode == 0 and fw.tagged("from-cli") == IPS and
         fw.tagged("from-file") == set(),
         "--config supplies options; the command line wins", p.stderr)
    t.ok(os.path.exists(logfile) and "done" in open(logfile).read() and
         KEY not in open(logfile).read(),
         "--logging file appends to ./lumu.log, no secret in it")
    t.eq(p.stderr, "", "--logging file: nothing on stderr on success")

    os.makedirs(os.path.join(wd, "fw2"))
    fw2 = Fake(os.path.join(wd, "fw2"), ["--api-key", "STATIC-KEY"])
    try:
        p = subprocess.run([PA_BINARY, "--hostname", "127.0.0.1", "--port",
                            str(fw2.port), "--insecure", "--api-key",
                            "STATIC-KEY", "--company-key", KEY, "--api-url",
                            lumu.url, "--dag", "--tag", "k"], cwd=wd,
                           capture_output=True, text=True, timeout=60)
        t.ok(p.returncode == 0 and fw2.tagged("k") == IPS and
             not any(e["type"] == "keygen" for e in fw2.reqs()),
             "--api-key: no keygen", p.stderr)
        t.ok("not verified" in p.stderr, "--insecure is warned about",
             p.stderr)
        p = subprocess.run([PA_BINARY, "--hostname", "127.0.0.1", "--port",
                            str(fw2.port), "--api-key", "STATIC-KEY",
                            "--company-key", KEY, "--api-url", lumu.url,
                            "--dag", "--tag", "k2"], cwd=wd,
                           capture_output=True, text=True, timeout=60)
        t.ok(p.returncode == 1 and fw2.tagged("k2") == set(),
             "an unknown certificate without --insecure fails", p.stderr)
    finally:
        fw2.stop()

    usage = [
        (["--dag"], "--tag"),
        (["--dag", "--tag", "x", "--bogus"], "--bogus"),
        (["--dag", "--tag", "x", "--hours", "soon"], "--hours"),
        (["--dag", "--tag", "x", "--from", "yesterday"], "--from"),
        (["--tag", "x"], "nothing to do"),
        (["--dag", "--tag", "x", "--insecure"], "exclude"),
    ]
    for args, word in usage:
        rc, out, err = pa_run(wd, fw, lumu, args)
        t.ok(rc == 2 and len(err.strip().splitlines()) == 1 and
             word in err, "usage error %s: exit 2, one line" % word, err)
    p = subprocess.run([PA_BINARY, "--help"], capture_output=True,
                       text=True, timeout=10)
    t.ok(p.returncode == 0 and "--overwrite-dag" in p.stdout,
         "--help prints the options")


def daemon_conf(wd, lumu, fw, http_port):
    with open(os.path.join(wd, "fw-password"), "w") as f:
        f.write("secret\n")
    return feeds_conf(wd, KEY, lumu.url, http_port, threads=1, feeds="""\
[feed ip]
type = ip

[feed urls]
type = url
include-subdomains = yes
""", tail="""
[panos fw1]
hostname = 127.0.0.1
port = %d
username = admin
password-file = fw-password
ca-file = %s
dag-feed = ip
dag-tag = lumu-daemon
tag-timeout = 6
url-category-feed = urls
url-category = Lumu Daemon
commit = yes
""" % (fw.port, fw.ca))


def check_daemon(t, wd, fw, lumu):
    fw.control("POST", "registered", {"entries": {
        "203.0.113.77": ["lumu-daemon"], "198.51.100.78": ["hands-off"]}})
    fw.control("POST", "category", {"name": "Lumu Daemon",
                                    "members": ["stale.example/"]})
    port = free_port()
    conf = daemon_conf(wd, lumu, fw, port)
    d = Daemon(wd, conf)
    want_urls = URLS | {"*.evil.example/", "*.spam.example/"}
    try:
        ok = wait_for(lambda: fw.tagged("lumu-daemon") == IPS, 30, 0.3)
        t.ok(ok, "daemon: the tag converges to exactly the ip feed",
             "%r\n%s" % (fw.tagged("lumu-daemon"), d.logtext()[-3000:]))
        t.eq(fw.tagged("hands-off"), {"198.51.100.78"},
             "daemon: other tags untouched")
        ok = wait_for(lambda: sorted(fw.members("Lumu Daemon", "running")
                                     or []) == sorted(want_urls), 30, 0.3)
        t.ok(ok, "daemon: the category converges to exactly the url feed, "
             "committed", "%r\n%s" % (fw.members("Lumu Daemon", "running"),
                                      d.logtext()[-3000:]))
        status, _, body = request(port, "GET", "/feeds/urls")
        t.eq(sorted(body.decode().splitlines()),
             sorted(fw.members("Lumu Daemon") or []),
             "category members are the feed's lines")
        time.sleep(8)
        tags = fw.state()["registered"]["vsys1"]
        left = [tags.get(ip, {}).get("tags", {}).get("lumu-daemon")
                for ip in sorted(IPS)]
        t.ok(all(x is not None and 0 < x <= 6 for x in left),
             "daemon: tags with a 6 s timeout are refreshed before they "
             "expire", left)
        fw.control("POST", "fault", {"mode": "status", "status": 502,
                                     "count": 2})
        lumu.control("POST", "incidents", {"incidents": [
            incident("p20", "open", ["C2C"], "1.1.1.1", 0)]})
        ok = wait_for(lambda: "1.1.1.1" in fw.tagged("lumu-daemon"), 40,
                      0.3)
        t.ok(ok, "daemon: a live change reaches the device through "
             "device errors (backoff, then reconciliation)",
             d.logtext()[-3000:])
        def push_status():
            status, _, body = request(port, "GET", "/status")
            try:
                st = json.loads(body).get("panos", {}).get("fw1", {})
            except ValueError:
                st = {}
            return (status == 200 and st.get("last_success") and
                    st.get("last_error") is None and
                    st.get("errors", 0) >= 1 and
                    st.get("registered") == len(IPS) + 1 and
                    st.get("members") == len(want_urls)), body
        t.ok(wait_for(lambda: push_status()[0], 15, 0.3),
             "/status reports the push target", push_status()[1][:800])
        # Another tool generates a key for the same admin: ours dies.
        fw.control("DELETE", "fault")
        api(fw, "", {"type": "keygen", "user": "admin",
                     "password": "secret"})
        lumu.control("POST", "incidents", {"incidents": [
            incident("p21", "open", ["C2C"], "1.0.0.2", 0)]})
        ok = wait_for(lambda: "1.0.0.2" in fw.tagged("lumu-daemon"), 30,
                      0.3)
        t.ok(ok and "key refused" in d.logtext(),
             "daemon: a key revoked by a new keygen is made again",
             d.logtext()[-2000:])
        log = d.logtext()
        t.ok("secret" not in log and KEY not in log,
             "daemon: no secret in the log")
    finally:
        d.stop()


def main():
    t = Tap()
    wd = workdir()
    lumu = Standin(wd, KEY, {"incidents": INCIDENTS})
    fw = Fake(wd)
    try:
        check_fake(t, fw)
        if not os.path.exists(PA_BINARY):
            t.ok(False, "%s exists" % PA_BINARY)
        else:
            check_add_only(t, wd, fw, lumu)
            check_overwrite(t, wd, fw, lumu)
            check_paging(t, wd, fw, lumu)
            check_create(t, wd, fw, lumu)
            check_failures(t, wd, fw, lumu)
            check_window(t, wd, fw, lumu)
            check_front_end(t, wd, fw, lumu)
        check_daemon(t, wd, fw, lumu)
    finally:
        finish(t, wd, fw, lumu)


if __name__ == "__main__":
    main()
