#!/usr/bin/python3
"""Feeds tests/panos_check.py good and bad EDL bodies; prints TAP lines.

Each case runs the checker on stdin and compares its exit status (and,
for bad bodies, a word of its message) with what the rules demand, so a
checker that lets a bad line through makes this test fail.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blackbox_lib import HERE, Tap  # noqa: E402

CHECKER = os.path.join(HERE, 'panos_check.py')

# (type, body, expected exit status, text expected in the output)
CASES = [
    # Whole-body rules, every type.
    ('ip', b'8.8.8.8\n', 0, ''),
    ('ip', b'# empty feed: no indicators\n', 0, ''),
    ('domain', b'# empty feed\n', 0, ''),
    ('url', b'# empty feed\n', 0, ''),
    ('ip', b'', 1, 'empty body'),
    ('ip', b'8.8.8.8', 1, 'does not end with LF'),
    ('ip', b'8.8.8.8\r\n', 1, 'CR'),
    ('ip', b'\xef\xbb\xbf8.8.8.8\n', 1, 'byte order mark'),
    ('ip', b'1.1.1.1\n\n8.8.8.8\n', 1, 'blank line'),
    ('ip', b'8.8.8.8 \n', 1, 'trailing whitespace'),
    ('ip', b'8.8.8.8\t\n', 1, 'trailing whitespace'),
    ('domain', b'b\xc3\xbccher.example\n', 1, 'non-ASCII'),
    ('ip', b'# empty\n8.8.8.8\n', 1, 'comment line'),
    ('ip', b'8.8.8.8\n# trailing comment\n', 1, 'comment line'),
    ('ip', b'# one\n# two\n', 1, 'comment line'),
    ('domain', b'evil\x07.com\n', 1, 'control character'),
    ('domain', b'evil .com\n', 1, 'space'),
    # ip feeds.
    ('ip', b'1.1.1.1\n8.8.8.8\n2606:4700::1111\n2a00:1450::1\n', 0, ''),
    ('ip', b'9.9.9.9\n10.0.0.1\n', 1, 'not a globally reachable'),
    ('ip', b'127.0.0.1\n', 1, 'not a globally reachable'),
    ('ip', b'169.254.1.1\n', 1, 'not a globally reachable'),
    ('ip', b'192.0.2.1\n', 1, 'not a globally reachable'),
    ('ip', b'100.64.0.1\n', 1, 'not a globally reachable'),
    ('ip', b'0.0.0.0\n', 1, 'not a globally reachable'),
    ('ip', b'240.0.0.1\n', 1, 'not a globally reachable'),
    ('ip', b'224.0.0.1\n', 1, 'multicast'),
    ('ip', b'ff0e::1\n', 1, 'multicast'),
    ('ip', b'::1\n', 1, 'not a globally reachable'),
    ('ip', b'fe80::1\n', 1, 'not a globally reachable'),
    ('ip', b'fd00::1\n', 1, 'not a globally reachable'),
    ('ip', b'2001:db8::1\n', 1, 'not a globally reachable'),
    ('ip', b'3fff::1\n', 1, 'protected'),
    ('ip', b'64:ff9b:1::1\n', 1, 'protected'),
    ('ip', b'::ffff:808:808\n', 1, 'protected'),
    ('ip', b'::a00:1\n', 1, 'IPv4-compatible'),
    ('ip', b'::808:808\n', 0, ''),
    ('ip', b'2001:3::1\n', 0, ''),
    ('ip', b'2001:DB8::1\n', 1, 'not canonical'),
    ('ip', b'2606:4700:0:0:0:0:0:1111\n', 1, 'not canonical'),
    ('ip', b'010.1.1.1\n', 1, 'not an IP'),
    ('ip', b'8.8.8.0/24\n', 1, 'not an IP'),
    ('ip', b'8.8.8.8-8.8.8.9\n', 1, 'not an IP'),
    ('ip', b'evil.com\n', 1, 'not an IP'),
    ('ip', b'8.8.8.8\n1.1.1.1\n', 1, 'out of order'),
    ('ip', b'9.9.9.9\n10.9.9.9\n', 1, 'not a globally'),
    ('ip', b'9.9.9.9\n11.9.9.9\n', 0, ''),
    ('ip', b'2606:4700::1111\n8.8.8.8\n', 1, 'out of order'),
    ('ip', b'8.8.8.8\n8.8.8.8\n', 1, 'duplicate'),
    # domain feeds.
    ('domain', b'*.evil.com\nevil.com\nxn--bcher-kva.example\n', 0, ''),
    ('domain', b'a.b\nwww.chg.com.br\n', 0, ''),
    ('domain', b'evil.com\n*.evil.com\n', 1, 'out of order'),
    ('domain', b'evil.com\nevil.com\n', 1, 'duplicate'),
    ('domain', b'EVIL.com\n', 1, 'bad label'),
    ('domain', b'evil.com.\n', 1, 'trailing dot'),
    ('domain', b'com\n', 1, 'single-label'),
    ('domain', b'*.com\n', 1, 'single-label'),
    ('domain', b'*\n', 1, "'*'"),
    ('domain', b'ev_il.com\n', 1, 'bad label'),
    ('domain', b'-evil.com\n', 1, 'bad label'),
    ('domain', b'evil..com\n', 1, 'bad label'),
    ('domain', b'evil.*.com\n', 1, "'*'"),
    ('domain', b'^evil.com\n', 1, "'^'"),
    ('domain', b'999.1.1.1\n', 1, 'numeric'),
    ('domain', b'xn--zz.com\n', 1, 'A-label'),
    ('domain', b'a' * 64 + b'.com\n', 1, 'bad label'),
    ('domain', (b'a' * 63 + b'.') * 3 + b'd' * 57 + b'.com\n', 0, ''),
    ('domain', b'*.' + (b'a' * 63 + b'.') * 3 + b'd' * 57 + b'.com\n', 1,
     'longer than'),
    ('domain', (b'a' * 63 + b'.') * 3 + b'd' * 58 + b'.com\n', 1,
     'longer than'),
    ('domain', b'https://evil.com\n', 1, 'bad label'),
    ('domain', b'1.2.3.4\n', 1, 'numeric'),
    # url feeds.
    ('url', b'*.evil.com/\n*.evil.com/*\n1.2.3.4/x\nevil.com/\n'
     b'evil.com/*\nevil.com/a%2Fb~?x=A\n', 0, ''),
    ('url', b"evil.com/$(rm%20-rf)?a=1&b=2;c+d\n", 0, ''),
    ('url', b'evil.com\n', 1, "not followed by '/'"),
    ('url', b'evil.com?x=1\n', 1, "not followed by '/'"),
    ('url', b'http://evil.com/\n', 1, 'scheme'),
    ('url', b'evil.com:8080/\n', 1, 'port'),
    ('url', b'user@evil.com/\n', 1, 'user info'),
    ('url', b'evil.com/a#frag\n', 1, 'fragment'),
    ('url', b'EVIL.com/\n', 1, 'bad label'),
    ('url', b'evil.com./\n', 1, 'trailing dot'),
    ('url', b'[2001:db8::1]/\n', 1, 'IPv6 address as host'),
    ('url', b'127.1/\n', 1, 'numeric host'),
    ('url', b'*.1.2.3.4/\n', 1, 'wildcard in front of an address'),
    ('url', b'evil*.com/\n', 1, 'bad label'),
    ('url', b'evil.com/a*b\n', 1, "'*' inside token"),
    ('url', b'evil.com/*/*\n', 1, "consecutive '*'"),
    ('url', b'evil.com/**\n', 1, "'*' inside token"),
    ('url', b'evil.com/^\n', 1, 'not allowed'),
    ('url', b'evil.com/a%2fb\n', 1, 'upper-case hex'),
    ('url', b'evil.com/a%zz\n', 1, 'upper-case hex'),
    ('url', b'evil.com/a%4\n', 1, 'upper-case hex'),
    ('url', b'evil.com/%41\n', 1, 'unreserved'),
    ('url', b'evil.com/<script>\n', 1, 'not allowed'),
    ('url', b'evil.com/a"b\n', 1, 'not allowed'),
    ('url', b'evil.com/' + b'p' * 246 + b'\n', 0, ''),
    ('url', b'evil.com/' + b'p' * 247 + b'\n', 1, 'longer than'),
    ('url', b'evil.com/b\nevil.com/a\n', 1, 'out of order'),
    ('url', b'evil.com/\nevil.com/\n', 1, 'duplicate'),
]


def run(kind, body):
    p = subprocess.run([sys.executable, CHECKER, '--type', kind, '-'],
                       input=body, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode('utf-8', 'replace')


def main():
    t = Tap()
    for kind, body, want_rc, want_text in CASES:
        rc, out = run(kind, body)
        what = '%s %r -> exit %d%s' % (kind, body[:60], want_rc,
                                       ' (%s)' % want_text if want_text
                                       else '')
        t.ok(rc == want_rc and (want_text == '' or want_text in out), what,
             'got exit %d: %s' % (rc, out.strip()[:300]))
    # Files and the FILE:LINE form.
    rc, out = run('ip', b'8.8.8.8\n10.0.0.1\n')
    t.ok(rc == 1 and out.startswith('<stdin>:2: '),
         'messages are FILE:LINE: reason', 'got %r' % out)
    t.done()


if __name__ == '__main__':
    main()
