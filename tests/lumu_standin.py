#!/usr/bin/python3
"""Stand-in for the Lumu Defender API, for the test suite and the demo.

Serves the classic Defender API (shared/reference/lumu-defender-api.md,
sections 2-8) on 127.0.0.1, with the behaviour a client must survive:
paging, body filters, a date-range limit, a long-polled updates stream with
an opaque offset, action endpoints with empty bodies, rate limits and
faults on demand.  Tests drive it through a JSON control interface under
/_control/ (no key, loopback only):

  GET    /_control/incidents         every incident and context
  POST   /_control/incidents         {"incidents": [...], "contexts": {...},
                                      "quiet": bool, "raw": bool}
  DELETE /_control/incidents         drop incidents, contexts and events
  POST   /_control/incidents/ID      {field: value, ..., "event": TYPE,
                                      "comment": str, "context": {...}}
  POST   /_control/events            {"events": [...]} queued verbatim
  GET/POST/DELETE /_control/fault    {"mode", "count", "path", ...}
  POST   /_control/ratelimit         {"per_minute": N, "daily": M}
  POST   /_control/key               {"key": "..."}
  POST   /_control/config            {"max_range_days": N, "window_field": F}
  GET/DELETE /_control/log           requests seen under /api/
  GET    /_control/state             counts, offset, settings

Where the real API is unknown (section 12), the stand-in chooses:
  - no fromDate means the last 7 days; a fromDate older than
    --max-range-days (5 minutes of slack) is a 400; no toDate, no bound;
  - the window applies to --window-field, bounds included; status values
    other than open, muted and closed are a 400; adversary-types match
    case-sensitively; an incident time that does not parse passes;
  - the updates stream starts at the current end when offset is 0 or
    absent; `time` defaults to 0 and is capped at 60 s;
  - the rate limit counts per key value as sent, before the key is checked;
  - the request log covers /api/ only; the key shows as REDACTED.

Usage:
  lumu_standin.py --port 0 --key KEY [--port-file FILE] [--demo N]
      [--seed S] [--data FILE.json] [--rate-limit PER_MIN]
      [--max-range-days 30] [--window-field timestamp|lastContact]
      [--events-every SECONDS] [--verbose]
"""

import argparse
import bisect
import hashlib
import json
import math
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import deque, namedtuple
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lumu_demo_data as demo  # noqa: E402

STATUSES = ("open", "muted", "closed")
INCIDENT_KEYS = ("id", "timestamp", "statusTimestamp", "status", "contacts",
    "adversaries", "adversaryId", "adversaryTypes", "description",
    "labelDistribution", "totalEndpoints", "lastContact", "unread",
    "hasPlaybackContacts", "firstContact")
UPDATES_PATH = "/api/incidents/open-incidents/updates"
ID_ONLY_EVENTS = ("IncidentMarkedAsRead", "IncidentCommentAdded",
    "IncidentIntegrationsResponseUpdated")
FAULT_MODES = ("status", "slow", "truncate", "garbage", "wrong-shape",
    "huge", "empty", "close", "offset-backwards")
HASHES = ("sha256", "sha1", "md5")

DEFAULT_ITEMS, MAX_ITEMS = 50, 100
MAX_WAIT = 60                           # cap on the long poll, seconds
FIRST_OFFSET = 1096605                  # the stream's offsets start here
DEFAULT_WINDOW = timedelta(days=7)      # window when fromDate is absent
RANGE_GRACE = timedelta(minutes=5)      # clock slack on the range limit
MAX_API_BODY = 1 << 20
MAX_CONTROL_BODY = 256 << 20
MAX_EVENTS = 100000                     # events kept for late readers
MAX_LOG = 100000                        # request log entries kept
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class BadRequest(Exception):
    """A request the API refuses with 400 {"name", "detail"}."""


# ------------------------------------------------------------------ time

ISO_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
    r"(Z|[+-]\d\d:\d\d)")


def utcnow():
    return datetime.now(timezone.utc)


def iso(when):
    """ISO-8601 UTC with milliseconds, as the API writes times."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (when.microsecond // 1000)


def parse_time(text):
    """An aware datetime from ISO-8601 with any fractional precision, or
    None when text is not such a time."""
    m = ISO_RE.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        return None
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    tz = m.group(8).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat("%s-%s-%sT%s:%s:%s.%s%s" %
            (m.group(1, 2, 3, 4, 5, 6) + (frac, tz))).astimezone(timezone.utc)
    except ValueError:
        return None


# ------------------------------------------------------------- incidents

def complete_incident(raw, now, rng):
    """An incident with every missing field filled with a plausible value,
    its keys in the API's order."""
    if not isinstance(raw, dict):
        raise BadRequest("an incident must be a JSON object")
    adversaries = raw.get("adversaries")
    if adversaries is None and isinstance(raw.get("adversaryId"), str):
        adversaries = [raw["adversaryId"]]
    if not adversaries:
        raise BadRequest("an incident needs adversaries or adversaryId")
    stamp = raw.get("timestamp", iso(now))
    contacts = raw.get("contacts", 1)
    defaults = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=1)),
        "timestamp": stamp, "statusTimestamp": stamp, "status": "open",
        "contacts": contacts, "adversaries": adversaries,
        "adversaryId": adversaries[0] if isinstance(adversaries, list)
            else adversaries,
        "adversaryTypes": ["Malware"], "description": "Malicious host",
        "labelDistribution": {"0": contacts}, "totalEndpoints": 1,
        "lastContact": stamp, "unread": True, "hasPlaybackContacts": False,
        "firstContact": stamp,
    }
    inc = {k: raw.get(k, defaults[k]) for k in INCIDENT_KEYS}
    inc.update((k, v) for k, v in raw.items() if k not in inc)
    return inc


