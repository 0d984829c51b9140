#!/usr/bin/python3
"""Deterministic demo data for the stand-in Lumu Defender API.

generate(n, seed, now) returns (incidents, contexts): n incident summaries
shaped as the API returns them (section 4.1 of lumu-defender-api.md) and a
context object (section 5) per incident.  The same seed and n give the same
adversaries, statuses, ids and relative ages; absolute times follow `now`.
backlog() and tick() feed a running stand-in's updates stream.

The data is meant to look like a real company's: many incidents per
adversary in mixed statuses, Lumu's own test adversary, public and
non-public addresses, a few IPv6 and URL-valued adversaries, odd spellings
and a handful of hostile values that a client must withhold.
"""

import hashlib
import ipaddress
import itertools
import random
import uuid
from datetime import datetime, timedelta, timezone

COMPANY_ID = "5f0c9a1e-3b7d-4c2a-9e61-0d8b2f4a7c13"

ADVERSARY_TYPES = ("C2C", "Malware", "DGA", "Mining", "Spam", "Phishing",
    "Anonymizer", "Network Scan", "Inappropriate content")
TYPE_WEIGHTS = (12, 30, 6, 12, 10, 14, 5, 4, 2)

DESCRIPTIONS = {
    "C2C": ("QakBot", "Cobalt Strike beacon", "Emotet C&C server"),
    "Malware": ("Malware family Win32.Remoteadmin.C.Winvnc.Based",
        "Malware family Trojan.Agent.Gen", "AgentTesla"),
    "DGA": ("DGA domain",),
    "Mining": ("CryptoMining domain",),
    "Spam": ("Disposable email host", "Spam campaign host"),
    "Phishing": ("Phishing domain",),
    "Anonymizer": ("Tor exit node", "Anonymizer proxy"),
    "Network Scan": ("Network Scan",),
    "Inappropriate content": ("Inappropriate content",),
}

MITRE = {
    "C2C": ("command-and-control", "T1071"),
    "Malware": ("execution", "T1204"),
    "DGA": ("command-and-control", "T1568"),
    "Mining": ("impact", "T1496"),
    "Phishing": ("initial-access", "T1566"),
    "Anonymizer": ("command-and-control", "T1090"),
    "Network Scan": ("discovery", "T1046"),
}

# The labels page of the stand-in; label 0 ("Unlabeled activity") appears
# in labelDistribution but is never listed, as in the real API.
LABELS = (
    {"id": 51, "name": "Main Office", "relevance": 1},
    {"id": 147, "name": "Branch Bogota", "relevance": 1},
    {"id": 989, "name": "Guest WiFi", "relevance": 1},
    {"id": 1580, "name": "Data Center", "relevance": 3},
    {"id": 1885, "name": "DNS Resolvers", "relevance": 3},
    {"id": 2148, "name": "AWS VPC Prod", "relevance": 2},
    {"id": 4301, "name": "Remote Workers", "relevance": 2},
)
LABEL_IDS = (0, 0, 0) + tuple(label["id"] for label in LABELS)

WORDS = ("secure", "update", "cdn", "mail", "login", "track", "cloud", "pay",
    "verify", "static", "api", "portal", "sync", "data", "stat", "ads",
    "micro", "soft", "bank", "office", "drive", "share", "invoice", "docs")
TLDS = ("com", "com", "com", "net", "net", "org", "ru", "xyz", "top", "info",
    "biz", "io", "co.uk", "com.br", "cn", "su", "online", "site")
SUBDOMAINS = ("", "", "", "www.", "cdn.", "api.", "mail.", "update.")

# Values every larger data set carries, most important first: Lumu's test
# adversary, odd spellings, addresses a client must not publish, and
# hostile values a client must withhold or escape.
SPECIALS = (
    ("activity.lumu.io", "Spam", "Activity Test Query"),
    ("192.168.1.50", "Malware", None),
    ("2a03:2880:f12f:83:face:b00c:0:25de", "C2C", None),
    ("http://files.badcdn.xyz/dl/payload.exe?id=42", "Malware", None),
    ("Secure-Update.COM", "Phishing", None),
    ("tracker-stat.net.", "Malware", None),
    ("evil\nexample.com", "Malware", None),
    ("127.0.0.1", "C2C", None),
    ("2606:4700:0:0:0:0:6810:85E5", "Anonymizer", None),
    ("bad host.example.net", "Spam", None),
    ("0.0.0.0/0", "Network Scan", None),
    ("https://login-verify.top/account/update?session=1", "Phishing", None),
    ("10.20.30.40", "Mining", None),
    ("*.com", "Malware", None),
    ("co.uk", "Phishing", None),
    (".".join(["x" * 60] * 4) + ".example.com", "DGA", None),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "C2C", None),
    ("45.67.89.10/32", "C2C", None),
    ("169.254.169.254", "Malware", None),
    ("EVIL-update.net", "Malware", None),
    ("evil-update.net.", "Malware", None),
    ("bücher-malware.de", "Malware", None),
)


