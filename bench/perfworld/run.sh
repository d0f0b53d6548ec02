#!/usr/bin/env bash
# One full check cycle of siteward against real servers on loopback (NSD,
# Unbound, nginx; see perfworld.py and README.md beside this file).
#
#   bench/perfworld/run.sh [--json] [N] [SITEWARD]
#
# N host names (default 20000); SITEWARD is the binary to measure (default:
# target/release/siteward of this repository; a relative path is taken from
# the current directory). Run as root. It installs nothing.
#
# Environment:
#   POLICIES=DIR    the policy directory to copy (default: the repository's
#                   policies/); it must match the binary's policy keys
#   KEEP=1          keep the temporary directory (logs, databases) at the end
#   PERF_NETNS=0    run in this machine's network namespace instead of a
#                   private one (then nothing else may listen on 127.0.0.53:53,
#                   127.0.0.54:53, 127.0.0.60 and [::1] ports 80 and 443)
#
# What it does: brings the world up in a fresh temporary directory, measures
# TLS handshakes/s with `openssl s_time` (4 clients at once), times
# `siteward check --once --no-confirm`, then one scheduled cycle of
# `siteward serve`, counting the TLS handshakes nginx logged during each,
# measures s_time again, prints the results and brings the world down.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

JSON=0
ARGS=()
for arg in "$@"; do
    case "$arg" in
        --json) JSON=1 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) ARGS+=("$arg") ;;
    esac
done
N=${ARGS[0]:-20000}
BIN=${ARGS[1]:-$REPO/target/release/siteward}
POLICIES=${POLICIES:-$REPO/policies}
STIME_CLIENTS=4
STIME_SECS=10
CYCLE_TIMEOUT_SECS=1800   # the longest we wait for the daemon's first cycle

say() { echo "perfworld: $*" >&2; }
die() { echo "perfworld: error: $*" >&2; exit 1; }