def contact_summary(inc):
    """The contactSummary of NewIncidentCreated and IncidentUpdated."""
    c = contact_details(inc, "lastContact")
    return {"uuid": c["uuid"], "timestamp": c["datetime"],
        "adversaryHost": c["host"], "endpointIp": c["endpointIp"],
        "endpointName": c["endpointName"], "fromPlayback": False}


def _digest(*parts):
    return hashlib.sha256("/".join(map(str, parts)).encode()).digest()


def contact_details(inc, field):
    """first/lastContactDetails of the /details answer, made up but stable
    for the incident."""
    d = _digest(inc.get("id"), inc.get(field))
    labels = list(inc.get("labelDistribution") or {"0": 0})
    return {"uuid": str(uuid.UUID(bytes=d[:16], version=1)),
        "datetime": inc.get(field), "host": inc.get("adversaryId"),
        "types": inc.get("adversaryTypes"),
        "details": [inc.get("description")],
        "endpointIp": "192.168.%d.%d" % (d[16], d[17] % 254 + 1),
        "endpointName": "LUMU-%d" % (d[18] * 4),
        "label": int(labels[0]) if str(labels[0]).isdigit() else 0,
        "sourceType": "PublicResolver", "sourceId": d[20:36].hex(),
        "sourceData": None, "isPlayback": False}


def default_context(inc):
    """The context of an incident loaded without one."""
    return {"adversary_id": inc.get("adversaryId"), "currently_active": True,
        "deactivated_on": None,
        "mitre": {"details": [], "matrix": "enterprise", "version": "8.2"},
        "playbooks": [], "threat_details": [inc.get("description")],
        "threat_triggers": list(inc.get("adversaries") or []),
        "related_files": [], "external_resources": []}


def open_stats(incidents):
    """Company-wide counters of open incidents (openIncidentsStatus)."""
    stats = {"openIncidents": 0, "totalContacts": 0, "totalEndpoints": 0,
        "typeDistribution": {}, "labelDistribution": {}}
    for inc in incidents:
        if inc.get("status") != "open":
            continue
        stats["openIncidents"] += 1
        stats["totalContacts"] += _int(inc.get("contacts"))
        stats["totalEndpoints"] += _int(inc.get("totalEndpoints"))
        for t in inc.get("adversaryTypes") or []:
            td = stats["typeDistribution"]
            td[t] = td.get(t, 0) + 1
        for label, n in (inc.get("labelDistribution") or {}).items():
            ld = stats["labelDistribution"]
            ld[label] = ld.get(label, 0) + _int(n)
    return stats


def _int(value):
    return value if isinstance(value, int) else 0


def _overlap(wanted, values):
    """Whether a list (or an object's keys) shares a value with wanted."""
    return isinstance(values, (list, dict)) and \
        not wanted.isdisjoint(v for v in values if isinstance(v, str))


def build_event(kind, inc, comment=None, stats=None):
    """One update element {kind: payload} shaped as section 6.3 says."""
    payload = {"companyId": demo.COMPANY_ID}
    if kind in ID_ONLY_EVENTS:
        payload["incidentId"] = inc.get("id")
    elif kind == "OpenIncidentsStatusUpdated":
        payload["openIncidentsStatus"] = stats
    else:
        payload["incident"] = inc
    if kind in ("NewIncidentCreated", "IncidentUpdated"):
        payload["contactSummary"] = contact_summary(inc)
    if kind == "NewIncidentCreated":
        payload["openIncidentsStats"] = stats
    if comment is not None:
        payload["comment"] = comment
    return {kind: payload}


def derived_event(old, new):
    """The event type a control change emits when none is named."""
    if old is None:
        return "NewIncidentCreated"
    before, after = old.get("status"), new.get("status")
    if before == after:
        return "IncidentUpdated"
    if after == "muted":
        return "IncidentMuted"
    if after == "closed":
        return "IncidentClosed"
    return "IncidentUnmuted" if before == "muted" else "IncidentUpdated"


# ----------------------------------------------------------------- store

# The body filters of POST /api/incidents/{all,open,muted,closed}; None
# is "no filter".  Hashable, so a page read can reuse the last match.
Filters = namedtuple("Filters", "field start end statuses types labels")


