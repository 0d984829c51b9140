#!/usr/bin/python3
"""Checks External Dynamic List bodies against the PAN-OS line rules.

Usage: panos_check.py --type ip|domain|url FILE...   ("-" reads stdin)

Written from the line rules of PAN-OS (reference/panos.md section 1) and
the feed body rules of CONTRACT.md sections 4 and 5, independently of the
C canonicaliser: a second reading of the same rules.  Prints
"FILE:LINE: reason" for each problem; exits 0 when every file passes,
1 otherwise.
"""

import argparse
import codecs
import ipaddress
import re
import sys

NAME_MAX = 253
URL_MAX = 255
LABEL = re.compile(r'^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$')
SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')
SEPARATORS = re.compile(r'[./?&=;+]')
# RFC 3986 characters of a path and query, with '%' checked apart.
URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$")
UNRESERVED = set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
                 '0123456789-._~')

# Not globally reachable per the IANA special-purpose registries but
# unknown to older Python ipaddress tables; the contract withholds them.
EXTRA_PROTECTED = [ipaddress.ip_network(n) for n in (
    '64:ff9b:1::/48', '3fff::/20', '5f00::/16', '::ffff:0:0/96')]
# Registry entries marked globally reachable inside 2001::/23, which
# older Python tables count as private.
REGISTRY_GLOBAL = [ipaddress.ip_network(n) for n in (
    '2001:1::1/128', '2001:1::2/128', '2001:1::3/128', '2001:3::/32',
    '2001:4:112::/48', '2001:20::/28', '2001:30::/28')]
IPV4_COMPAT = ipaddress.ip_network('::/96')


def ip_problem(line):
    """Why an ip feed line is not acceptable, or None."""
    try:
        ip = ipaddress.ip_address(line)
    except ValueError:
        return 'not an IP address'
    if str(ip) != line:
        return 'not canonical (want %s)' % ip
    if ip.is_multicast:
        return 'multicast address'
    if any(ip in n for n in EXTRA_PROTECTED if n.version == ip.version):
        return 'protected address'
    if ip.version == 6 and ip in IPV4_COMPAT and int(ip) > 1:
        inner = ipaddress.IPv4Address(int(ip) & 0xffffffff)
        if not inner.is_global or inner.is_multicast:
            return 'IPv4-compatible form of a protected address'
    if not ip.is_global and not any(
            ip in n for n in REGISTRY_GLOBAL if n.version == ip.version):
        return 'not a globally reachable address'
    return None


def ip_sort_key(line):
    ip = ipaddress.ip_address(line)
    return (ip.version, int(ip))


def name_problem(name):
    """Why a DNS name (no wildcard) is not a canonical domain, or None."""
    if len(name) > NAME_MAX:
        return 'name longer than %d' % NAME_MAX
    if name.endswith('.'):
        return 'trailing dot'
    labels = name.split('.')
    if len(labels) < 2:
        return 'single-label name'
    for label in labels:
        if not LABEL.match(label):
            return 'bad label %r' % label
        if label.startswith('xn--'):
            try:
                decoded = codecs.decode(label[4:].encode('ascii'),
                                        'punycode')
            except (UnicodeError, ValueError):
                return 'bad A-label %r' % label
            if decoded.isascii() or \
                    'xn--' + decoded.encode('punycode').decode() != label:
                return 'non-canonical A-label %r' % label
    if labels[-1].isdigit():
        return 'numeric top-level label'
    return None


def domain_problem(line):
    """Why a domain feed line is not acceptable, or None."""
    if len(line) > NAME_MAX:
        return 'line longer than %d' % NAME_MAX
    if '^' in line:
        return "'^' in a domain entry"
    name = line[2:] if line.startswith('*.') else line
    if '*' in name:
        return "'*' other than a leading '*.'"
    return name_problem(name)


def url_host_problem(host):
    if host.startswith('*.'):
        rest = host[2:]
        if is_ipv4(rest):
            return 'wildcard in front of an address'
        return name_problem(rest)
    if is_ipv4(host):
        if str(ipaddress.IPv4Address(host)) != host:
            return 'non-canonical IPv4 host'
        return None
    if host.replace('.', '').isdigit():
        return 'numeric host that is not a dotted quad'
    return name_problem(host)


