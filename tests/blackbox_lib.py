"""Helpers of the black-box tests: TAP output, the stand-in Lumu API and
the real lumu-edl binary as child processes, plain HTTP requests."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BINARY = os.environ.get("LUMU_EDL", os.path.join(ROOT, "build", "lumu-edl"))
PY = "/usr/bin/python3"

# The three usual feeds, by name and type, and their configuration.
FEED_TYPES = {"ip": "ip", "domains": "domain", "urls": "url"}
THREE_FEEDS = """[feed ip]
type = ip

[feed domains]
type = domain
include-subdomains = yes

[feed urls]
type = url
include-subdomains = yes
include-subdirectories = yes
"""
# A configuration against the stand-in; see feeds_conf for the parts.
FEEDS_CONF = """# black-box test configuration
[lumu]
company-key-file = key
api-url = %(api_url)s
updates-wait = %(updates_wait)s
max-requests-per-minute = 0
%(lumu)s
[server]
listen = 127.0.0.1:%(port)d
%(server)sstate-dir = %(state_dir)s
threads = %(threads)d

%(feeds)s%(tail)s"""


def feeds_conf(wd, key, api_url, port, name="feeds.conf", updates_wait="2s",
               lumu="", server="", state_dir="state", threads=2,
               feeds=THREE_FEEDS, tail=""):
    """Writes the company key to wd/key and FEEDS_CONF to wd/name: lumu
    adds lines to [lumu], server to [server] (after listen), tail comes
    after the feeds.  Returns the configuration's path."""
    with open(os.path.join(wd, "key"), "w") as f:
        f.write(key + "\n")
    path = os.path.join(wd, name)
    with open(path, "w") as f:
        f.write(FEEDS_CONF % {"api_url": api_url, "updates_wait":
                              updates_wait, "lumu": lumu, "port": port,
                              "server": server, "state_dir": state_dir,
                              "threads": threads, "feeds": feeds,
                              "tail": tail})
    return path


class Tap:
    """Prints "ok N - what" / "not ok N - what"; counts failures."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=None):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, what), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, what), flush=True)
            if detail is not None:
                for line in str(detail).splitlines()[:30]:
                    print("#   " + line, flush=True)
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, what,
                       "got:  %r\nwant: %r" % (got, want))

    def done(self):
        print("# %d passed, %d failed" % (self.n - self.failed, self.failed))
        sys.exit(1 if self.failed else 0)


def iso(days_ago):
    """An ISO-8601 UTC time so many days before now, as Lumu writes it."""
    t = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def incident(iid, adversary, status="open", types=("C2C",), created=1,
             contact=0):
    """An incident as the stand-in takes it: created days ago, its last
    contact contact days ago."""
    return {"id": iid, "status": status, "adversaryTypes": list(types),
            "adversaries": [adversary], "adversaryId": adversary,
            "timestamp": iso(created), "statusTimestamp": iso(created),
            "lastContact": iso(contact), "firstContact": iso(created)}


def free_port():
    """A loopback port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_child(args, logpath, portfile, seconds, what):
    """Starts a helper server that writes its port to portfile; returns
    (process, its open log file, the port)."""
    log = open(logpath, "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    if not wait_for(lambda: os.path.exists(portfile), seconds):
        raise RuntimeError("%s did not start" % what)
    with open(portfile) as f:
        return proc, log, int(f.read().strip())


def stop_child(proc, log):
    """SIGTERM to a helper server, SIGKILL if it lingers; closes its log."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def wait_for(pred, seconds, step=0.05):
    """Polls pred until it returns a true value or time runs out."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Standin:
    """The stand-in Lumu API on an ephemeral port."""

    def __init__(self, workdir, key, data=None, extra=()):
        self.key = key
        portfile = os.path.join(workdir, "standin.port")
        args = [PY, os.path.join(HERE, "lumu_standin.py"), "--port", "0",
                "--key", key, "--port-file", portfile] + list(extra)
        if data is not None:
            path = os.path.join(workdir, "standin-data.json")
            with open(path, "w") as f:
                json.dump(data, f)
            args += ["--data", path]
        self.proc, self.log, self.port = start_child(
            args, os.path.join(workdir, "standin.log"), portfile, 10,
            "stand-in")
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, method, path, body=None):
        """Calls the control interface; returns (status, parsed JSON)."""
        status, _, data = request(self.port, method, "/_control/" + path,
                                  body=None if body is None
                                  else json.dumps(body).encode())
        try:
            return status, json.loads(data or b"null")
        except ValueError:
            return status, None

    def stop(self):
        stop_child(self.proc, self.log)


class Daemon:
    """The real lumu-edl binary, in the foreground, logging to a file."""

    def __init__(self, workdir, conf, args=()):
        self.logpath = os.path.join(workdir, "lumu-edl.log")
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen([BINARY, "-c", conf] + list(args),
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     cwd=workdir)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log.close()

    def logtext(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()


def request(port, method, path, headers=None, body=None, timeout=10):
    """One HTTP request; returns (status, headers dict lower-cased, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                data)
    except (OSError, http.client.HTTPException):
        return (0, {}, b"")
    finally:
        conn.close()


def run(args, cwd=None, timeout=60):
    """Runs the binary; returns (exit status, stdout, stderr)."""
    p = subprocess.run([BINARY] + list(args), cwd=cwd, capture_output=True,
                       timeout=timeout, text=True)
    return p.returncode, p.stdout, p.stderr


def panos_check(kind, body):
    """Runs the independent PAN-OS line checker; returns (ok, output)."""
    p = subprocess.run([PY, os.path.join(HERE, "panos_check.py"), "--type",
                        kind, "-"], input=body, capture_output=True)
    return p.returncode == 0, (p.stdout + p.stderr).decode(errors="replace")


def workdir():
    return tempfile.mkdtemp(prefix="lumu-edl-bb.")


def finish(t, wd, *procs):
    """The end of a script, from the finally block around its checks:
    stops procs in order (None skipped), removes wd when every check
    passed (else names it), prints the summary and exits."""
    for p in procs:
        if p is not None:
            p.stop()
    if t.failed == 0:
        shutil.rmtree(wd, ignore_errors=True)
    else:
        print("# kept " + wd)
    # An exception on its way out of the checks must keep its traceback
    # and fail the script: leave the exit to it.
    if sys.exc_info()[0] is None:
        t.done()