class Store:
    """Incidents, contexts, the update stream and the test controls, all
    behind one lock.  Stored incident and event dicts are never changed
    in place (a change stores a new dict), so answers built under the
    lock can be serialised after it is released."""

    ACTIONS = {"mute": ("muted", "IncidentMuted"),
        "unmute": ("open", "IncidentUnmuted"),
        "close": ("closed", "IncidentClosed"),
        "mark-as-read": (None, "IncidentMarkedAsRead"),
        "comment": (None, "IncidentCommentAdded")}

    def __init__(self, key, seed, max_range_days, window_field):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.rng = random.Random("lumu-standin-%d" % seed)
        self.key = key
        self.max_range_days = max_range_days
        self.window_field = window_field
        self.incidents, self.contexts, self.actions = {}, {}, {}
        self._times = {}                # id -> parsed times of the incident
        self._version = 0               # bumped on every incident change
        self._cache = (None, None, [])  # (version, filters, matching rows)
        self.offset = FIRST_OFFSET
        self.event_offsets, self.events = [], []
        self.limiter = RateLimiter()
        self.faults = []
        self.log = deque(maxlen=MAX_LOG)
        self.stopping = False

    # Caller holds the lock for every method whose name starts with _.

    def _put(self, inc):
        self.incidents[inc["id"]] = inc
        self._times[inc["id"]] = {f: parse_time(inc.get(f))
            for f in ("timestamp", "lastContact")}
        self._version += 1
        return inc

    def _emit(self, event):
        # Offsets jump by a random step so clients cannot mistake them for
        # counters (section 6.1).
        self.offset += self.rng.randint(1, 7)
        self.event_offsets.append(self.offset)
        self.events.append(event)
        if len(self.events) > MAX_EVENTS:
            del self.events[:MAX_EVENTS // 10]
            del self.event_offsets[:MAX_EVENTS // 10]
        self.cond.notify_all()

    def _event(self, kind, inc, comment=None, stats=None):
        if stats is None and kind in ("NewIncidentCreated",
                "OpenIncidentsStatusUpdated"):
            stats = open_stats(self.incidents.values())
        self._emit(build_event(kind, inc, comment, stats))

    def _select(self, f):
        """Incidents passing the filters, newest timestamp first.  Paging
        clients repeat the same filters, so the last answer is kept."""
        version, filters, rows = self._cache
        if version == self._version and filters == f:
            return rows
        def newest(inc):
            return (self._times[inc["id"]]["timestamp"] or EPOCH,
                str(inc["id"]))
        rows = sorted((inc for inc in self.incidents.values()
            if self._matches(inc, f)), key=newest, reverse=True)
        self._cache = (self._version, f, rows)
        return rows

    def _matches(self, inc, f):
        status = inc.get("status")
        if f.statuses is not None and (not isinstance(status, str) or
                status not in f.statuses):
            return False
        if f.types is not None and \
                not _overlap(f.types, inc.get("adversaryTypes")):
            return False
        if f.labels is not None and \
                not _overlap(f.labels, inc.get("labelDistribution")):
            return False
        if f.field is None:
            return True
        # An unparseable time passes the window, so tests can inject one.
        when = self._times[inc["id"]][f.field]
        return when is None or (f.start <= when and
            (f.end is None or when <= f.end))

    def upsert(self, raws, contexts, quiet=False, raw=False):
        """Add or replace incidents, emitting NewIncidentCreated or
        IncidentUpdated for each; returns (ids, created count)."""
        now, done = utcnow(), []
        if raw and not all(isinstance(x, dict) and
                isinstance(x.get("id"), str) for x in raws):
            raise BadRequest("a raw incident needs a string id")
        incs = raws if raw else [complete_incident(x, now, self.rng)
            for x in raws]
        with self.lock:
            for inc in incs:
                done.append((inc["id"] not in self.incidents, inc))
                self._put(inc)
            self.contexts.update(contexts)
            # Counters once per batch: per event, a large batch would be
            # quadratic.
            stats = None if quiet else open_stats(self.incidents.values())
            for new, inc in ([] if quiet else done):
                self._event("NewIncidentCreated" if new else
                    "IncidentUpdated", inc, stats=stats)
        return [inc["id"] for _, inc in done], sum(new for new, _ in done)

    def change(self, inc_id, changes, kind=None, comment=None, quiet=False,
            context=None):
        """Change fields of one incident and emit an event; None when the
        id is unknown."""
        with self.lock:
            old = self.incidents.get(inc_id)
            if old is None:
                return None
            new = dict(old, **changes)
            new["id"] = inc_id
            if new.get("status") != old.get("status") and \
                    "statusTimestamp" not in changes:
                new["statusTimestamp"] = iso(utcnow())
            self._put(new)
            if context is not None:
                self.contexts[inc_id] = context
            if not quiet:
                self._event(kind or derived_event(old, new), new, comment)
            return new

    def act(self, inc_id, action, comment, user_id):
        """An action endpoint: change the incident, queue its event."""
        status, kind = self.ACTIONS[action]
        with self.lock:
            inc = self.incidents.get(inc_id)
            if inc is None:
                return False
            now = iso(utcnow())
            if status is not None:
                inc = self._put(dict(inc, status=status, statusTimestamp=now))
            elif action == "mark-as-read":
                inc = self._put(dict(inc, unread=False))
            self.actions.setdefault(inc_id, []).insert(0, {"action": action,
                "comment": comment, "datetime": now, "userId": user_id})
            self._event(kind, inc, comment if status or
                action == "comment" else None)
            return True

    def clear(self):
        """Drop all data; the offset keeps growing."""
        with self.lock:
            self.incidents.clear()
            self.contexts.clear()
            self.actions.clear()
            self._times.clear()
            self._version += 1
            self.events.clear()
            self.event_offsets.clear()

    def emit(self, kind, inc, comment=None):
        """Queue a built event for an incident without changing it."""
        with self.lock:
            self._event(kind, inc, comment)

    def pick(self, rng, status=None):
        """A random incident, of the given status if one is found soon."""
        with self.lock:
            incs = list(self.incidents.values())
        for _ in range(100 if incs else 0):
            inc = rng.choice(incs)
            if status in (None, inc.get("status")):
                return inc
        return incs[0] if incs else None

    def queue(self, events):
        with self.lock:
            for event in events:
                self._emit(event)
            return self.offset

    def page(self, f, page, items):
        """One page of the incidents that pass the filters, newest first."""
        with self.lock:
            rows = self._select(f)
        return paginate("items", rows, page, items)

    def details(self, inc_id):
        with self.lock:
            inc = self.incidents.get(inc_id)
            if inc is None:
                return None
            out = {k: v for k, v in inc.items()
                if k not in ("unread", "firstContact")}
            out["isUnread"] = inc.get("unread")
            out["actions"] = list(self.actions.get(inc_id, ()))
        out["firstContactDetails"] = contact_details(inc, "firstContact")
        out["lastContactDetails"] = contact_details(inc, "lastContact")
        return out

    def context(self, inc_id, hash_name):
        with self.lock:
            inc = self.incidents.get(inc_id)
            if inc is None:
                return None
            ctx = dict(self.contexts.get(inc_id) or default_context(inc))
        files = ctx.get("related_files")
        if isinstance(files, dict):
            ctx["related_files"] = files.get(hash_name, [])
        ctx.setdefault("timestamp", iso(utcnow()))
        return ctx

    def updates(self, offset, items, wait):
        """Events after offset, waiting up to `wait` seconds for one."""
        deadline = time.monotonic() + wait
        with self.cond:
            # No offset, or 0, starts at the current end of the stream:
            # the real meaning is unknown (section 6.1) and "now" forces a
            # client to read /incidents/all for what happened before.
            if not offset:
                offset = self.offset
            while True:
                i = bisect.bisect_right(self.event_offsets, offset)
                batch = self.events[i:i + items]
                left = deadline - time.monotonic()
                if batch or self.stopping or left <= 0:
                    break
                self.cond.wait(left)
            last = self.event_offsets[i + len(batch) - 1] if batch else offset
        return {"updates": batch, "offset": last}

    def snapshot(self):
        with self.lock:
            everything = Filters(None, EPOCH, None, None, None, None)
            return {"incidents": list(self._select(everything)),
                "contexts": dict(self.contexts)}

    def state(self):
        with self.lock:
            by_status = {}
            for inc in self.incidents.values():
                s = str(inc.get("status"))
                by_status[s] = by_status.get(s, 0) + 1
            return {"incidents": len(self.incidents), "by_status": by_status,
                "contexts": len(self.contexts), "events": len(self.events),
                "offset": self.offset,
                "faults": [dict(f) for f in self.faults],
                "requests": len(self.log),
                "rate_limit": {"per_minute": self.limiter.per_minute,
                    "daily": self.limiter.daily},
                "max_range_days": self.max_range_days,
                "window_field": self.window_field}

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def _take_fault(self, path):
        for fault in self.faults:
            if not path.startswith(fault["path"]):
                continue
            if fault["mode"] == "offset-backwards" and path != UPDATES_PATH:
                continue
            if fault["count"] > 0:
                fault["count"] -= 1
            if fault["count"] == 0:
                self.faults.remove(fault)
            return dict(fault)
        return None

    def admit(self, key, path):
        """Rate limit, key check and fault selection for one API request:
        (reply or None, rate-limit headers, fault or None)."""
        with self.lock:
            allowed, headers = self.limiter.check(key, time.monotonic())
            if not allowed:
                return json_reply(429, {"error": "rate_limited"}), headers, \
                    None
            if key != self.key:
                return error_reply(401, "Unauthorized",
                    "missing or invalid key"), headers, None
            return None, headers, self._take_fault(path)


def paginate(name, rows, page, items):
    """The paged envelope: `next` only when more exists, `prev` only after
    page 1 (section 3.3)."""
    start = (page - 1) * items
    info = {"items": items, "page": page}
    if start + items < len(rows):
        info["next"] = page + 1
    if page > 1:
        info["prev"] = page - 1
    return {name: rows[start:start + items], "paginationInfo": info,
        "timestamp": iso(utcnow())}


# ------------------------------------------------------------ rate limit

class RateLimiter:
    """Per-key requests per rolling minute and per day.  RateLimit-* headers
    describe the minute budget (the daily one when only that is set);
    X-RateLimit-*-Day headers the daily one.  Not locked: Store's lock
    covers it."""

    def __init__(self, per_minute=0, daily=0):
        self.configure(per_minute, daily)

    def configure(self, per_minute, daily):
        self.per_minute, self.daily = per_minute, daily
        self.keys = {}

    def check(self, key, now):
        """(allowed, headers) for one request; counts it when allowed."""
        if self.per_minute <= 0 and self.daily <= 0:
            return True, []
        minute, day = self.keys.setdefault(key, (deque(), [now, 0]))
        while minute and minute[0] <= now - 60:
            minute.popleft()
        if now - day[0] >= 86400:
            day[:] = [now, 0]
        minute_ok = self.per_minute <= 0 or len(minute) < self.per_minute
        day_ok = self.daily <= 0 or day[1] < self.daily
        if minute_ok and day_ok:
            minute.append(now)
            day[1] += 1
        minute_reset = math.ceil(minute[0] + 60 - now) if minute else 0
        day_reset = math.ceil(day[0] + 86400 - now)
        headers = []
        if self.per_minute > 0:
            headers += [("RateLimit-Limit", self.per_minute),
                ("RateLimit-Remaining", self.per_minute - len(minute)),
                ("RateLimit-Reset", minute_reset)]
        if self.daily > 0:
            left = self.daily - day[1]
            if self.per_minute <= 0:
                headers += [("RateLimit-Limit", self.daily),
                    ("RateLimit-Remaining", left),
                    ("RateLimit-Reset", day_reset)]
            headers += [("X-RateLimit-Limit-Day", self.daily),
                ("X-RateLimit-Remaining-Day", left)]
        if not (minute_ok and day_ok):
            headers.append(("Retry-After", day_reset if not day_ok
                else max(1, minute_reset)))
        return minute_ok and day_ok, [(k, str(v)) for k, v in headers]


# --------------------------------------------------------------- replies

class Reply:
    """An answer: status, body bytes (or chunks of a known length),
    content type and extra headers.  obj keeps the JSON value, so a fault
    can rewrite it."""

    def __init__(self, status, body=b"", ctype="application/json",
            obj=None, chunks=None, length=None):
        self.status, self.body, self.ctype = status, body, ctype
        self.obj, self.chunks, self.headers = obj, chunks, []
        self.length = len(body) if length is None else length


def dumps(obj):
    """Compact UTF-8 JSON; escaped when a string holds a lone surrogate."""
    try:
        return json.dumps(obj, ensure_ascii=False,
            separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":")).encode()


def json_reply(status, obj):
    return Reply(status, dumps(obj), obj=obj)


def error_reply(status, name, detail):
    return json_reply(status, {"name": name, "detail": detail})


def huge_chunks(size):
    """A valid JSON object of exactly `size` bytes, in 64 KiB pieces."""
    head, tail = b'{"items":[],"padding":"', b'"}'
    pad = max(0, size - len(head) - len(tail))
    yield head
    block = b"x" * 65536
    while pad > 0:
        yield block[:pad]
        pad -= min(pad, len(block))
    yield tail


# ---------------------------------------------------------- request data

class Request:
    """What a route needs of one request."""

    def __init__(self, method, path, query, headers, body):
        self.method, self.path, self.headers = method, path, headers
        self.body, self.groups = body, ()
        self.query = {k: v[0] for k, v in
            parse_qs(query, keep_blank_values=True).items()}

    def json_object(self):
        """The body as a JSON object; {} when there is no body."""
        try:
            body = json.loads(self.body) if self.body.strip() else {}
        except ValueError as e:
            raise BadRequest("body is not valid JSON: %s" % e)
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        return body

    def int_param(self, name, default, low, high):
        """An integer query parameter, clamped to low..high."""
        text = self.query.get(name, "")
        if text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise BadRequest("%s must be an integer" % name)
        return min(max(value, low), high)


def redact(text):
    """text with the value of every key= parameter hidden."""
    return re.sub(r"(^|[?&\s])key=[^&\s\"]*", r"\1key=REDACTED", text)


def _time_field(body, name):
    value = body.get(name)
    if value is None:
        return None
    when = parse_time(value)
    if when is None:
        raise BadRequest("%s must be an ISO-8601 time" % name)
    return when


def _list_field(body, name, kind):
    """A list of `kind` values, or None for null, [] or absent."""
    value = body.get(name)
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(v, kind) and
            not isinstance(v, bool) for v in value):
        raise BadRequest("%s must be a list of %s" % (name, kind.__name__))
    return frozenset(value)


