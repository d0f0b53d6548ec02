#!/usr/bin/env bash
# The HTTP API under load (issue 18): a registry of 10,000 sites (the
# circular benchmark's data: findings on one site in twelve, two quarters
# of history), the daemon serving it with its jobs scheduled far away, and
# `wrk` (Debian's package) at 50 concurrent connections on two routes.
# Prints wrk's latency distribution (p50…p99) and requests/s per route,
# and the idle daemon's RSS with the API up.
#
#   cargo build --release && bash bench/api.sh
#
# SITES (10000), CONNECTIONS (50), DURATION (20s) and PORT (18751) may be
# set in the environment. Everything runs on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/siteward}
SITES=${SITES:-10000}
CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-20s}
PORT=${PORT:-18751}

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

# DATA=DIR reuses a registry prepared before (by this script, or by
# `siteward bench --report-data DIR --sites N`), copied so it stays as it was.
if [ -n "${DATA:-}" ]; then
    cp "$DATA/registry.db" "$DIR/registry.db"
    DB="sqlite://$DIR/registry.db"
else
    echo "== preparing $SITES sites in $DIR"
    "$BIN" bench --report-data "$DIR/data" --sites "$SITES" --json > "$DIR/prepared.json"
    DB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["database"])' "$DIR/prepared.json")
fi

# The repository's policies with every job scheduled once a year, so that
# nothing but the API works during the measurement.
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
TOML

TOKEN=$("$BIN" --config "$DIR/siteward.toml" --actor bench token create --name bench --role admin | tail -1)
"$BIN" --config "$DIR/siteward.toml" serve --log-format json 2> "$DIR/serve.log" &
PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$DIR/serve.log"; exit 1; }

open=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/findings?status=open&limit=1000" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]), "(first page)" if d["next_cursor"] else "")')
echo "== $SITES sites; open findings: $open"
sleep 2
echo "== idle daemon with the API up: $(grep VmRSS /proc/$PID/status)"

for route in "/api/v1/sites?limit=100" "/api/v1/findings?status=open"; do
    echo
    echo "== GET $route, $CONNECTIONS connections, $DURATION"
    # Warm the caches, then measure.
    wrk -t2 -c"$CONNECTIONS" -d3s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$route" >/dev/null
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$route"
done
echo
echo "== after the load: $(grep VmRSS /proc/$PID/status)"