def _uuid1_like(rng):
    """A version-1-layout UUID drawn from rng, as Lumu's ids look."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=1))


def _stamp(when, frac):
    """ISO-8601 UTC with or without milliseconds, both of which occur."""
    if frac:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + \
            "%03dZ" % (when.microsecond // 1000)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# First octets of /8 networks that hold no special-purpose range, so any
# address in them is globally reachable (test_standin.py samples them).
PUBLIC_OCTETS = (5, 23, 31, 37, 45, 46, 62, 77, 78, 80, 81, 82, 83, 84, 85,
    86, 87, 88, 89, 91, 93, 94, 95, 103, 104, 109, 139, 141, 146, 151, 176,
    178, 185, 188, 193, 194, 195, 212, 213, 217)


def _public_ipv4(rng):
    """A random globally reachable unicast IPv4 address."""
    return "%d.%d.%d.%d" % (rng.choice(PUBLIC_OCTETS), rng.randrange(256),
        rng.randrange(256), rng.randrange(1, 255))


def _domain(rng, kind):
    """A plausible malicious name; DGA names are random letters."""
    if kind == "DGA":
        letters = "abcdefghijklmnopqrstuvwxyz"
        size = rng.randint(10, 18)
        label = "".join(rng.choice(letters) for _ in range(size))
        return label + "." + rng.choice(("com", "net", "info", "ru"))
    words = rng.sample(WORDS, rng.randint(1, 3))
    sep = rng.choice(("", "-"))
    return rng.choice(SUBDOMAINS) + sep.join(words) + \
        str(rng.randint(1, 99) if rng.random() < 0.2 else "") + \
        "." + rng.choice(TLDS)


def _adversary_pool(rng, n):
    """Adversaries as (value, types, description or None)."""
    size = max(1, n // 3)
    specials = SPECIALS[:min(len(SPECIALS), n // 5)]
    pool = [(value, [kind], text) for value, kind, text in specials]
    while len(pool) < size:
        kind = rng.choices(ADVERSARY_TYPES, TYPE_WEIGHTS)[0]
        types = [kind]
        if kind == "Malware" and rng.random() < 0.1:
            types.append("Mining")
        value = _public_ipv4(rng) if rng.random() < 0.2 else \
            _domain(rng, kind)
        pool.append((value, types, None))
    return pool


def _label_distribution(rng, contacts):
    """Contacts spread over one to three labels, keyed by label id text."""
    labels = sorted(set(rng.sample(LABEL_IDS, rng.randint(1, 3))))
    dist, left = {}, contacts
    for i, label in enumerate(labels):
        count = left if i == len(labels) - 1 else rng.randint(0, left)
        if count:
            dist[str(label)] = count
        left -= count
    return dist or {str(labels[0]): contacts}


def _incident(rng, now, adversary):
    """One incident summary for an adversary, times relative to now."""
    value, types, description = adversary
    created = now - timedelta(seconds=rng.uniform(60, 44 * 86400))
    # lastContact lies between creation and now, never older than ~40
    # days, so some incidents age out of a 30-day lookback and some not.
    floor = max(created, now - timedelta(days=40))
    last = floor + (now - floor) * rng.random() ** 2
    first = created - timedelta(seconds=rng.choice((0, 0, 30, 600, 86400)) *
        rng.random())
    status = rng.choices(("open", "closed", "muted"), (55, 30, 15))[0]
    if value == "activity.lumu.io":
        status = rng.choices(("open", "closed", "muted"), (10, 85, 5))[0]
    changed = created
    if status != "open" or rng.random() < 0.1:
        changed = created + (now - created) * rng.random()
    contacts = min(5000, int(rng.paretovariate(0.9)))
    frac = rng.random() < 0.8
    return {
        "id": _uuid1_like(rng),
        "timestamp": _stamp(created, frac),
        "statusTimestamp": _stamp(changed, True),
        "status": status,
        "contacts": contacts,
        "adversaries": [value],
        "adversaryId": value,
        "adversaryTypes": list(types),
        "description": description or
            rng.choice(DESCRIPTIONS.get(types[0], ("Malicious host",))),
        "labelDistribution": _label_distribution(rng, contacts),
        "totalEndpoints": rng.randint(1, max(1, min(contacts, 40))),
        "lastContact": _stamp(last, rng.random() < 0.85),
        "unread": rng.random() < 0.3,
        "hasPlaybackContacts": rng.random() < 0.05,
        "firstContact": _stamp(first, rng.random() < 0.4),
    }


def _triggers(rng, value):
    """threat_triggers in the forms Lumu uses: URLs, host:port, tcp://,
    udp://, bare addresses and names, trailing dots."""
    port = rng.choice((80, 443, 4444, 8080, 8443, 53))
    path = rng.choice(("gate.php", "TS.php", "dl/a.bin", "wp-admin/x.js",
        "index.html"))
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        addr = None
    if addr is not None and addr.version == 6:
        forms = [value, "tcp://[%s]:%d" % (value, port),
            "http://[%s]/%s" % (value, path)]
    elif addr is not None:
        forms = [value, "tcp://%s:%d" % (value, port), "%s:%d" % (value, port),
            "http://%s/%s" % (value, path), "udp://%s:53" % value]
    elif "://" in value or any(c in value for c in " \n*/"):
        return [value]
    else:
        forms = ["https://%s/%s" % (value, path),
            "http://%s:%d/%s?id=%d" % (value, port, path, rng.randint(1, 999)),
            "%s:%d" % (value, port), "tcp://%s:%d" % (value, port),
            "udp://%s:53" % value, value.rstrip(".") + ".", value,
            _public_ipv4(rng), "tcp://%s:%d" % (_public_ipv4(rng), port)]
    return rng.sample(forms, rng.randint(1, min(4, len(forms))))