def parse_filters(req, which, store):
    """Filters from a list request body; BadRequest when malformed."""
    body, now = req.json_object(), utcnow()
    start = _time_field(body, "fromDate") or now - DEFAULT_WINDOW
    end = _time_field(body, "toDate")
    days = store.max_range_days
    if days > 0 and start < now - timedelta(days=days) - RANGE_GRACE:
        raise BadRequest("fromDate out of range")
    if end is not None and end < start:
        raise BadRequest("toDate is before fromDate")
    statuses = _list_field(body, "status", str)
    if statuses and not statuses <= set(STATUSES):
        raise BadRequest("status must be open, muted or closed")
    if which != "all":
        statuses = frozenset({which}) & (statuses or {which})
    labels = _list_field(body, "labels", int)
    return Filters(store.window_field, start, end, statuses,
        _list_field(body, "adversary-types", str),
        None if labels is None else frozenset(str(n) for n in labels))


# ------------------------------------------------------------ API routes

def api_list(store, req):
    f = parse_filters(req, req.groups[0], store)
    page = req.int_param("page", 1, 1, 1 << 31)
    items = req.int_param("items", DEFAULT_ITEMS, 1, MAX_ITEMS)
    return json_reply(200, store.page(f, page, items))


def api_context(store, req):
    hash_name = req.query.get("hash", "sha256").lower()
    if hash_name not in HASHES:
        raise BadRequest("hash must be sha256, sha1 or md5")
    ctx = store.context(req.groups[0], hash_name)
    if ctx is None:
        return error_reply(404, "NotFound", "incident not found")
    return json_reply(200, ctx)


