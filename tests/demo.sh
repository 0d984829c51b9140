#!/bin/sh
# `make run`: the daemon against the bundled stand-in Lumu API, with a
# generated data set, serving real feeds on 127.0.0.1:8080.  The stand-in
# listens on 127.0.0.1:8700, as the repository's feeds.conf says.
# Stop with Ctrl-C.

BIN=${1:-build/lumu-edl}
cd "$(dirname "$0")/.." || exit 1
PORT=8700
KEY=$(cat tests/demo/company-key)
mkdir -p demo-state

/usr/bin/python3 tests/lumu_standin.py --port $PORT --key "$KEY" \
    --demo 2000 --seed 7 --events-every 5 >demo-state/standin.log 2>&1 &
standin=$!
trap 'kill $standin 2>/dev/null; wait $standin 2>/dev/null' EXIT INT TERM
for i in $(seq 50); do
	grep -q listening demo-state/standin.log 2>/dev/null && break
	sleep 0.1
done
if ! kill -0 $standin 2>/dev/null; then
	echo "the stand-in Lumu API did not start:" >&2
	cat demo-state/standin.log >&2
	exit 1
fi

cat <<MSG
lumu-edl demo: stand-in Lumu API on http://127.0.0.1:$PORT (2000 incidents)
Open, once the first sync is logged:
  http://127.0.0.1:8080/               status page
  http://127.0.0.1:8080/feeds/ip       IP feed
  http://127.0.0.1:8080/feeds/domains  domain feed
  http://127.0.0.1:8080/feeds/urls     URL feed
  http://127.0.0.1:8080/feeds/ip/dropped  what was withheld, and why
  http://127.0.0.1:8080/status         JSON state
Press Ctrl-C to stop.
MSG
"$BIN" -c feeds.conf
