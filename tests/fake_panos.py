#!/usr/bin/python3
"""A fake PAN-OS XML API for the test suite.

Serves /api/ on 127.0.0.1 over HTTPS, with a self-signed certificate made
at start by the openssl command in a temporary directory (--plain: HTTP),
and behaves as shared/reference/panos.md sections 4-7 describe:

  keygen       type=keygen&user=&password=; a new key invalidates the
               user's previous one
  auth         the key in the X-PAN-KEY header, or key= in the query
               string or the form body, or HTTP Basic; else HTTP 403 with
               <response status = 'error' code = '403'>
  parameters   query string and form body merged (the body wins);
               multipart/form-data with a "file" part for type=user-id
  user-id      uid-message register/unregister: tags with timeouts
               (0..2592000 s), persistent flag, at most 32 tags per IP, a
               registered-IP capacity, vsys; a duplicate register or an
               absent unregister turns the whole answer into
               status="error" with per-entry messages ending "already
               exists, ignore" / "does not exist, ignore unreg", while the
               valid entries are applied
  op           show object registered-ip (limit capped at 500,
               start-point, tag, ip), show jobs id N, show system info,
               request system external-list refresh (a job)
  config       get (candidate), show (running), set (merge), edit
               (replace), delete on the custom-url-category xpaths of a
               vsys, shared or a device group; XPath literals in '', ""
               or concat(); members checked by the URL list rules
  commit       full, or partial by admin; "There are no changes to
               commit."; jobs ACT -> FIN with progress 100 at FIN;
               running config replaced when the job ends OK

Control interface for tests (no key, JSON in and out):

  GET    /_control/state       registered IPs, candidate and running
                               categories, jobs, counters
  GET    /_control/log         the /api/ requests seen; DELETE clears
  POST   /_control/fault       {"mode": M, "count": N (-1: always),
                               "status": S}; modes: commit-lock,
                               commit-busy, job-fail, jobs-502, status
                               (every /api/ answer is HTTP S), uid-full
  DELETE /_control/fault       clears every fault
  POST   /_control/registered  {"vsys": V, "entries": {IP: [tag, ...]},
                               "persistent": bool}
  POST   /_control/category    {"scope": "vsys1" | "shared" | "dg:NAME",
                               "name": N, "members": [...], "type": T}
                               into candidate and running
  POST   /_control/config      {"commit_seconds": S, "capacity": N}
  POST   /_control/clock       {"advance": seconds}
  POST   /_control/reboot      drops the registrations not persistent
  POST   /_control/user        {"user": U, "password": P}

Usage:
  fake_panos.py [--port 0] [--port-file FILE] [--ca-out FILE] [--plain]
      [--user admin] [--password secret] [--api-key KEY]
      [--commit-seconds 1.0] [--capacity 100000] [--verbose]
"""

import argparse
import base64
import copy
import email.parser
import email.policy
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

MAX_BODY = 5 << 20              # PAN-OS: "limit the request size to 5MB"
MAX_TAGS = 32
MAX_TIMEOUT = 2592000
PAGE_MAX = 500
URL_SEPARATORS = "./?&=;+"
LOCALHOST = "/config/devices/entry[@name='localhost.localdomain']"
LITERAL = r"""(?:'[^']*'|"[^"]*"|concat\((?:\s*(?:'[^']*'|"[^"]*")\s*,?)+\))"""
SCOPES = [
    (re.compile(re.escape(LOCALHOST) + r"/vsys/entry\[@name=(%s)\]" %
                LITERAL), "vsys"),
    (re.compile(re.escape(LOCALHOST) + r"/device-group/entry\[@name=(%s)\]"
                % LITERAL), "dg"),
    (re.compile(r"/config/shared"), "shared"),
]
CATEGORY_REST = re.compile(
    r"/profiles/custom-url-category"
    r"(?:/entry\[@name=(%s)\]"
    r"(?:/(list)(?:/member\[text\(\)=(%s)\])?|/(type)|/(description))?)?$"
    % (LITERAL, LITERAL))


class ApiError(Exception):
    """An answer of status="error" with a code and a message."""

    def __init__(self, code, msg, http=200):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http = http


def literal(s):
    """The value of an XPath string literal or concat() of literals."""
    if s.startswith("concat("):
        return "".join(p[1:-1] for p in re.findall(r"'[^']*'|\"[^\"]*\"",
                                                   s[7:-1]))
    return s[1:-1]