def api_details(store, req):
    details = store.details(req.groups[0])
    if details is None:
        return error_reply(404, "NotFound", "incident not found")
    return json_reply(200, details)


def api_updates(store, req):
    offset = req.int_param("offset", 0, 0, 1 << 62)
    items = req.int_param("items", DEFAULT_ITEMS, 1, MAX_ITEMS)
    wait = req.int_param("time", 0, 0, MAX_WAIT)
    return json_reply(200, store.updates(offset, items, wait))


def api_action(store, req):
    body = req.json_object()
    comment = body.get("comment")
    try:
        user = int(req.headers.get("Lumu-User-Id", "0"))
    except ValueError:
        raise BadRequest("Lumu-User-Id must be an integer")
    if not store.act(req.groups[0], req.groups[1], comment, user):
        return error_reply(404, "NotFound", "incident not found")
    # Lumu answers actions with 200 and an empty body (section 1).
    return Reply(200, b"", ctype=None)


def api_labels(store, req):
    page = req.int_param("page", 1, 1, 1 << 31)
    items = req.int_param("items", DEFAULT_ITEMS, 1, MAX_ITEMS)
    out = paginate("labels", list(demo.LABELS), page, items)
    del out["timestamp"]
    return json_reply(200, out)


def api_label(store, req):
    for label in demo.LABELS:
        if str(label["id"]) == req.groups[0]:
            return json_reply(200, label)
    return error_reply(404, "NotFound", "label not found")


