#!/usr/bin/python3
"""Self-test of the stand-in Lumu Defender API (tests/lumu_standin.py).

Starts the stand-in as a subprocess on an ephemeral port and checks it
against shared/reference/lumu-defender-api.md: paging, filters, errors,
the long-polled updates stream, action endpoints, rate limits, faults, the
control interface and the demo data.  Prints TAP; exits 1 on any failure.
"""

import http.client
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lumu_demo_data  # noqa: E402
STANDIN = os.path.join(HERE, "lumu_standin.py")
KEY = "k3y-with/odd+chars"
TYPES = {"C2C", "Malware", "DGA", "Mining", "Spam", "Phishing", "Anonymizer",
    "Network Scan", "Inappropriate content"}


class Tap:
    """TAP output: one line per check, a plan at the end."""

    def __init__(self):
        self.n = self.failed = 0

    def ok(self, cond, what, diag=None):
        self.n += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.n, what))
        if not cond:
            self.failed += 1
            if diag is not None:
                print("# " + str(diag).replace("\n", "\n# ")[:2000])
        sys.stdout.flush()
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, what, "got %r, want %r" % (got, want))

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


T = Tap()


def iso(when):
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (when.microsecond // 1000)


def ago(days=0, hours=0):
    return iso(datetime.now(timezone.utc) - timedelta(days=days, hours=hours))


def quote(text):
    return urllib.parse.quote(text, safe="")


class Standin:
    """One stand-in process and small HTTP helpers around it."""

    started = []

    def __init__(self, *args):
        self.tmp = tempfile.mkdtemp(prefix="standin-")
        port_file = os.path.join(self.tmp, "port")
        self.proc = subprocess.Popen([sys.executable, STANDIN, "--port", "0",
            "--key", KEY, "--port-file", port_file] + list(args),
            stdout=subprocess.PIPE, text=True)
        Standin.started.append(self.proc)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the stand-in did not start")
            time.sleep(0.02)
        with open(port_file) as fp:
            self.port = int(fp.read())
        self.banner = self.proc.stdout.readline().strip()

    def raw(self, method, path, body=None, headers=None, timeout=15):
        """(status, headers, body bytes, seconds) of one request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
            timeout=timeout)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        started = time.monotonic()
        try:
            conn.request(method, path, body, headers or
                {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp, data, time.monotonic() - started
        finally:
            conn.close()

    def api(self, method, path, body=None, key=KEY, **query):
        """(status, JSON or None, response) of an API request."""
        if key is not None:
            query["key"] = key
        qs = "&".join("%s=%s" % (k, quote(str(v))) for k, v in query.items())
        status, resp, data, _ = self.raw(method, path + "?" + qs, body)
        try:
            value = json.loads(data) if data else None
        except ValueError:
            value = None
        return status, value, resp

    def listing(self, body, which="all", **query):
        query.setdefault("items", 100)
        return self.api("POST", "/api/incidents/" + which, body, **query)

    def ids(self, body, which="all"):
        status, value, _ = self.listing(body, which)
        return [i["id"] for i in value["items"]] if status == 200 else status

    def control(self, method, what, body=None):
        status, _, data, _ = self.raw(method, "/_control/" + what, body)
        if status != 200:
            raise AssertionError("control %s %s: %d %s" % (method, what,
                status, data))
        return json.loads(data)

    def updates(self, **query):
        return self.api("GET", "/api/incidents/open-incidents/updates",
            **query)[1]

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None
        finally:
            self.proc.stdout.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


def inc(n, days, status, types, labels, last_days=None):
    """A test incident n created `days` ago."""
    return {"id": "0000000%d-a3f5-11ed-a0c7-dd6f8e69d343" % n,
        "timestamp": ago(days), "status": status, "adversaryTypes": types,
        "adversaries": ["a%d.example.com" % n],
        "labelDistribution": labels,
        "lastContact": ago(last_days if last_days is not None else days,
            -1 if last_days is None else 0)}


FIXTURE = [inc(1, 1, "open", ["Malware"], {"0": 1}),
    inc(2, 2, "muted", ["C2C"], {"989": 2}),
    inc(3, 3, "closed", ["Phishing"], {"0": 1, "1580": 1}),
    inc(4, 4, "open", ["Mining"], {"0": 3}),
    inc(5, 5, "open", ["Network Scan"], {"0": 1}),
    inc(6, 6, "closed", ["Malware"], {"0": 1}),
    inc(7, 20, "open", ["Malware"], {"0": 1}, last_days=1)]
ID = [None] + [i["id"] for i in FIXTURE]


def test_start_and_auth(s):
    T.eq(s.banner, "listening on 127.0.0.1:%d" % s.port,
        "prints the port it listens on, the one in the port file")
    for key, what in ((None, "missing"), ("wrong", "wrong")):
        status, value, _ = s.api("GET", "/api/administration/labels", key=key)
        T.ok(status == 401 and {"name", "detail"} <= set(value or {}),
            "%s key: 401 with a JSON body" % what, value)
    status, value, _ = s.api("GET", "/api/administration/labels", items=4)
    T.ok(status == 200 and len(value["labels"]) == 4 and
        value["paginationInfo"] == {"items": 4, "page": 1, "next": 2},
        "labels page with paginationInfo", value)
    status, value, _ = s.api("GET", "/api/administration/labels/51")
    T.ok(status == 200 and value["id"] == 51, "one label by id")


def test_paging(s):
    s.control("DELETE", "incidents")
    s.control("POST", "incidents", {"incidents": FIXTURE, "quiet": True})
    body, seen = {"fromDate": ago(25)}, []
    for page in (1, 2, 3, 4):
        status, value, _ = s.listing(body, page=page, items=3)
        seen += [i["id"] for i in value["items"]]
        info = value["paginationInfo"]
        want = {"items": 3, "page": page}
        if page < 3:
            want["next"] = page + 1
        if page > 1:
            want["prev"] = page - 1
        T.eq(info, want, "page %d: next only when more, prev after page 1"
            % page)
    T.eq(seen, ID[1:], "pages together: every incident, newest first")
    _, value, _ = s.listing(body, page=1, items=7)
    T.eq(value["paginationInfo"], {"items": 7, "page": 1},
        "a page that ends exactly at the last incident has no next")
    T.eq(sorted(value), ["items", "paginationInfo", "timestamp"],
        "envelope keys")
    for items, want in ((0, 1), (1000, 100), (None, 50)):
        query = {} if items is None else {"items": items}
        _, value, _ = s.api("POST", "/api/incidents/all", body, **query)
        T.eq(value["paginationInfo"]["items"], want,
            "items=%s gives a page size of %d" % (items, want))
    _, value, _ = s.api("POST", "/api/incidents/all", body, **{"max-items": 2})
    T.eq(len(value["items"]), 7, "max-items is ignored")
    s.control("POST", "incidents", {"quiet": True, "incidents":
        [{"id": "live-1", "adversaryId": "late.example.net"}]})
    _, value, _ = s.listing(body, page=1, items=3)
    T.eq(value["items"][0]["id"], "live-1", "an insert shifts later pages")
    s.control("DELETE", "incidents")
    s.control("POST", "incidents", {"incidents": FIXTURE, "quiet": True})


def test_filters(s):
    b = {"fromDate": ago(25)}
    T.eq(s.ids(dict(b, status=["open"])), [ID[1], ID[4], ID[5], ID[7]],
        "status filter")
    T.eq(len(s.ids(dict(b, status=None, labels=[]))), 7,
        "null and [] mean no filter")
    T.eq(s.ids(dict(b, **{"adversary-types": ["Malware", "Mining"]})),
        [ID[1], ID[4], ID[6], ID[7]], "adversary-types filter (any overlap)")
    T.eq(s.ids(dict(b, labels=[989])), [ID[2]], "labels filter")
    T.eq(s.ids(b, "closed"), [ID[3], ID[6]], "/closed")
    T.eq(s.ids(b, "muted"), [ID[2]], "/muted")
    T.eq(s.ids(dict(b, status=["muted"]), "open"), [], "/open with a muted "
        "status filter is empty")
    T.eq(s.ids({}), ID[1:7], "no fromDate: the last 7 days")
    T.eq(s.ids({"fromDate": ago(10)}), ID[1:7], "window on timestamp")
    s.control("POST", "config", {"window_field": "lastContact"})
    T.eq(s.ids({"fromDate": ago(10)}), ID[1:], "window on lastContact")
    T.eq(s.ids({"fromDate": ago(10), "toDate": ago(3.5)}), ID[4:7],
        "toDate bounds the lastContact window")
    s.control("POST", "config", {"window_field": "timestamp"})


def test_errors(s):
    cases = ((b"{not json", "malformed JSON"), (b"[1]", "a body that is a "
        "list"), ({"fromDate": ago(40)}, "fromDate past the range limit"),
        ({"fromDate": "yesterday"}, "a fromDate that is not a time"),
        ({"status": ["OPEN"]}, "an unknown status"),
        ({"labels": ["x"]}, "labels that are not integers"))
    for body, what in cases:
        status, value, _ = s.api("POST", "/api/incidents/all", body)
        T.ok(status == 400 and isinstance(value, dict) and
            {"name", "detail"} <= set(value), "400 {name, detail}: " + what,
            (status, value))
    T.eq(s.api("POST", "/api/incidents/all", {"fromDate": ago(29)})[0], 200,
        "fromDate inside the range limit")
    T.eq(s.api("POST", "/api/incidents/all", None, page="x")[0], 400,
        "non-integer page: 400")
    for path in ("/api/incidents/nope/context", "/api/incidents/nope/details"):
        status, value, _ = s.api("GET", path, hash="sha256")
        T.ok(status == 404 and "name" in value, "404 JSON for " + path)
    T.eq(s.api("POST", "/api/incidents/nope/mute", {})[0], 404,
        "action on an unknown incident: 404")
    T.eq(s.api("GET", "/api/nowhere")[0], 404, "unknown path: 404")


def test_context_details(s):
    status, ctx, _ = s.api("GET", "/api/incidents/%s/context" % ID[1],
        hash="sha256")
    T.ok(status == 200 and ctx["threat_triggers"] == ["a1.example.com"] and
        ctx["currently_active"] is True and "timestamp" in ctx,
        "context of an incident loaded without one", ctx)
    status, det, _ = s.api("GET", "/api/incidents/%s/details" % ID[1])
    T.ok(status == 200 and "isUnread" in det and "unread" not in det and
        "firstContactDetails" in det and det["id"] == ID[1],
        "details: isUnread instead of unread", det)


def event_kinds(updates):
    return [next(iter(u)) for u in updates]


def test_long_poll(s):
    value = s.updates(time=0)
    start = value["offset"]
    T.ok(value["updates"] == [] and isinstance(start, int) and start > 0,
        "no offset: starts at the current end", value)
    timer = threading.Timer(0.4, s.control, ("POST", "events",
        {"events": [{"IncidentAssigned": {"n": 1}}]}))
    timer.start()
    began = time.monotonic()
    value = s.updates(offset=start, time=10)
    took = time.monotonic() - began
    timer.join()
    T.ok(0.3 < took < 3 and value["updates"] == [{"IncidentAssigned":
        {"n": 1}}], "long poll answers early when an event arrives (%.2fs)"
        % took, value)
    T.ok(value["offset"] > start, "offset grows")
    now = value["offset"]
    began = time.monotonic()
    value = s.updates(offset=now, time=1)
    took = time.monotonic() - began
    T.ok(0.9 <= took < 2.5 and value == {"updates": [], "offset": now},
        "idle long poll holds about `time` seconds (%.2fs)" % took, value)
    poll = threading.Thread(target=s.updates, kwargs={"offset": now,
        "time": 2})
    poll.start()
    time.sleep(0.1)
    _, _, _, took = s.raw("GET", "/_control/state")
    T.ok(took < 0.5, "a waiting poll does not block other requests")
    poll.join()


def test_offsets(s):
    start = s.updates(time=0)["offset"]
    sent = [{"E%d" % i: {"i": i}} for i in range(10)] + ["not an object"]
    s.control("POST", "events", {"events": sent})
    got, offsets, offset = [], [start], start
    for _ in range(4):
        value = s.updates(offset=offset, items=4)
        got += value["updates"]
        offsets.append(value["offset"])
        offset = value["offset"]
    T.eq(got, sent, "events come back verbatim, in order, in pages of "
        "`items`")
    T.ok(all(a < b for a, b in zip(offsets, offsets[1:4])) and
        offsets[4] == offsets[3], "offsets increase, then stay", offsets)
    T.ok(offsets[3] - start != len(sent), "offset is not old + count",
        offsets)
    s.control("POST", "events", {"events": [{"X": {}}] * 130})
    T.eq(len(s.updates(offset=offset, items=500)["updates"]), 100,
        "items is capped at 100")
    T.eq(s.updates()["updates"], [], "no offset does not replay old events")
    status, value, _ = s.api("GET", "/api/incidents/open-incidents/updates",
        offset=offset, items="many")
    T.eq(status, 400, "non-integer items: 400")


def test_actions(s):
    offset = s.updates()["offset"]
    status, resp, data, _ = s.raw("POST", "/api/incidents/%s/mute?key=%s" %
        (ID[1], quote(KEY)), {"comment": "fp"})
    T.ok(status == 200 and data == b"" and
        resp.getheader("Content-Length") == "0", "mute: 200, empty body")
    for action in ("mark-as-read", "comment", "unmute", "close"):
        status, _, data, _ = s.raw("POST", "/api/incidents/%s/%s?key=%s" %
            (ID[4], action, quote(KEY)), {"comment": "c-" + action})
        T.ok(status == 200 and data == b"", action + ": 200, empty body")
    T.ok(ID[1] in s.ids({"fromDate": ago(25)}, "muted"),
        "a muted incident shows in /muted")
    _, value, _ = s.listing({"fromDate": ago(25), "status": ["closed"]})
    mine = [i for i in value["items"] if i["id"] == ID[4]]
    T.ok(mine and mine[0]["statusTimestamp"] > ago(0, 0.01),
        "close changes status and statusTimestamp", mine)
    ups = s.updates(offset=offset)["updates"]
    T.eq(event_kinds(ups), ["IncidentMuted", "IncidentMarkedAsRead",
        "IncidentCommentAdded", "IncidentUnmuted", "IncidentClosed"],
        "each action queues its event")
    muted = ups[0]["IncidentMuted"]
    T.ok(muted["incident"]["status"] == "muted" and muted["comment"] == "fp"
        and "companyId" in muted, "IncidentMuted carries the incident")
    read, comment = ups[1]["IncidentMarkedAsRead"], \
        ups[2]["IncidentCommentAdded"]
    T.ok(read.get("incidentId") == ID[4] and "incident" not in read and
        comment.get("comment") == "c-comment", "id-only events", ups[1:3])
    det = s.api("GET", "/api/incidents/%s/details" % ID[4])[1]
    T.eq([a["action"] for a in det["actions"]], ["close", "unmute",
        "comment", "mark-as-read"], "details lists the actions")


def test_control(s):
    offset = s.updates()["offset"]
    out = s.control("POST", "incidents", {"incidents": [{"adversaryId":
        "new.example.org", "status": "muted"}]})
    new_id = out["ids"][0]
    s.control("POST", "incidents", {"incidents": [dict(FIXTURE[4],
        contacts=99)]})
    before = ago(0, 0.001)
    changed = s.control("POST", "incidents/" + ID[6], {"status": "muted"})
    T.ok(changed["incident"]["statusTimestamp"] >= before,
        "a status change sets statusTimestamp", changed)
    s.control("POST", "incidents/" + ID[6], {"lastContact": ago(0),
        "event": "IncidentUpdated"})
    ups = s.updates(offset=offset)["updates"]
    T.eq(event_kinds(ups), ["NewIncidentCreated", "IncidentUpdated",
        "IncidentMuted", "IncidentUpdated"], "control changes emit events")
    created = ups[0]["NewIncidentCreated"]
    T.ok(created["incident"]["id"] == new_id and "contactSummary" in created
        and "openIncidentsStats" in created and
        created["incident"]["adversaries"] == ["new.example.org"] and
        len(created["incident"]) >= 15, "defaults are filled", created)
    T.eq(ups[3]["IncidentUpdated"]["incident"]["status"], "muted",
        "an IncidentUpdated for a muted incident")
    status, _, _, _ = s.raw("POST", "/_control/incidents/nope", {})
    T.eq(status, 404, "control change of an unknown id: 404")
    state = s.control("GET", "state")
    T.ok(state["incidents"] == 8 and state["by_status"]["muted"] == 4 and
        state["offset"] == s.updates()["offset"],
        "state: counts and the current offset", state)
    s.control("POST", "key", {"key": "other"})
    T.eq(s.api("GET", "/api/administration/labels")[0], 401,
        "a changed key refuses the old one")
    T.eq(s.api("GET", "/api/administration/labels", key="other")[0], 200,
        "and accepts the new one")
    s.control("POST", "key", {"key": KEY})


def test_rate_limit(s):
    s.control("POST", "ratelimit", {"per_minute": 3})
    seen = []
    for _ in range(3):
        status, _, resp = s.api("GET", "/api/administration/labels")
        seen.append((status, resp.getheader("RateLimit-Limit"),
            resp.getheader("RateLimit-Remaining")))
    T.eq(seen, [(200, "3", "2"), (200, "3", "1"), (200, "3", "0")],
        "RateLimit-Limit and -Remaining on every answer")
    status, value, resp = s.api("GET", "/api/administration/labels")
    reset = int(resp.getheader("RateLimit-Reset") or -1)
    T.ok(status == 429 and value == {"error": "rate_limited"} and
        0 < reset <= 60 and int(resp.getheader("Retry-After") or 0) > 0,
        "over budget: 429 with Reset and Retry-After", dict(resp.headers))
    T.eq(s.api("GET", "/api/administration/labels", key="x")[0], 401,
        "the budget is per key")
    s.control("POST", "ratelimit", {"per_minute": 0, "daily": 2})
    codes = [s.api("GET", "/api/administration/labels")[0] for _ in range(3)]
    resp = s.api("GET", "/api/administration/labels")[2]
    T.ok(codes == [200, 200, 429] and
        resp.getheader("X-RateLimit-Remaining-Day") == "0" and
        int(resp.getheader("Retry-After")) > 3600, "daily quota mode",
        (codes, dict(resp.headers)))
    s.control("POST", "ratelimit", {"per_minute": 0, "daily": 0})
    resp = s.api("GET", "/api/administration/labels")[2]
    T.ok(resp.getheader("RateLimit-Limit") is None, "no limit, no headers")


def fault(s, mode, path="/api/administration/labels", **extra):
    s.control("POST", "fault", dict(extra, mode=mode, path=path))
    return s.raw("GET", "/api/administration/labels?key=" + quote(KEY))


def parses(data):
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


def test_faults(s):
    full = s.raw("GET", "/api/administration/labels?key=" + quote(KEY))[2]
    status, _, data, _ = fault(s, "status", status=503)
    T.ok(status == 503 and parses(data), "status fault: 503 with JSON")
    T.eq(s.api("GET", "/api/administration/labels")[0], 200,
        "count 1: the next request is normal")
    status, _, data, _ = fault(s, "status", status=502, body="<html>bad")
    T.ok(status == 502 and data == b"<html>bad", "status fault with a body")
    status, _, data, took = fault(s, "slow", seconds=1)
    T.ok(status == 200 and took >= 1 and data == full, "slow fault")
    status, resp, data, _ = fault(s, "truncate")
    T.ok(status == 200 and len(data) == len(full) // 2 and not parses(data)
        and resp.getheader("Content-Length") == str(len(data)),
        "truncate: half the body, matching Content-Length")
    status, _, data, _ = fault(s, "garbage")
    T.ok(status == 200 and not parses(data), "garbage: 200, not JSON")
    status, _, data, _ = fault(s, "wrong-shape")
    T.ok(status == 200 and isinstance(json.loads(data), list),
        "wrong-shape: a JSON list")
    status, _, data, _ = fault(s, "huge", bytes=3000000)
    T.ok(status == 200 and len(data) == 3000000 and parses(data),
        "huge: valid JSON of the asked size")
    status, _, data, _ = fault(s, "empty")
    T.ok(status == 200 and data == b"", "empty: 200 with no body")
    try:
        fault(s, "close")
        closed = False
    except (http.client.HTTPException, ConnectionError):
        closed = True
    T.ok(closed, "close: the connection ends without an answer")
    s.control("POST", "fault", {"mode": "status", "count": -1,
        "path": "/api/incidents/open-incidents"})
    codes = [s.api("GET", "/api/incidents/open-incidents/updates")[0]
        for _ in range(3)]
    codes.append(s.api("GET", "/api/administration/labels")[0])
    T.eq(codes, [500, 500, 500, 200], "count -1 persists; path prefix")
    s.control("DELETE", "fault")
    T.eq(s.api("GET", "/api/incidents/open-incidents/updates")[0], 200,
        "DELETE clears faults")
    offset = s.updates()["offset"]
    s.control("POST", "fault", {"mode": "offset-backwards"})
    T.eq(s.api("GET", "/api/administration/labels")[0], 200,
        "offset-backwards leaves other paths alone")
    T.ok(s.updates(offset=offset)["offset"] < offset,
        "offset-backwards answers a lower offset")


def test_log(s):
    s.control("DELETE", "log")
    s.api("POST", "/api/incidents/all", {"fromDate": ago(3)}, page=2)
    s.api("GET", "/api/administration/labels", key="bad-key")
    log = s.control("GET", "log")["requests"]
    text = json.dumps(log)
    T.ok(KEY not in text and quote(KEY) not in text and "bad-key" not in text,
        "the log never shows the key")
    first = log[0] if log else {}
    T.ok(first.get("method") == "POST" and
        first.get("path") == "/api/incidents/all" and
        first.get("query") == "page=2&key=REDACTED" and
        first.get("status") == 200 and "fromDate" in first.get("body", "")
        and "time" in first, "log entry: method, path, query, body, status",
        first)
    T.eq([e["status"] for e in log], [200, 401], "log records statuses")
    T.eq(s.control("DELETE", "log")["requests"], [], "DELETE clears the log")


def test_data_file():
    tmp = tempfile.mkdtemp(prefix="standin-data-")
    path = os.path.join(tmp, "data.json")
    with open(path, "w") as fp:
        json.dump({"incidents": [{"adversaryId": "only.example.com"},
            {"id": "x-1", "adversaries": ["tcp://1.2.3.4:80"],
            "timestamp": ago(60), "lastContact": ago(1)}],
            "contexts": {"x-1": {"threat_triggers": ["udp://1.2.3.4:53"]}}},
            fp)
    s = Standin("--data", path, "--window-field", "lastContact",
        "--max-range-days", "90")
    incs = s.control("GET", "incidents")["incidents"]
    first = [i for i in incs if i["adversaryId"] == "only.example.com"]
    T.ok(first and first[0]["status"] == "open" and
        len(first[0]["id"]) == 36 and first[0]["adversaries"] ==
        ["only.example.com"], "--data fills missing fields", first)
    T.eq(s.ids({"fromDate": ago(60), "toDate": ago(0.5)}), ["x-1"],
        "--max-range-days 90 with --window-field lastContact")
    ctx = s.api("GET", "/api/incidents/x-1/context", hash="md5")[1]
    T.eq(ctx["threat_triggers"], ["udp://1.2.3.4:53"], "--data contexts")
    T.eq(s.stop(signal.SIGINT), 0, "SIGINT: clean exit")
    shutil.rmtree(tmp, ignore_errors=True)


def test_demo():
    s = Standin("--demo", "300", "--seed", "7")
    snap = s.control("GET", "incidents")
    incs, ctxs = snap["incidents"], snap["contexts"]
    advs = {a for i in incs for a in i["adversaries"]}
    T.eq(len(incs), 300, "--demo 300 makes 300 incidents")
    T.eq({i["status"] for i in incs}, {"open", "closed", "muted"},
        "mixed statuses")
    T.ok({"activity.lumu.io", "co.uk", "*.com", "0.0.0.0/0",
        "127.0.0.1"} <= advs, "Lumu's test adversary and hostile values")
    T.ok(any("\n" in a for a in advs) and any(" " in a for a in advs) and
        any(len(a) > 253 for a in advs), "newline, space, overlong name")
    T.ok(any(":" in a and "/" not in a for a in advs) and
        any(a.startswith("http://") for a in advs) and
        any(a != a.lower() for a in advs) and
        any(a.endswith(".") for a in advs), "IPv6, URL, upper case and "
        "trailing-dot adversaries")
    by_adv = {}
    for i in incs:
        by_adv.setdefault(i["adversaryId"], set()).add(i["status"])
    T.ok(any(len(v) >= 2 for v in by_adv.values()) and
        len(by_adv) < len(incs), "many incidents per adversary, mixed status")
    stamps = [i["timestamp"] for i in incs] + [i["firstContact"] for i in incs]
    T.ok(any("." in t for t in stamps) and any("." not in t for t in stamps),
        "times with and without fractional seconds")
    lasts = [i["lastContact"] for i in incs]
    T.ok(any(t < ago(30) for t in lasts) and min(lasts) > ago(41) and
        max(lasts) <= ago(0), "lastContact within ~40 days, some past 30")
    T.ok(set().union(*(i["adversaryTypes"] for i in incs)) <= TYPES and
        len(set().union(*(i["adversaryTypes"] for i in incs))) >= 7,
        "adversary types from the real list")
    trig = [t for c in ctxs.values() for t in c.get("threat_triggers", [])]
    T.ok(any(t.startswith("tcp://") for t in trig) and
        any(t.startswith("udp://") for t in trig) and
        any(t.startswith("https://") for t in trig) and
        any(t.endswith(".") for t in trig) and
        any(t.count(":") == 1 and "//" not in t for t in trig),
        "threat_triggers mix URLs, tcp/udp, host:port, trailing dots")
    rng = random.Random(1)
    odd = [o for o in lumu_demo_data.PUBLIC_OCTETS for _ in range(50) if not
        ipaddress.ip_address("%d.%d.%d.%d" % (o, rng.randrange(256),
        rng.randrange(256), rng.randrange(256))).is_global]
    T.eq(odd, [], "random public IPv4 addresses are globally reachable")
    with_files = [i for i, c in ctxs.items() if c["related_files"]["md5"]]
    sizes = [len(s.api("GET", "/api/incidents/%s/context" % with_files[0],
        hash=h)[1]["related_files"][0]) for h in ("MD5", "sha1", "sha256")]
    T.eq(sizes, [32, 40, 64], "related_files in the digest asked for")
    active = [c.get("currently_active", "missing") for c in ctxs.values()]
    T.ok({True, False, "missing"} <= set(active), "currently_active true, "
        "false and missing")
    kinds = set(event_kinds(s.updates(offset=1096605, items=100)["updates"]))
    T.ok({"NewIncidentCreated", "IncidentUpdated", "IncidentClosed",
        "IncidentMuted", "IncidentUnmuted", "IncidentMarkedAsRead",
        "IncidentCommentAdded", "IncidentIntegrationsResponseUpdated",
        "OpenIncidentsStatusUpdated", "IncidentAssigned"} <= kinds,
        "the demo backlog has every event type", kinds)
    again = Standin("--demo", "300", "--seed", "7")
    other = Standin("--demo", "300", "--seed", "8")
    same = again.control("GET", "incidents")["incidents"]
    T.eq([(i["id"], i["adversaries"], i["status"]) for i in same],
        [(i["id"], i["adversaries"], i["status"]) for i in incs],
        "the same seed gives the same data")
    T.ok(other.control("GET", "incidents")["incidents"][0]["id"] !=
        incs[0]["id"], "another seed gives other data")
    result = []
    poll = threading.Thread(target=lambda: result.append(
        s.api("GET", "/api/incidents/open-incidents/updates", time=30)))
    poll.start()
    time.sleep(0.3)
    began = time.monotonic()
    T.eq(s.stop(), 0, "SIGTERM during a long poll: clean exit")
    poll.join(5)
    T.ok(time.monotonic() - began < 3 and result and result[0][0] == 200 and
        result[0][1]["updates"] == [], "and the poll gets an empty answer",
        result)
    for server in (again, other):
        T.eq(server.stop(), 0, "SIGTERM: clean exit")


def guarded(test, *args):
    """Run one test function; a crash fails it instead of the run."""
    try:
        test(*args)
    except Exception as e:
        T.ok(False, "%s ran to the end" % test.__name__, repr(e))


def main():
    began = time.monotonic()
    try:
        s = Standin("--seed", "3")
    except RuntimeError as e:
        print("Bail out! %s" % e)
        return 1
    try:
        for test in (test_start_and_auth, test_paging, test_filters,
                test_errors, test_context_details, test_long_poll,
                test_offsets, test_actions, test_control, test_rate_limit,
                test_faults, test_log):
            guarded(test, s)
    finally:
        T.eq(s.stop(), 0, "SIGTERM: clean exit")
    guarded(test_data_file)
    guarded(test_demo)
    for proc in Standin.started:
        if proc.poll() is None:
            T.ok(False, "stand-in %d was left running" % proc.pid)
            proc.kill()
    T.ok(time.monotonic() - began < 30, "the self-test takes under 30s")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