def _context(rng, now, incident):
    """The context object of one incident (section 5)."""
    kind = incident["adversaryTypes"][0]
    value = incident["adversaryId"]
    files = [rng.randbytes(16) for _ in range(rng.choice((0, 0, 1, 2)))]
    ctx = {
        "adversary_id": value,
        "currently_active": True,
        "deactivated_on": None,
        "mitre": {"details": [], "matrix": "enterprise", "version": "8.2"},
        "playbooks": ["https://docs.lumu.io/portal/en/kb/articles/"
            "%s-incident-response-playbook" % kind.lower().replace(" ", "-")],
        "threat_details": [incident["description"]],
        "threat_triggers": [] if rng.random() < 0.05 else
            _triggers(rng, value),
        # Digests per hash name; the server answers the one asked for.
        "related_files": {name: [hashlib.new(name, f).hexdigest()
            for f in files] for name in ("sha256", "sha1", "md5")},
        "external_resources": ["https://urlhaus.abuse.ch/host/%s/" % value]
            if kind in ("Malware", "C2C") else [],
    }
    if kind in MITRE:
        tactic, technique = MITRE[kind]
        ctx["mitre"]["details"] = [{"tactic": tactic,
            "techniques": [technique]}]
    roll = rng.random()
    if roll < 0.1:
        ctx["currently_active"] = False
        ctx["deactivated_on"] = _stamp(now - timedelta(days=rng.uniform(0, 9)),
            True)
    elif roll < 0.18:
        del ctx["currently_active"]
    if rng.random() < 0.6:
        ctx["rank"] = rng.randint(850000, 1000000)
    return ctx


def generate(n, seed, now):
    """n incidents and their contexts, the same for the same seed and n."""
    rng = random.Random("lumu-demo-%d" % seed)
    pool = _adversary_pool(rng, n)
    weights = [rng.paretovariate(1.3) for _ in pool]
    weights[0] *= 4 if pool[0][0] == "activity.lumu.io" else 1
    cumulative = list(itertools.accumulate(weights))
    incidents, contexts = [], {}
    for i in range(n):
        adversary = pool[i] if i < len(pool) else \
            rng.choices(pool, cum_weights=cumulative)[0]
        incident = _incident(rng, now, adversary)
        incidents.append(incident)
        contexts[incident["id"]] = _context(rng, now, incident)
    return incidents, contexts


# What follows drives a running stand-in (lumu_standin.Store) through its
# public methods: pick, emit, change, upsert and act.

BACKLOG_PLAN = (("NewIncidentCreated", "open"), ("IncidentUpdated", "open"),
    ("IncidentMuted", "muted"), ("IncidentUpdated", "muted"),
    ("IncidentClosed", "closed"), ("IncidentUnmuted", "open"),
    ("IncidentMarkedAsRead", None), ("IncidentCommentAdded", None),
    ("IncidentIntegrationsResponseUpdated", None),
    ("OpenIncidentsStatusUpdated", None), ("IncidentAssigned", None))


def backlog(store, count):
    """Queue a history of events covering every type the stream carries
    (and one unknown type), so a reader from the stream's first offset sees
    them; the incidents themselves are not changed."""
    for i in range(count):
        kind, status = BACKLOG_PLAN[i % len(BACKLOG_PLAN)]
        incident = store.pick(store.rng, status)
        if incident is None:
            return
        comment = "checked by SOC" if kind in ("IncidentCommentAdded",
            "IncidentMuted", "IncidentClosed", "IncidentUnmuted") else None
        store.emit(kind, incident, comment)


def tick(store, rng):
    """One random live change, as a busy company's stream shows them."""
    incident = store.pick(rng)
    if incident is None:
        return
    roll, now = rng.random(), _stamp(datetime.now(timezone.utc), True)
    if roll < 0.5:
        contacts = incident.get("contacts")
        store.change(incident["id"], {"lastContact": now, "contacts":
            (contacts if isinstance(contacts, int) else 0) +
            rng.randint(1, 20)})
    elif roll < 0.65:
        store.upsert([{"adversaries": incident.get("adversaries"),
            "adversaryTypes": incident.get("adversaryTypes"),
            "description": incident.get("description"), "timestamp": now,
            "lastContact": now}], {})
    elif roll < 0.8:
        action = rng.choice(("mute", "unmute", "close"))
        store.act(incident["id"], action, "demo " + action, 0)
    elif roll < 0.9:
        store.act(incident["id"], rng.choice(("mark-as-read", "comment")),
            "reviewed", 0)
    else:
        store.emit(rng.choice(("OpenIncidentsStatusUpdated",
            "IncidentAssigned")), incident)