# -------------------------------------------------------- control routes

def control_incidents(store, req):
    return json_reply(200, store.snapshot())


def control_add(store, req):
    body = req.json_object()
    incidents, contexts = body.get("incidents", []), body.get("contexts", {})
    if not isinstance(incidents, list) or not isinstance(contexts, dict):
        raise BadRequest("incidents must be a list, contexts an object")
    ids, created = store.upsert(incidents, contexts, bool(body.get("quiet")),
        bool(body.get("raw")))
    return json_reply(200, {"ids": ids, "created": created,
        "replaced": len(ids) - created, "offset": store.offset})


def control_change(store, req):
    changes = req.json_object()
    kind, comment = changes.pop("event", None), changes.pop("comment", None)
    quiet, context = changes.pop("quiet", False), changes.pop("context", None)
    inc = store.change(req.groups[0], changes, kind, comment, quiet, context)
    if inc is None:
        return error_reply(404, "NotFound", "incident not found")
    return json_reply(200, {"incident": inc, "offset": store.offset})


def control_clear(store, req):
    store.clear()
    return json_reply(200, {"cleared": True})


def control_events(store, req):
    events = req.json_object().get("events")
    if not isinstance(events, list):
        raise BadRequest("events must be a list")
    return json_reply(200, {"offset": store.queue(events)})


def control_fault(store, req):
    fault = req.json_object()
    if fault.get("mode") not in FAULT_MODES:
        raise BadRequest("mode must be one of %s" % ", ".join(FAULT_MODES))
    fault.setdefault("count", 1)
    fault.setdefault("path", "/api/")
    if not isinstance(fault["count"], int) or fault["count"] == 0 or \
            not isinstance(fault["path"], str):
        raise BadRequest("count must be a non-zero integer, path a string")
    with store.lock:
        store.faults.append(fault)
        return json_reply(200, {"faults": list(store.faults)})


def control_faults(store, req):
    with store.lock:
        if req.method == "DELETE":
            store.faults.clear()
        return json_reply(200, {"faults": list(store.faults)})