def parse_xpath(xpath):
    """(scope, name, part, member) of a category xpath; ApiError(6)."""
    for rx, kind in SCOPES:
        m = rx.match(xpath)
        if not m:
            continue
        if kind == "shared":
            scope = "shared"
        else:
            scope = literal(m.group(1))
            if kind == "vsys" and not re.fullmatch(r"vsys\d+", scope):
                raise ApiError(6, "Bad Xpath: no vsys %s" % scope)
            if kind == "dg":
                scope = "dg:" + scope
        r = CATEGORY_REST.match(xpath, m.end())
        if not r:
            break
        name = literal(r.group(1)) if r.group(1) else None
        part = r.group(2) or r.group(4) or r.group(5)
        member = literal(r.group(3)) if r.group(3) else None
        if member is not None:
            part = "member"
        return scope, name, part, member
    raise ApiError(6, "Bad Xpath")


def url_member_error(m):
    """Why m is not a valid URL list entry, or None when it is."""
    if not m or len(m) > 255:
        return "length"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7f for c in m):
        return "whitespace or control character"
    if "://" in m:
        return "scheme"
    host = re.split(r"[/?]", m, 1)[0]
    if not host:
        return "no host"
    if ":" in host:
        return "port"
    for tok in re.split("[" + re.escape(URL_SEPARATORS) + "]", m):
        if ("*" in tok and tok != "*") or ("^" in tok and tok != "^"):
            return "wildcard inside a token"
    if m.endswith("/^"):
        return "^ after the trailing slash"
    return None


def ip_sort_key(ip):
    a = ipaddress.ip_address(ip)
    return (a.version, int(a))