[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive whole number, not '$N'"

# --- What must be there (this script installs nothing) ---------------------
[[ $EUID -eq 0 ]] || die "run as root: the world binds ports 53, 80 and 443"
missing=()
for tool in nsd unbound nginx openssl python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
[[ -x /usr/bin/time ]] || missing+=(time)
if [[ "${PERF_NETNS:-1}" == 1 ]]; then
    command -v unshare >/dev/null || missing+=(util-linux)
    command -v ip >/dev/null || missing+=(iproute2)
fi
if command -v python3 >/dev/null && ! python3 -c 'import cryptography' 2>/dev/null; then
    missing+=(python3-cryptography)
fi
if ((${#missing[@]})); then
    hint=
    [[ " ${missing[*]} " == *" python3-cryptography "* ]] && hint=" (or: pip install cryptography)"
    die "missing: ${missing[*]}. Install with: apt-get install -y ${missing[*]}$hint"
fi
[[ -x "$BIN" ]] || die "no siteward binary at $BIN (cargo build --release, or give its path)"
BIN=$(realpath "$BIN")
[[ -f "$POLICIES/siteward.toml" ]] || die "no policy directory at $POLICIES"
POLICIES=$(realpath "$POLICIES")
"$BIN" policy check "$POLICIES" >/dev/null ||
    die "$BIN does not accept the policies in $POLICIES: rebuild it, or set POLICIES to a matching directory"

# --- A private network namespace -------------------------------------------
# The world listens on fixed loopback addresses; in a namespace of its own it
# cannot collide with another world or resolver on this machine, and none of
# its traffic leaves it. The script runs itself again inside one.
if [[ "${PERF_NETNS:-1}" == 1 && -z "${PERF_IN_NETNS:-}" ]]; then
    unshare --net true 2>/dev/null ||
        die "cannot make a network namespace here (unshare --net); PERF_NETNS=0 runs without one"
    exec env PERF_IN_NETNS=1 unshare --net -- bash "$0" "$@"
fi
if [[ -n "${PERF_IN_NETNS:-}" ]]; then
    ip link set lo up
fi

# --- The world, and its removal whatever happens ---------------------------
W=$(mktemp -d /tmp/perfworld.XXXXXX)
DAEMON_PID=
OK=0
cleanup() {
    if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    python3 "$HERE/perfworld.py" down "$W" || true
    if [[ "$OK" == 1 && "${KEEP:-0}" != 1 ]]; then
        rm -rf "$W"
    else
        say "kept $W (logs in $W/logs, siteward's output in $W/*.out, *.err, *.log)"
    fi
}
trap cleanup EXIT

say "bringing up a world of $N host names in $W"
python3 "$HERE/perfworld.py" up "$W" "$N"
cd "$W"

# nginx logs each request with the time (msec), the port, the connection's
# serial number, the request's number on its connection and whether the TLS
# session was resumed: a line on port 443 whose connection_requests is 1 is
# one TLS handshake. A handshake after which no request is sent is not
# logged (siteward reads the homepage over each handshake it makes).
sed -i "s|access_log off;|log_format perf '\$msec \$server_port \$connection \$connection_requests \$ssl_session_reused \$status';\n  access_log $W/logs/access.log perf;|" nginx.conf
grep -q 'access_log .*access.log perf;' nginx.conf || die "could not turn nginx's access log on in $W/nginx.conf"
nginx -c "$W/nginx.conf" -s reload 2>logs/nginx-reload.log || die "nginx -s reload failed: see $W/logs/nginx-reload.log"
# The reload is done when a request shows up in the log.
for _ in $(seq 50); do
    python3 -c 'import urllib.request as u; u.build_opener(u.ProxyHandler({})).open("http://127.0.0.60/", timeout=2).read()' \
        2>/dev/null || true
    [[ -s logs/access.log ]] && break
    sleep 0.2
done
[[ -s logs/access.log ]] || die "nginx does not log requests after the reload (see $W/logs/nginx-error.log)"

now() { date +%s.%N; }

# Handshakes/s of STIME_CLIENTS `openssl s_time -new` at once: the sum of
# their connections over the wall time of the whole batch.
stime() {
    local tag=$1 t0 t1 pids=() total
    say "openssl s_time, $STIME_CLIENTS clients for $STIME_SECS s ($tag)"
    t0=$(now)
    for i in $(seq "$STIME_CLIENTS"); do
        openssl s_time -connect 127.0.0.60:443 -new -time "$STIME_SECS" -CAfile certs/ca.pem \
            >"stime-$tag.$i.out" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || die "openssl s_time failed: see $W/stime-$tag.*.out"
    done
    t1=$(now)
    total=$(awk '/connections in .* real seconds/ {n += $1} END {print n + 0}' stime-"$tag".*.out)
    ((total > 0)) || die "openssl s_time made no connection: see $W/stime-$tag.*.out"
    awk -v n="$total" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", n / (b - a)}'
}

# "HANDSHAKES RESUMED": the TLS handshakes nginx logged between two times
# (seconds since the epoch).
handshakes() {
    awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b && $2 == 443 && $4 == 1 {n++; if ($5 == "r") r++}
        END {print n + 0, r + 0}' logs/access.log
}

# Unbound is restarted before each siteward run, so that each starts with
# the resolver's cache empty.
restart_unbound() {
    local pid
    pid=$(cat run/unbound.pid)
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    unbound -c "$W/unbound.conf"
}

# A siteward configuration: FILE DATABASE POLICY_DIR (every key is in
# systemd/siteward.toml).
write_config() {
    cat >"$1" <<EOF
[database]
url = "sqlite://$2"

[policies]
dir = "$3"

[resolver]
nameservers = ["127.0.0.54:53"]

[probe]
extra_roots = ["$W/certs/ca.pem"]
EOF
}

# A fresh database under CONFIG with the world's organization and sites.
# The import warns about every code from the 10,000th on (their prefix
# 620001 is in no division table): its output goes to CONFIG.import.
register() {
    "$BIN" --config "$1" org add --name 测试机关 --division 620000 --level province >"$1.import" 2>&1 ||
        die "org add failed: see $W/$1.import"
    "$BIN" --config "$1" import sites sites.csv >>"$1.import" 2>&1 ||
        die "the import failed: see $W/$1.import"
}

mb() { awk -v kb="$1" 'BEGIN {printf "%.0f\n", kb / 1024}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f\n", n / s}'; }
share() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f\n", 100 * a / b}'; }

STIME_BEFORE=$(stime before)

# --- check --once ------------------------------------------------------------
# The repository's policies as they are (--no-confirm: nothing is observed
# a second time).
cp -r "$POLICIES" "$W/policies-check"
write_config check.toml "$W/check.db" "$W/policies-check"
say "registering $N sites (check)"
register check.toml
restart_unbound
say "siteward check --once --no-confirm"
t0=$(now)
rc=0
/usr/bin/time -f '%e %M' -o check.time \
    "$BIN" --config check.toml check --once --no-confirm >check.out 2>check.err || rc=$?
t1=$(now)
# Exit status 3 means that something critical is open, as it is in this world.
((rc == 0 || rc == 3)) || die "siteward check exited with $rc: see $W/check.err"
read -r CHECK_SECS CHECK_RSS_KB < <(tail -n 1 check.time)
read -r CHECK_HS CHECK_RESUMED < <(handshakes "$t0" "$t1")
CHECK_SUMMARY=$(grep -m 1 '^check:' check.err || true)

# --- one cycle of the daemon ---------------------------------------------------
# Policies with one observation enough to open a finding, so that the cycle
# is probes and rules only (no confirmation rounds).
cp -r "$POLICIES" "$W/policies"
sed -i 's/^confirmations = 2$/confirmations = 1/' policies/siteward.toml
grep -q '^confirmations = 1$' policies/siteward.toml ||
    die "no 'confirmations = 2' line to change in $POLICIES/siteward.toml"
write_config serve.toml "$W/serve.db" "$W/policies"
say "registering $N sites (serve)"
register serve.toml
restart_unbound
say "siteward serve --every probe=2, until its first probe run ends"
# Not under journald: the log lines go to stderr, i.e. serve.log.
env -u JOURNAL_STREAM "$BIN" --config serve.toml serve --every probe=2 2>serve.log &
DAEMON_PID=$!
RUN=
ENDED=
deadline=$(($(date +%s) + CYCLE_TIMEOUT_SECS))
while :; do
    kill -0 "$DAEMON_PID" 2>/dev/null || die "siteward serve exited early: see $W/serve.log"
    if [[ -z "$RUN" ]]; then
        RUN=$(grep -m 1 -o 'run started job=probe run=[0-9]*' serve.log | sed 's/.*run=//' || true)
    fi
    if [[ -n "$RUN" ]]; then
        ENDED=$(grep -m 1 "run ended job=probe run=$RUN " serve.log || true)
        [[ -n "$ENDED" ]] && break
    fi
    (($(date +%s) < deadline)) || die "the daemon's first probe run did not end within $CYCLE_TIMEOUT_SECS s"
    sleep 0.2
done
SERVE_RSS_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$DAEMON_PID/status")
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || die "siteward serve did not exit cleanly after SIGTERM: see $W/serve.log"
DAEMON_PID=
STARTED=$(grep -m 1 "run started job=probe run=$RUN\$" serve.log)
# Log lines begin with an RFC 3339 UTC time stamp.
s0=$(date -d "${STARTED%% *}" +%s.%N)
s1=$(date -d "${ENDED%% *}" +%s.%N)
SERVE_SECS=$(awk -v a="$s0" -v b="$s1" 'BEGIN {printf "%.2f\n", b - a}')
SERVE_STATUS=$(grep -o 'status=[a-z_]*' <<<"$ENDED" | sed 's/status=//')
SERVE_SUMMARY=$(grep -o 'hosts=.*' <<<"$ENDED" || true)
read -r SERVE_HS SERVE_RESUMED < <(handshakes "$s0" "$s1")

STIME_AFTER=$(stime after)
STIME=$(((STIME_BEFORE + STIME_AFTER) / 2))

# --- Results -------------------------------------------------------------------
VERSION=$("$BIN" --version)
CHECK_NAMES_S=$(rate "$N" "$CHECK_SECS")
CHECK_HS_S=$(rate "$CHECK_HS" "$CHECK_SECS")
SERVE_NAMES_S=$(rate "$N" "$SERVE_SECS")
SERVE_HS_S=$(rate "$SERVE_HS" "$SERVE_SECS")
if [[ "$JSON" == 1 ]]; then
    printf '{"n":%s,"version":"%s","stime_handshakes_s":{"before":%s,"after":%s,"mean":%s},' \
        "$N" "$VERSION" "$STIME_BEFORE" "$STIME_AFTER" "$STIME"
    printf '"check":{"seconds":%s,"names_s":%s,"handshakes":%s,"resumed":%s,"handshakes_s":%s,"share_of_stime_pct":%s,"peak_rss_mb":%s,"exit":%s},' \
        "$CHECK_SECS" "$CHECK_NAMES_S" "$CHECK_HS" "$CHECK_RESUMED" "$CHECK_HS_S" \
        "$(share "$CHECK_HS_S" "$STIME")" "$(mb "$CHECK_RSS_KB")" "$rc"
    printf '"serve":{"run":%s,"status":"%s","seconds":%s,"names_s":%s,"handshakes":%s,"resumed":%s,"handshakes_s":%s,"share_of_stime_pct":%s,"peak_rss_mb":%s}}\n' \
        "$RUN" "$SERVE_STATUS" "$SERVE_SECS" "$SERVE_NAMES_S" "$SERVE_HS" "$SERVE_RESUMED" "$SERVE_HS_S" \
        "$(share "$SERVE_HS_S" "$STIME")" "$(mb "$SERVE_RSS_KB")"
else
    cat <<EOF
perfworld: $N host names, $VERSION, $(nproc) cores
  openssl s_time ($STIME_CLIENTS clients, new sessions): $STIME_BEFORE handshakes/s before, $STIME_AFTER after, mean $STIME
  check --once --no-confirm: $CHECK_SECS s, $CHECK_NAMES_S names/s, $CHECK_HS TLS handshakes ($CHECK_RESUMED resumed), $CHECK_HS_S handshakes/s = $(share "$CHECK_HS_S" "$STIME")% of s_time, peak RSS $(mb "$CHECK_RSS_KB") MB (exit $rc)
    $CHECK_SUMMARY
  serve, probe run $RUN ($SERVE_STATUS): $SERVE_SECS s, $SERVE_NAMES_S names/s, $SERVE_HS TLS handshakes ($SERVE_RESUMED resumed), $SERVE_HS_S handshakes/s = $(share "$SERVE_HS_S" "$STIME")% of s_time, peak RSS $(mb "$SERVE_RSS_KB") MB
    $SERVE_SUMMARY
EOF
fi
OK=1