def control_ratelimit(store, req):
    body = req.json_object()
    with store.lock:
        lim = store.limiter
        per_minute = body.get("per_minute", lim.per_minute)
        daily = body.get("daily", lim.daily)
        if not isinstance(per_minute, int) or not isinstance(daily, int):
            raise BadRequest("per_minute and daily must be integers")
        lim.configure(per_minute, daily)
    return json_reply(200, {"per_minute": per_minute, "daily": daily})


def control_key(store, req):
    key = req.json_object().get("key")
    if not isinstance(key, str) or not key:
        raise BadRequest("key must be a non-empty string")
    with store.lock:
        store.key = key
    return json_reply(200, {"changed": True})


def control_config(store, req):
    body = req.json_object()
    days = body.get("max_range_days", store.max_range_days)
    field = body.get("window_field", store.window_field)
    if not isinstance(days, int) or field not in ("timestamp", "lastContact"):
        raise BadRequest("max_range_days: integer; window_field: "
            "timestamp or lastContact")
    with store.lock:
        store.max_range_days, store.window_field = days, field
    return json_reply(200, {"max_range_days": days, "window_field": field})


def control_log(store, req):
    with store.lock:
        if req.method == "DELETE":
            store.log.clear()
        return json_reply(200, {"requests": list(store.log)})


def control_state(store, req):
    return json_reply(200, store.state())


ID = r"([^/]+)"
ROUTES = (
    ("POST", r"/api/incidents/(all|open|muted|closed)", api_list),
    ("GET", UPDATES_PATH, api_updates),
    ("GET", r"/api/incidents/%s/context" % ID, api_context),
    ("GET", r"/api/incidents/%s/details" % ID, api_details),
    ("POST", r"/api/incidents/%s/(mark-as-read|mute|unmute|close|comment)"
        % ID, api_action),
    ("GET", r"/api/administration/labels", api_labels),
    ("GET", r"/api/administration/labels/(\d+)", api_label),
    ("GET", r"/_control/incidents", control_incidents),
    ("POST", r"/_control/incidents", control_add),
    ("DELETE", r"/_control/incidents", control_clear),
    ("POST", r"/_control/incidents/%s" % ID, control_change),
    ("POST", r"/_control/events", control_events),
    ("POST", r"/_control/fault", control_fault),
    ("GET", r"/_control/fault", control_faults),
    ("DELETE", r"/_control/fault", control_faults),
    ("POST", r"/_control/ratelimit", control_ratelimit),
    ("POST", r"/_control/key", control_key),
    ("POST", r"/_control/config", control_config),
    ("GET", r"/_control/log", control_log),
    ("DELETE", r"/_control/log", control_log),
    ("GET", r"/_control/state", control_state),
)


def route(store, req):
    """Run the route for the request's method and path."""
    allowed = False
    for method, pattern, func in ROUTES:
        m = re.fullmatch(pattern, req.path)
        if m is None:
            continue
        if method != req.method:
            allowed = True
            continue
        req.groups = m.groups()
        try:
            return func(store, req)
        except BadRequest as e:
            return error_reply(400, "BadRequest", str(e))
        except Exception as e:  # a test fed odd data: say so, keep serving
            traceback.print_exc()
            return error_reply(500, "ServerError", repr(e))
    if allowed:
        return error_reply(405, "MethodNotAllowed", "method not allowed")
    return error_reply(404, "NotFound", "no such path")