def is_ipv4(text):
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def wildcard_problem(line):
    """'*' only as a whole token, never twice in a row; no '^'."""
    if '^' in line:
        return "'^' in a URL entry"
    tokens = [t for t in SEPARATORS.split(line) if t != '']
    for tok in tokens:
        if '*' in tok and tok != '*':
            return "'*' inside token %r" % tok
    for a, b in zip(tokens, tokens[1:]):
        if a == '*' and b == '*':
            return "consecutive '*' tokens"
    return None


def percent_problem(text):
    i = 0
    while True:
        i = text.find('%', i)
        if i < 0:
            return None
        esc = text[i + 1:i + 3]
        if len(esc) != 2 or any(c not in '0123456789ABCDEF' for c in esc):
            return 'percent-escape not two upper-case hex digits'
        if chr(int(esc, 16)) in UNRESERVED:
            return 'percent-encoded unreserved character %%%s' % esc
        i += 3


def url_problem(line):
    """Why a url feed line is not acceptable, or None."""
    if len(line) > URL_MAX:
        return 'line longer than %d' % URL_MAX
    if SCHEME.match(line):
        return 'scheme present'
    if '#' in line:
        return 'fragment present'
    cut = min([i for i in (line.find('/'), line.find('?')) if i >= 0],
              default=-1)
    if cut < 0 or line[cut] != '/':
        return "host not followed by '/'"
    host, rest = line[:cut], line[cut:]
    if '@' in host:
        return 'user info present'
    if host.startswith('['):
        return 'IPv6 address as host'
    if ':' in host:
        return 'port present'
    problem = url_host_problem(host)
    if problem:
        return 'host: ' + problem
    if not URL_CHARS.match(rest):
        return 'character not allowed in a URL path or query'
    return wildcard_problem(line) or percent_problem(rest)


CHECKS = {
    'ip': (ip_problem, ip_sort_key),
    'domain': (domain_problem, lambda line: line.encode()),
    'url': (url_problem, lambda line: line.encode()),
}


def check_body(name, data, kind):
    """Returns the "FILE:LINE: reason" messages for one body, by line."""
    errors = []

    def err(lineno, why):
        errors.append((lineno, '%s:%d: %s' % (name, lineno, why)))

    if not data:
        return ['%s:1: empty body' % name]
    if data.startswith(b'\xef\xbb\xbf'):
        err(1, 'byte order mark')
    if not data.endswith(b'\n'):
        err(data.count(b'\n') + 1, 'last line does not end with LF')
    lines = data.split(b'\n')
    if lines[-1] == b'':
        lines.pop()
    problem, sort_key = CHECKS[kind]
    comments = [i for i, raw in enumerate(lines) if raw.startswith(b'#')]
    if comments and len(lines) != 1:
        err(comments[0] + 1, 'comment line in a feed with entries '
            '(only an empty feed is one comment line)')
    good = []
    for i, raw in enumerate(lines, 1):
        if b'\r' in raw:
            err(i, 'CR in line')
            continue
        if raw == b'':
            err(i, 'blank line')
            continue
        if raw != raw.rstrip(b' \t'):
            err(i, 'trailing whitespace')
            continue
        if any(b >= 0x80 for b in raw):
            err(i, 'non-ASCII byte')
            continue
        line = raw.decode('ascii')
        if any(ord(c) < 0x20 or ord(c) == 0x7f for c in line):
            err(i, 'control character in line')
            continue
        if line.startswith('#'):
            continue
        if ' ' in line:
            err(i, 'space in an entry')
            continue
        why = problem(line)
        if why:
            err(i, why)
            continue
        good.append((i, line))
    keys = [(i, sort_key(line), line) for i, line in good]
    for (_, ka, la), (ib, kb, lb) in zip(keys, keys[1:]):
        if ka == kb:
            err(ib, 'duplicate entry %s' % lb)
        elif ka > kb:
            err(ib, 'out of order: %s after %s' % (lb, la))
    return [msg for _, msg in sorted(errors, key=lambda e: e[0])]


def main(argv=None):
    ap = argparse.ArgumentParser(description='Check PAN-OS EDL bodies.')
    ap.add_argument('--type', required=True, choices=sorted(CHECKS))
    ap.add_argument('files', nargs='+', metavar='FILE')
    args = ap.parse_args(argv)
    failed = False
    for path in args.files:
        try:
            if path == '-':
                data, name = sys.stdin.buffer.read(), '<stdin>'
            else:
                with open(path, 'rb') as f:
                    data, name = f.read(), path
        except OSError as e:
            print('%s:0: %s' % (path, e.strerror))
            failed = True
            continue
        for msg in check_body(name, data, args.type):
            print(msg)
            failed = True
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
