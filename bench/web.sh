#!/usr/bin/env bash
# The web page under load (issue 19): a registry of 10,000 sites with
# 5,000 findings open (`siteward bench --report-data DIR --sites 10000
# --open-findings 5000`), the daemon serving it with its jobs scheduled
# far away, a person logged in through the login form, and `wrk`
# (Debian's package) at 20 concurrent connections on each page in turn.
# Prints each page's size in bytes and wrk's latency distribution
# (p50…p99) and requests/s.
#
#   cargo build --release && bash bench/web.sh
#
# SITES (10000), OPEN (5000), CONNECTIONS (20), DURATION (15s), PORT
# (18752) and DATA (a directory prepared before) may be set in the
# environment. Everything runs on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/siteward}
SITES=${SITES:-10000}
OPEN=${OPEN:-5000}
CONNECTIONS=${CONNECTIONS:-20}
DURATION=${DURATION:-15s}
PORT=${PORT:-18752}

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -q wrk >/dev/null
    else
        echo "wrk is missing: sudo apt-get install wrk" >&2
        exit 2
    fi
fi

DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
PID=0

if [ -n "${DATA:-}" ]; then
    cp "$DATA/registry.db" "$DIR/registry.db"
else
    echo "== preparing $SITES sites and $OPEN open findings"
    "$BIN" bench --report-data "$DIR/data" --sites "$SITES" --open-findings "$OPEN" --json > "$DIR/prepared.json"
    cp "$DIR/data/registry.db" "$DIR/registry.db"
fi
DB="sqlite://$DIR/registry.db"

# The repository's policies with every job scheduled once a year.
cp -r policies "$DIR/policies"
python3 - "$DIR/policies/siteward.toml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
head, rest = text.split("[schedules]", 1)
body, tail = rest.split("\n[", 1)
body = re.sub(r'^(\w+) = ".*"$', r'\1 = "0 0 1 1 *"', body, flags=re.M)
open(path, "w", encoding="utf-8").write(head + "[schedules]" + body + "\n[" + tail)
PY
cat > "$DIR/siteward.toml" <<TOML
[database]
url = "$DB"

[policies]
dir = "$DIR/policies"

[api]
listen = "127.0.0.1:$PORT"

[web]
# wrk logs in once and keeps the cookie for the whole run.
session_idle_secs = 3600
TOML

PASSWORD="bench password 2026"
printf '%s\n%s\n' "$PASSWORD" "$PASSWORD" | "$BIN" --config "$DIR/siteward.toml" --actor bench user add bench --role admin >/dev/null
"$BIN" --config "$DIR/siteward.toml" serve --log-format json 2> "$DIR/serve.log" &
PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    curl -sf "$BASE/healthz" >/dev/null && break
    sleep 0.2
done
curl -sf "$BASE/healthz" >/dev/null || { cat "$DIR/serve.log"; exit 1; }

# Log in as a browser does: the form's token and cookie, then the form.
JAR="$DIR/cookies"
TOKEN=$(curl -s -c "$JAR" "$BASE/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -b "$JAR" -c "$JAR" -o /dev/null --data-urlencode "csrf=$TOKEN" --data-urlencode "user=bench" \
    --data-urlencode "password=$PASSWORD" "$BASE/login"
SESSION=$(awk '$6 == "siteward_session" { print $7 }' "$JAR")
[ -n "$SESSION" ] || { echo "login failed" >&2; cat "$DIR/serve.log"; exit 1; }
COOKIE="Cookie: siteward_session=$SESSION"

# One finding and one site to show.
FINDING=$(curl -s -H "$COOKIE" "$BASE/findings" | grep -o 'href="/findings/[0-9]*"' | head -1 | grep -o '[0-9]*')
SITE=$(curl -s -H "$COOKIE" "$BASE/sites" | grep -o 'href="/sites/[0-9]*"' | head -1 | grep -o '[0-9]*')
echo "== $SITES sites, $OPEN more open findings; a finding: $FINDING, a site: $SITE"

for page in / /findings "/findings/$FINDING" /sites "/sites/$SITE" /orgs /accounts /discovered /alerts /reports /import /audit; do
    bytes=$(curl -s -o /dev/null -w '%{size_download} %{http_code}' -H "$COOKIE" "$BASE$page")
    echo
    echo "== GET $page: $bytes (bytes, status); $CONNECTIONS connections, $DURATION"
    wrk -t2 -c"$CONNECTIONS" -d2s -H "$COOKIE" "$BASE$page" >/dev/null
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$COOKIE" "$BASE$page" | grep -E "50%|90%|99%|Requests/sec|Non-2xx"
done
echo
echo "== after the load: $(grep VmRSS /proc/$PID/status)"