class State:
    """Everything the device holds; one lock around every request."""

    def __init__(self, args):
        self.lock = threading.RLock()
        self.users = {args.user: args.password}
        self.keys = {}
        self.user_key = {}
        if args.api_key:
            self.keys[args.api_key] = "api-admin"
        self.offset = 0.0
        self.registered = {}
        self.capacity = args.capacity
        self.commit_seconds = args.commit_seconds
        self.candidate = {}
        self.running = {}
        self.dirty = set()
        self.jobs = {}
        self.next_job = 1
        self.faults = {}
        self.log = []
        self.keygens = 0

    def now(self):
        return time.time() + self.offset

    def take_fault(self, mode):
        f = self.faults.get(mode)
        if not f or f.get("count", 1) == 0:
            return None
        if f.get("count", 1) > 0:
            f["count"] = f.get("count", 1) - 1
        return f

    def expire(self):
        now = self.now()
        for table in self.registered.values():
            for ip in list(table):
                tags = table[ip]["tags"]
                for t in [t for t, exp in tags.items()
                          if exp is not None and exp <= now]:
                    del tags[t]
                if not tags:
                    del table[ip]

    def nregistered(self):
        return sum(len(t) for t in self.registered.values())

    # -- keys -----------------------------------------------------------
    def keygen(self, user, password):
        if user not in self.users or self.users[user] != password:
            raise ApiError(403, "Invalid credentials.", 403)
        old = self.user_key.pop(user, None)
        self.keys.pop(old, None)
        key = "LUFRPT1" + base64.b64encode(secrets.token_bytes(30)).decode()
        self.keys[key] = user
        self.user_key[user] = key
        self.keygens += 1
        return key

    # -- user-id --------------------------------------------------------
    def uid_register(self, vsys, e, problems):
        ip = e.get("ip", "")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            problems.append(("register", ip, "invalid ip address"))
            return
        table = self.registered.setdefault(vsys, {})
        rec = table.get(ip)
        if rec is None:
            if (self.nregistered() >= self.capacity or
                    self.take_fault("uid-full")):
                problems.append(("register", ip, "max registered-ip for "
                                 "the platform reached"))
                return
            rec = {"persistent": False, "tags": {}}
        rec["persistent"] = rec["persistent"] or e.get("persistent") == "1"
        for m in e.findall("tag/member"):
            tag = m.text or ""
            timeout = m.get("timeout", "0")
            if not timeout.isdigit() or int(timeout) > MAX_TIMEOUT:
                problems.append(("register", ip, "invalid timeout %s for "
                                 "tag %s" % (timeout, tag)))
            elif tag in rec["tags"]:
                problems.append(("register", ip, "tag %s already exists, "
                                 "ignore" % tag))
            elif len(rec["tags"]) >= MAX_TAGS:
                problems.append(("register", ip, "more than %d tags"
                                 % MAX_TAGS))
            else:
                rec["tags"][tag] = (self.now() + int(timeout)
                                    if int(timeout) > 0 else None)
        if rec["tags"]:
            table[ip] = rec

    def uid_unregister(self, vsys, e, problems):
        ip = e.get("ip", "")
        table = self.registered.setdefault(vsys, {})
        rec = table.get(ip)
        members = e.findall("tag/member")
        if not members:
            if rec is None:
                problems.append(("unregister", ip, "ip %s does not exist, "
                                 "ignore unreg" % ip))
            table.pop(ip, None)
            return
        for m in members:
            tag = m.text or ""
            if rec is None or tag not in rec["tags"]:
                problems.append(("unregister", ip, "tag %s does not exist, "
                                 "ignore unreg" % tag))
            else:
                del rec["tags"][tag]
        if rec is not None and not rec["tags"]:
            del table[ip]

    def user_id(self, p):
        text = p.get("cmd") or p.get("file") or ""
        try:
            root = ET.fromstring(text)
        except ET.ParseError as e:
            raise ApiError(18, "Malformed message: %s" % e)
        if root.tag != "uid-message" or root.findtext("type", "update") \
                != "update" or root.find("payload") is None:
            raise ApiError(18, "Malformed message")
        vsys = p.get("vsys", "vsys1")
        self.expire()
        problems = []
        for sec in root.find("payload"):
            for e in sec.findall("entry"):
                if sec.tag == "register":
                    self.uid_register(vsys, e, problems)
                elif sec.tag == "unregister":
                    self.uid_unregister(vsys, e, problems)
        payload = ""
        for sec in ("register", "unregister"):
            payload += "<%s>%s</%s>" % (sec, "".join(
                "<entry ip=%s message=%s/>" % (quoteattr(ip), quoteattr(m))
                for s, ip, m in problems if s == sec), sec)
        body = ("<uid-response><version>2.0</version><payload>%s</payload>"
                "</uid-response>" % payload)
        if problems:
            return ('<response status="error"><msg><line>%s</line></msg>'
                    '</response>' % body)
        return '<response status="success"><result>%s</result></response>' \
            % body

    # -- op -------------------------------------------------------------
    def show_registered(self, el, vsys):
        limit = int(el.findtext("limit") or PAGE_MAX)
        start = int(el.findtext("start-point") or 1)
        if limit < 1 or start < 1:
            raise ApiError(17, "invalid limit or start-point")
        limit = min(limit, PAGE_MAX)
        tag_el = el.find("tag/entry")
        tag = tag_el.get("name") if tag_el is not None else None
        only_ip = el.findtext("ip")
        self.expire()
        table = self.registered.get(vsys, {})
        rows = sorted((ip for ip, rec in table.items()
                       if (tag is None or tag in rec["tags"]) and
                       (only_ip is None or ip == only_ip)), key=ip_sort_key)
        out = []
        for ip in rows[start - 1:start - 1 + limit]:
            rec = table[ip]
            out.append('<entry ip=%s from_agent="0" persistent="%d"><tag>%s'
                       '</tag></entry>' % (quoteattr(ip), rec["persistent"],
                                           "".join("<member>%s</member>" %
                                                   escape(t)
                                                   for t in rec["tags"])))
        return '<response status="success"><result>%s</result></response>' \
            % "".join(out)

    def job_state(self, job):
        elapsed = self.now() - job["start"]
        if elapsed < job["duration"]:
            return "ACT", "PEND", min(99, int(100 * elapsed /
                                             job["duration"]))
        if not job["applied"]:
            job["applied"] = True
            if job["result"] == "OK" and job["type"] == "Commit":
                self.running = job["snapshot"]
        return "FIN", job["result"], 100

    def job_xml(self, job):
        status, result, progress = self.job_state(job)
        fin = "Still Active" if status != "FIN" else "10:00:09"
        details = "".join("<line>%s</line>" % escape(d)
                          for d in job["details"]) if status == "FIN" else ""
        return ("<job><tenq>2024/05/02 10:00:01</tenq><tdeq>10:00:01</tdeq>"
                "<id>%d</id><user>%s</user><type>%s</type><status>%s</status>"
                "<queued>NO</queued><stoppable>no</stoppable>"
                "<result>%s</result><tfin>%s</tfin><description></description>"
                "<positionInQ>0</positionInQ><progress>%d</progress>"
                "<details>%s</details><warnings></warnings></job>"
                % (job["id"], escape(job["user"]), job["type"], status, result,
                   fin, progress, details))

    def new_job(self, kind, user, result="OK", details=None):
        job = {"id": self.next_job, "type": kind, "user": user,
               "start": self.now(), "duration": self.commit_seconds,
               "result": result, "details": details or [],
               "snapshot": copy.deepcopy(self.candidate), "applied": False}
        self.jobs[job["id"]] = job
        self.next_job += 1
        return job

    def op(self, p, user, handler):
        try:
            root = ET.fromstring(p.get("cmd", ""))
        except ET.ParseError:
            raise ApiError(18, "Malformed command")
        vsys = p.get("vsys", "vsys1")
        rip = root.find("object/registered-ip")
        if root.tag == "show" and rip is not None:
            handler.note["start"] = rip.findtext("start-point")
            return self.show_registered(rip, vsys)
        jid = root.findtext("jobs/id")
        if root.tag == "show" and jid is not None:
            if self.take_fault("jobs-502"):
                raise ApiError(0, "<html>502 Bad Gateway</html>", 502)
            job = self.jobs.get(int(jid)) if jid.strip().isdigit() else None
            if job is None:
                raise ApiError(17, "job %s not found" % jid.strip())
            return '<response status="success"><result>%s</result>' \
                '</response>' % self.job_xml(job)
        if root.tag == "show" and root.find("system/info") is not None:
            return ('<response status="success"><result><system><hostname>'
                    'fake-fw</hostname><sw-version>10.2.4</sw-version>'
                    '<model>PA-VM</model></system></result></response>')
        if root.tag == "request" and root.find(
                "system/external-list/refresh") is not None:
            job = self.new_job("EDLRefresh", user)
            return ('<response status="success"><result><msg><line>EDL '
                    'refresh job enqueued</line></msg><job>%d</job></result>'
                    '</response>' % job["id"])
        raise ApiError(17, "%s is unexpected" % root.tag)

    # -- config ---------------------------------------------------------
    def config(self, p, user):
        action = p.get("action", "")
        xpath = p.get("xpath", "")
        scope, name, part, member = parse_xpath(xpath)
        if action in ("get", "show"):
            cfg = self.candidate if action == "get" else self.running
            return self.config_get(cfg.get(scope, {}), name, part, member,
                                   user)
        element = p.get("element")
        cats = self.candidate.setdefault(scope, {})
        if action == "set":
            self.config_set(cats, name, part, self.fragment(element))
        elif action == "edit":
            self.config_edit(cats, name, part, self.fragment(element))
        elif action == "delete":
            self.config_delete(cats, name, part, member)
        else:
            raise ApiError(17, "unknown action %s" % action)
        self.dirty.add(user)
        return ('<response status="success" code="20"><msg>command '
                'succeeded</msg></response>')

    @staticmethod
    def fragment(element):
        if element is None:
            raise ApiError(18, "element is missing")
        try:
            return list(ET.fromstring("<x>%s</x>" % element))
        except ET.ParseError as e:
            raise ApiError(18, "Malformed element: %s" % e)

    @staticmethod
    def entry_xml(name, cat, user):
        members = "".join('<member admin=%s time="2024/05/02 10:00:00">%s'
                          '</member>' % (quoteattr(user), escape(m))
                          for m in cat["list"])
        return ('<entry name=%s admin=%s time="2024/05/02 10:00:00">'
                '<list>%s</list>%s%s</entry>'
                % (quoteattr(name), quoteattr(user), members,
                   "<type>%s</type>" % escape(cat["type"])
                   if cat.get("type") else "",
                   "<description>%s</description>" %
                   escape(cat["description"])
                   if cat.get("description") else ""))

    def config_get(self, cats, name, part, member, user):
        ok = '<response status="success" code="19"><result ' \
            'total-count="1" count="1">%s</result></response>'
        if name is None:
            return ('<response status="success" code="19"><result><custom-'
                    'url-category>%s</custom-url-category></result>'
                    '</response>' % "".join(self.entry_xml(n, c, user)
                                            for n, c in cats.items()))
        cat = cats.get(name)
        absent = '<response status="success" code="7"><result/></response>'
        if cat is None:
            return absent
        if part is None:
            return ok % self.entry_xml(name, cat, user)
        if part == "list":
            return ok % ("<list>%s</list>" % "".join(
                "<member>%s</member>" % escape(m) for m in cat["list"]))
        if part == "member":
            return ok % ("<member>%s</member>" % escape(member)) \
                if member in cat["list"] else absent
        value = cat.get(part)
        return ok % ("<%s>%s</%s>" % (part, escape(value), part)) \
            if value else absent

    @staticmethod
    def check_members(members):
        for m in members:
            why = url_member_error(m)
            if why is not None:
                raise ApiError(12, "custom-url-category: %r is not a valid "
                               "URL (%s)" % (m, why))

    def merge_entry(self, cats, name, children, replace):
        cat = {"list": [], "type": None, "description": None} \
            if replace or name not in cats else copy.deepcopy(cats[name])
        for c in children:
            if c.tag == "list":
                members = [m.text or "" for m in c.findall("member")]
                self.check_members(members)
                cat["list"] += [m for m in members if m not in cat["list"]]
            elif c.tag in ("type", "description"):
                cat[c.tag] = c.text or ""
            else:
                raise ApiError(12, "%s is unexpected" % c.tag)
        if not cat.get("type"):
            raise ApiError(12, "custom-url-category %s: 'type' is missing"
                           % name)
        cats[name] = cat

    def config_set(self, cats, name, part, children):
        if name is None:
            for c in children:
                if c.tag != "entry" or not c.get("name"):
                    raise ApiError(12, "%s is unexpected" % c.tag)
                self.merge_entry(cats, c.get("name"), list(c), False)
        elif part is None:
            self.merge_entry(cats, name, children, False)
        elif part == "list":
            if name not in cats:
                raise ApiError(12, "custom-url-category %s: 'type' is "
                               "missing" % name)
            if any(c.tag != "member" for c in children):
                raise ApiError(12, "only <member> goes into a list")
            members = [c.text or "" for c in children]
            self.check_members(members)
            lst = cats[name]["list"]
            lst += [m for m in members if m not in lst]
        else:
            raise ApiError(12, "set of %s is not supported here" % part)

    def config_edit(self, cats, name, part, children):
        want = "entry" if part is None else part
        if name is None or len(children) != 1 or children[0].tag != want or \
                (want == "entry" and children[0].get("name") != name):
            raise ApiError(12, "edit: the element must be the xpath's last "
                           "node")
        if part is None:
            self.merge_entry(cats, name, list(children[0]), True)
        elif name not in cats:
            raise ApiError(7, "Object not present")
        elif part == "list":
            members = [m.text or "" for m in children[0].findall("member")]
            self.check_members(members)
            cats[name]["list"] = list(dict.fromkeys(members))
        elif part in ("type", "description"):
            cats[name][part] = children[0].text or ""
        else:
            raise ApiError(12, "edit of %s is not supported" % part)

    def config_delete(self, cats, name, part, member):
        if name is None:
            raise ApiError(12, "refusing to delete every category")
        if name not in cats:
            raise ApiError(7, "Object doesn't exist")
        if part is None:
            del cats[name]
        elif part == "list":
            cats[name]["list"] = []
        elif part == "member":
            if member not in cats[name]["list"]:
                raise ApiError(7, "Object doesn't exist")
            cats[name]["list"].remove(member)
        else:
            cats[name][part] = None

    # -- commit ---------------------------------------------------------
    def commit(self, p, user, handler):
        try:
            root = ET.fromstring(p.get("cmd", "<commit/>"))
        except ET.ParseError:
            raise ApiError(18, "Malformed command")
        if root.tag != "commit":
            raise ApiError(17, "%s is unexpected" % root.tag)
        admins = None
        if p.get("action") == "partial":
            admins = [m.text for m in root.findall("partial/admin/member")]
            if not admins:
                raise ApiError(18, "partial commit without admin")
        handler.note["partial"] = admins
        if self.take_fault("commit-lock"):
            raise ApiError(13, "Commit lock is already held by admin2")
        if self.take_fault("commit-busy") or any(
                self.job_state(j)[0] != "FIN" for j in self.jobs.values()
                if j["type"] == "Commit"):
            raise ApiError(13, "Another commit/validate is in progress. "
                           "Please try again later")
        changed = self.candidate != self.running
        mine = changed and (admins is None or
                            any(a in self.dirty for a in admins))
        if not mine:
            return ('<response status="success" code="19"><msg>There are no '
                    'changes to commit.</msg></response>')
        fail = self.take_fault("job-fail")
        job = self.new_job("Commit", user, "FAIL" if fail else "OK",
                           ["Validation Error:", " custom-url-category "
                            "is invalid"] if fail else
                           ["Configuration committed successfully"])
        job["partial"] = admins
        if admins is None:
            self.dirty.clear()
        else:
            self.dirty -= set(admins)
        return ('<response status="success" code="19"><result><msg><line>'
                'Commit job enqueued with jobid %d</line></msg><job>%d</job>'
                '</result></response>' % (job["id"], job["id"]))

    # -- control --------------------------------------------------------
    def snapshot(self):
        self.expire()
        now = self.now()
        for job in self.jobs.values():
            self.job_state(job)
        return {
            "registered": {v: {ip: {"tags": {t: (None if e is None else
                                                 round(e - now, 3))
                                             for t, e in r["tags"].items()},
                                    "persistent": r["persistent"]}
                               for ip, r in table.items()}
                           for v, table in self.registered.items()},
            "candidate": self.candidate,
            "running": self.running,
            "jobs": [{"id": j["id"], "type": j["type"], "user": j["user"],
                      "result": self.job_state(j)[1],
                      "status": self.job_state(j)[0],
                      "partial": j.get("partial")}
                     for j in self.jobs.values()],
            "keygens": self.keygens,
            "dirty": sorted(self.dirty),
            "faults": self.faults,
        }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-panos"
    # Headers and body are separate writes: without TCP_NODELAY each
    # answer on a kept-alive connection waits for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_panos: " + fmt % args + "\n")

    def send(self, status, body, ctype="application/xml; charset=UTF-8"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(400, "request larger than 5MB", 413)
        return self.rfile.read(n) if n > 0 else b""

    def params(self):
        """Query and body parameters merged; records where key came from."""
        query = {k: v[-1] for k, v in parse_qs(
            urlsplit(self.path).query, keep_blank_values=True).items()}
        body = self.read_body()
        ctype = self.headers.get("Content-Type", "")
        form = {}
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = {k: v[-1] for k, v in parse_qs(
                body.decode("utf-8", "replace"),
                keep_blank_values=True).items()}
        elif ctype.startswith("multipart/form-data"):
            parser = email.parser.BytesParser(policy=email.policy.HTTP)
            msg = parser.parsebytes(b"Content-Type: " + ctype.encode() +
                                    b"\r\n\r\n" + body)
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name:
                    form[name] = part.get_payload(decode=True).decode(
                        "utf-8", "replace")
        merged = dict(query)
        merged.update(form)
        how = "none"
        if self.headers.get("X-PAN-KEY"):
            how = "header"
        elif "key" in form:
            how = "form"
        elif "key" in query:
            how = "query"
        elif self.headers.get("Authorization", "").startswith("Basic "):
            how = "basic"
        return merged, how, ctype

    def authenticate(self, st, p, how):
        if how == "header":
            return st.keys.get(self.headers.get("X-PAN-KEY"))
        if how in ("form", "query"):
            return st.keys.get(p.get("key"))
        if how == "basic":
            try:
                user, _, pw = base64.b64decode(self.headers["Authorization"][
                    6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return user if st.users.get(user) == pw else None
        return None

    def api(self):
        st = self.server.state
        self.note = {}
        entry = {"method": self.command}
        try:
            with st.lock:
                p, how, ctype = self.params()
                entry.update({"type": p.get("type"), "action": p.get("action"),
                              "xpath": p.get("xpath"), "cmd": p.get("cmd"),
                              "element": p.get("element"),
                              "vsys": p.get("vsys"), "auth": how,
                              "content_type": ctype,
                              "bytes": int(self.headers.get(
                                  "Content-Length") or 0)})
                fault = st.take_fault("status")
                if fault:
                    raise ApiError(0, "<html>%d</html>" % fault.get(
                        "status", 500), fault.get("status", 500))
                body = self.dispatch(st, p, how)
                status = 200
        except ApiError as e:
            status = e.http
            if e.code == 403:
                body = ("<response status = 'error' code = '403'><result>"
                        "<msg>%s</msg></result></response>" % escape(e.msg))
            elif e.code == 0:
                body = e.msg
            else:
                body = ('<response status="error" code="%d"><msg><line>%s'
                        '</line></msg></response>' % (e.code, escape(e.msg)))
        entry.update(self.note)
        entry["status"] = status
        entry["answer"] = body[:2000]
        with st.lock:
            st.log.append(entry)
        self.send(status, body, "text/html" if body.startswith("<html")
                  else "application/xml; charset=UTF-8")

    def dispatch(self, st, p, how):
        kind = p.get("type")
        if kind == "keygen":
            return ('<response status="success"><result><key>%s</key>'
                    '</result></response>'
                    % st.keygen(p.get("user", ""), p.get("password", "")))
        user = self.authenticate(st, p, how)
        if user is None:
            raise ApiError(403, "Invalid Credential", 403)
        self.note["user"] = user
        if kind == "user-id":
            return st.user_id(p)
        if kind == "op":
            return st.op(p, user, self)
        if kind == "config":
            return st.config(p, user)
        if kind == "commit":
            return st.commit(p, user, self)
        raise ApiError(400, "Unknown request type %s" % kind)

    def control(self):
        st = self.server.state
        path = urlsplit(self.path).path[len("/_control/"):]
        try:
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"null") if n else None
            with st.lock:
                out = self.control_call(st, self.command, path, body or {})
        except (ValueError, KeyError, TypeError) as e:
            self.send(400, json.dumps({"error": str(e)}), "application/json")
            return
        if out is None:
            self.send(404, json.dumps({"error": "no such control"}),
                      "application/json")
        else:
            self.send(200, json.dumps(out), "application/json")

    @staticmethod
    def control_call(st, method, path, body):
        if (method, path) == ("GET", "state"):
            return st.snapshot()
        if (method, path) == ("GET", "log"):
            return st.log
        if (method, path) == ("DELETE", "log"):
            st.log.clear()
            return {}
        if (method, path) == ("POST", "fault"):
            st.faults[body["mode"]] = {"count": int(body.get("count", 1)),
                                       "status": int(body.get("status", 500))}
            return {}
        if (method, path) == ("DELETE", "fault"):
            st.faults.clear()
            return {}
        if (method, path) == ("POST", "registered"):
            table = st.registered.setdefault(body.get("vsys", "vsys1"), {})
            for ip, tags in body["entries"].items():
                rec = table.setdefault(ip, {"persistent": False, "tags": {}})
                rec["persistent"] = bool(body.get("persistent", True))
                for t in tags:
                    rec["tags"][t] = None
            return {}
        if (method, path) == ("POST", "category"):
            cat = {"list": list(body.get("members", [])),
                   "type": body.get("type", "URL List"), "description": None}
            for cfg in (st.candidate, st.running):
                cfg.setdefault(body.get("scope", "vsys1"), {})[
                    body["name"]] = copy.deepcopy(cat)
            return {}
        if (method, path) == ("POST", "config"):
            if "commit_seconds" in body:
                st.commit_seconds = float(body["commit_seconds"])
            if "capacity" in body:
                st.capacity = int(body["capacity"])
            return {}
        if (method, path) == ("POST", "clock"):
            st.offset += float(body.get("advance", 0))
            return {"now": st.now()}
        if (method, path) == ("POST", "reboot"):
            for table in st.registered.values():
                for ip in [ip for ip, r in table.items()
                           if not r["persistent"]]:
                    del table[ip]
            return {}
        if (method, path) == ("POST", "user"):
            st.users[body["user"]] = body["password"]
            return {}
        return None

    def route(self):
        path = urlsplit(self.path).path
        try:
            if path.startswith("/_control/"):
                self.control()
            elif path in ("/api", "/api/"):
                self.api()
            else:
                self.send(404, "not found\n", "text/plain")
        except Exception:
            traceback.print_exc()
            self.send(500, "internal error\n", "text/plain")

    do_GET = do_POST = do_DELETE = route


def make_certificate(tmp):
    """A self-signed certificate for 127.0.0.1 and localhost."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--ca-out", help="copy the certificate here")
    ap.add_argument("--plain", action="store_true", help="HTTP, no TLS")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--api-key")
    ap.add_argument("--commit-seconds", type=float, default=1.0)
    ap.add_argument("--capacity", type=int, default=100000)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="fake-panos.")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    server.verbose = args.verbose
    try:
        if not args.plain:
            cert, key = make_certificate(tmp)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            # The handshake happens in the request thread, not in accept.
            server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
            if args.ca_out:
                shutil.copyfile(cert, args.ca_out)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if args.port_file:
            write_atomic(args.port_file, "%d\n" % server.server_address[1])
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