def fault_reply(store, fault, req):
    """The answer a fault gives instead of (or made from) the normal one;
    None means: close the connection without an answer."""
    mode = fault["mode"]
    if mode == "slow":
        time.sleep(float(fault.get("seconds", 5)))
    if mode in ("slow", "truncate", "offset-backwards"):
        reply = route(store, req)
        if mode == "truncate":
            reply.body = reply.body[:len(reply.body) // 2]
            reply.length = len(reply.body)
        elif mode == "offset-backwards" and reply.status == 200:
            asked = req.int_param("offset", 0, 0, 1 << 62) or \
                reply.obj["offset"]
            reply = json_reply(200, dict(reply.obj,
                offset=max(0, asked - store.rng.randint(1, 1000))))
        return reply
    if mode == "status":
        status = int(fault.get("status", 500))
        body = fault.get("body", {"name": "ServerError",
            "detail": "injected fault"})
        if isinstance(body, str):
            return Reply(status, body.encode(), ctype="text/plain")
        return json_reply(status, body)
    if mode == "garbage":
        return Reply(200, b"\x00\xff<html>Internal\x1b[0m error}{\xfe\n")
    if mode == "wrong-shape":
        return json_reply(200, ["unexpected", {"shape": True}])
    if mode == "huge":
        size = int(fault.get("bytes", 20 << 20))
        return Reply(200, chunks=huge_chunks(size), length=max(size, 25))
    if mode == "empty":
        return Reply(200, b"")
    return None


# --------------------------------------------------------------- handler

class Handler(BaseHTTPRequestHandler):
    """Reads a request, answers through route(), logs API requests."""

    protocol_version = "HTTP/1.1"
    server_version = "lumu-standin/1.0"
    # Headers and body go out in separate writes; without TCP_NODELAY the
    # body waits for the client's delayed ACK (40 ms) on a kept-alive
    # connection, which no production server does.
    disable_nagle_algorithm = True

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_DELETE(self):
        self.serve("DELETE")

    def serve(self, method):
        store, started = self.server.store, time.time()
        url = urlsplit(self.path)
        control = url.path.startswith("/_control/")
        try:
            body = self.read_body(MAX_CONTROL_BODY if control
                else MAX_API_BODY)
        except BadRequest as e:
            self.send(error_reply(400, "BadRequest", str(e)))
            self.close_connection = True
            return
        req = Request(method, url.path, url.query, self.headers, body)
        if control:
            reply = route(store, req) if self.client_address[0] in \
                ("127.0.0.1", "::1") else error_reply(403, "Forbidden",
                "control is loopback only")
            self.send(reply)
            return
        reply, fault = self.answer_api(store, req)
        # Logged before the reply goes out, so a client that has its answer
        # always finds the request in the log (a test reading the log right
        # after an answer must not race this thread).
        entry = {"method": method, "path": url.path,
            "query": redact(url.query),
            "body": body.decode("utf-8", "replace") if body else None,
            "status": reply.status if reply else None,
            "fault": fault and fault["mode"],
            "time": iso(datetime.fromtimestamp(started, timezone.utc)),
            "elapsed": round(time.time() - started, 3)}
        with store.lock:
            store.log.append(entry)
        self.send(reply)

    def answer_api(self, store, req):
        """(reply, fault) for a request under /api/."""
        reply, headers, fault = store.admit(req.query.get("key"), req.path)
        if reply is None:
            reply = fault_reply(store, fault, req) if fault else \
                route(store, req)
        if reply is not None:
            reply.headers += headers
        return reply, fault

    def read_body(self, limit):
        """The request body, plain or chunked, at most limit bytes."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts, total = [], 0
            while True:
                try:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                except ValueError:
                    raise BadRequest("bad chunk size")
                total += size
                if total > limit:
                    raise BadRequest("body too large")
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("bad Content-Length")
        if length < 0 or length > limit:
            raise BadRequest("body too large")
        return self.rfile.read(length)

    def send(self, reply):
        """Write a reply; returns the status, or None after closing the
        connection without one."""
        if reply is None:
            self.close_connection = True
            return None
        try:
            self.send_response(reply.status)
            if reply.ctype:
                self.send_header("Content-Type", reply.ctype)
            self.send_header("Content-Length", str(reply.length))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            for chunk in reply.chunks or (reply.body,):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return reply.status

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write(redact("%s %s\n" % (self.address_string(),
                fmt % args)))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


# ------------------------------------------------------------------ main

def parse_args(argv):
    p = argparse.ArgumentParser(description="stand-in Lumu Defender API")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file")
    p.add_argument("--demo", type=int, default=0, metavar="N")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", metavar="FILE.json")
    p.add_argument("--rate-limit", type=int, default=0, metavar="PER_MIN")
    p.add_argument("--max-range-days", type=int, default=30)
    p.add_argument("--window-field", default="timestamp",
        choices=("timestamp", "lastContact"))
    p.add_argument("--events-every", type=float, default=0, metavar="SECONDS",
        help="emit a random live event this often (demo)")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def write_port_file(path, port):
    """Write the port atomically: readers never see a partial file."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as fp:
        fp.write("%d\n" % port)
    os.replace(tmp, path)


def load(store, args):
    """The data to start with: --demo, then --data."""
    if args.demo > 0:
        incidents, contexts = demo.generate(args.demo, args.seed, utcnow())
        store.upsert(incidents, contexts, quiet=True)
        demo.backlog(store, max(12, min(200, args.demo // 10)))
    if args.data:
        with open(args.data, encoding="utf-8") as fp:
            data = json.load(fp)
        if not isinstance(data, dict) or \
                not isinstance(data.get("incidents", []), list) or \
                not isinstance(data.get("contexts", {}), dict):
            raise BadRequest('want {"incidents": [...], "contexts": {...}}')
        store.upsert(data.get("incidents", []), data.get("contexts", {}),
            quiet=True)


def main(argv=None):
    args = parse_args(argv)
    store = Store(args.key, args.seed, args.max_range_days, args.window_field)
    store.limiter.configure(args.rate_limit, 0)
    try:
        load(store, args)
    except (OSError, ValueError, BadRequest) as e:
        sys.exit("lumu_standin: %s" % e)

    server = Server(("127.0.0.1", args.port), Handler)
    server.store, server.verbose = store, args.verbose
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("listening on 127.0.0.1:%d" % port, flush=True)

    tick_rng = random.Random(args.seed)
    # Wake up regularly: signal handlers run only between waits.
    while not stop.wait(args.events_every or 0.5):
        if args.events_every > 0:
            demo.tick(store, tick_rng)
    store.stop()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
