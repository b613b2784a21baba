#!/usr/bin/env bash
# Ingest throughput benchmark (a script, not a timed test): lines per second that
# `realm-metrics dashboard` takes with ZERO loss, next to the real Etsy statsd daemon (npm statsd
# 0.9.0 from tests/pipeline) on the same machine, and the dashboard's memory and store growth.
#
#   bash scripts/bench-ingest.sh
#
# Both daemons run on free loopback ports with their data in a temporary folder and are stopped
# by PID on exit. tools/ingest-bench blasts `realm.bench-<h>.<catalog counter>:1|c` lines (100
# series, every value 1, so every total is exact) in 1432-byte datagrams, paced to a target rate
# for BENCH_SECONDS. For each rate of the ladder, each repeat blasts the dashboard, waits for it
# to settle, then blasts statsd and waits for it: one server loaded at a time. Counted:
#   dashboard  /api/v1/status `values` delta, cross-checked with the stored 1 s points (the sum
#              of /api/v1/query over the run's seconds, all 100 series) at the end;
#   statsd     `statsd.metrics_received` delta from the `counters` management command (flush
#              interval 1 h and no backend, so counters are totals since start), cross-checked
#              with the sum of the bench counters;
#   kernel     the `drops` column of /proc/net/udp for each daemon's socket.
# A rate is loss-free when every repeat lost nothing; the "highest loss-free rate" is the top of
# the run of loss-free rates from the bottom of the ladder. A server is not blasted above a rate
# where every repeat lost more than 20%.
# Then a fresh dashboard gets BENCH_RSS_SERIES (10,000) distinct series for BENCH_RSS_SECONDS:
# VmRSS before, during and after, and the store's growth per series per day from the pages used
# (and the file sizes) between the 5th second and the end.
#
# Environment: BENCH_RATES (lines/s, default the ladder below), BENCH_SECONDS (3),
# BENCH_REPEAT (2), BENCH_RSS_SECONDS (20), BENCH_RSS_SERIES (10000), BENCH_RSS_RATE (200000),
# BENCH_KEEP=1 keeps the temporary folder, CARGO_TARGET_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
pipeline=$root/tests/pipeline

rates=${BENCH_RATES:-"50000 100000 200000 300000 400000 500000 1000000 2000000 3000000 4000000 5000000 6000000 8000000 10000000"}
blast_s=${BENCH_SECONDS:-3}
repeat=${BENCH_REPEAT:-2}
rss_s=${BENCH_RSS_SECONDS:-20}
rss_series=${BENCH_RSS_SERIES:-10000}
rss_rate=${BENCH_RSS_RATE:-200000}

log() { printf -- '---- bench: %s\n' "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

for tool in cargo node npm curl jq sqlite3 awk; do
  command -v "$tool" >/dev/null 2>&1 || die "needs $tool (apt-get install curl jq sqlite3)"
done
[ -r /proc/net/udp ] || die "needs Linux /proc/net/udp"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/realm-bench.XXXXXX")
pids=()

# stop_pid PID NAME: SIGTERM, then SIGKILL after 10 s.
# shellcheck source=scripts/lib/daemons.sh
source "$root/scripts/lib/daemons.sh"

cleanup() {
  local status=$? i
  set +e
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[$i]}" daemon bench; done
  if [ "$status" -ne 0 ]; then
    for f in "$tmp"/*.log; do
      [ -s "$f" ] || continue
      echo "== last lines of $(basename "$f")" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
# Floating point in awk: calc 'EXPR'.
calc() { awk "BEGIN { printf \"%s\", $1 }"; }

# ---------------------------------------------------------------------------------------------
log "build (release): realm-metrics, ingest-bench; Etsy statsd (npm ci in tests/pipeline)"
(cd "$root" && cargo build --release -q -p realm-metrics-cli -p realm-metrics-ingest-bench)
dash_bin=$target/release/realm-metrics
bench=$target/release/ingest-bench
(
  cd "$pipeline"
  if [ ! -f node_modules/statsd/stats.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --omit=optional --ignore-scripts --no-audit --no-fund >&2
  fi
)
statsd_version=$(cd "$pipeline" && node -p 'require("statsd/package.json").version')


# ---------------------------------------------------------------------------------------------
# /proc/net/udp: the socket bound to 127.0.0.1:PORT ("0100007F:HHHH"): its drops, its rx queue.
udp_field() { # port drops|rxq: -1 when no such socket
  local row
  row=$(awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a { print $5, $NF; exit }' /proc/net/udp)
  [ -n "$row" ] || { echo -1; return; }
  if [ "$2" = drops ]; then echo "${row##* }"; else row=${row%% *}; echo $((16#${row#*:})); fi
}
# The socket's receive buffer in bytes (skmem rb from ss), or "?".
rcvbuf() { ss -uamn "sport = :$1" 2>/dev/null | sed -n 's/.*skmem:([^)]*,rb\([0-9]*\),.*/\1/p' | head -n1 | grep . || echo '?'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

start_dashboard() { # name data-dir -> sets <name>_pid <name>_http <name>_udp
  local name=$1 data=$2 out=$tmp/$1.out i line http udp pid
  "$dash_bin" dashboard --listen 127.0.0.1:0 --http 127.0.0.1:0 --data "$data" \
    >"$out" 2>>"$tmp/$name.log" &
  pid=$!
  pids+=("$pid")
  for i in $(seq 150); do
    grep -q '^statsd listener: ' "$out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || die "$name exited at start"
    sleep 0.1
  done
  http=$(sed -n 's|^dashboard: http://\(.*\)/$|\1|p' "$out")
  udp=$(sed -n 's|^statsd listener: udp://127.0.0.1:\([0-9]*\)$|\1|p' "$out")
  [ -n "$http" ] && [ -n "$udp" ] || die "$name did not print its addresses"
  printf -v "${name}_pid" %s "$pid"
  printf -v "${name}_http" %s "$http"
  printf -v "${name}_udp" %s "$udp"
}

dash_get() { # host:port path
  curl -sS --max-time 10 -H "Host: $1" "http://$1$2"
}
dash_values() { dash_get "$1" /api/v1/status | jq -r '.values'; }

start_statsd() { # -> statsd_pid statsd_udp statsd_mgmt; 1 when it did not come up
  read -r statsd_udp < <(node "$pipeline/tools.js" ports udp 1)
  read -r statsd_mgmt < <(node "$pipeline/tools.js" ports tcp 1)
  # No backend and a 1 h flush: counters are totals since start (a flush would zero them).
  cat >"$tmp/statsd-config.js" <<EOF
{
  address: "127.0.0.1",
  port: $statsd_udp,
  mgmt_address: "127.0.0.1",
  mgmt_port: $statsd_mgmt,
  backends: [],
  flushInterval: 3600000,
  automaticConfigReload: false
}
EOF
  (cd "$pipeline/node_modules/statsd" &&
    exec node --require "$pipeline/statsd-compat.js" stats.js "$tmp/statsd-config.js") >>"$tmp/statsd.log" 2>&1 &
  statsd_pid=$!
  pids+=("$statsd_pid")
  if node "$pipeline/tools.js" statsd-health "$statsd_mgmt" 10000; then
    sleep 0.3
    kill -0 "$statsd_pid" 2>/dev/null && return 0
  fi
  stop_pid "$statsd_pid" statsd bench
  return 1
}
statsd_received() { "$bench" etsy-counters --mgmt "$statsd_mgmt" | jq -r '"\(.metrics_received) \(.prefix_sum)"'; }

# Wait until the socket's queue is empty and the count read by `$@` stays the same across
# `gap` seconds (the dashboard publishes its counts once a second); at most 30 s. Prints it.
settle() { # port gap command...
  local port=$1 gap=$2 deadline prev cur
  shift 2
  deadline=$(($(date +%s) + 30))
  prev=$("$@")
  while :; do
    sleep "$gap"
    cur=$("$@")
    if [ "$cur" = "$prev" ] && [ "$(udp_field "$port" rxq)" = 0 ]; then
      echo "$cur"
      return 0
    fi
    prev=$cur
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "bench: port $port did not settle in 30 s" >&2
      echo "$cur"
      return 0
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# Other work on the machine takes cores from the daemons and the blaster: shown with the results.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "start the dashboard and Etsy statsd $statsd_version on free loopback ports (load average $load_before)"
start_dashboard dash "$tmp/data-ladder"
for attempt in 1 2 3; do
  start_statsd && break
  [ "$attempt" -lt 3 ] || die "statsd did not start"
done
log "dashboard pid $dash_pid udp $dash_udp http $dash_http; statsd pid $statsd_pid udp $statsd_udp mgmt $statsd_mgmt"
rcvbufs="dashboard $(rcvbuf "$dash_udp") B, Etsy statsd $(rcvbuf "$statsd_udp") B"

results=$tmp/results.tsv # server rate rep sent received drops from to blaster-kept-up
per_datagram=?
: >"$results"
dash_alive=1
etsy_alive=1
for rate in $rates; do
  [ "$dash_alive" = 1 ] || [ "$etsy_alive" = 1 ] || break
  dash_bad=0
  etsy_bad=0
  for rep in $(seq "$repeat"); do
    if [ "$dash_alive" = 1 ]; then
      v0=$(settle "$dash_udp" 1.1 dash_values "$dash_http")
      d0=$(udp_field "$dash_udp" drops)
      # The stored check sums the seconds t0-1..t1: the dashboard may stamp a datagram that
      # arrives early in a second with the second before (its idle loop notices a new second
      # up to 100 ms late). 2 s of quiet keep t0-1 clear of the previous run.
      sleep 2.05
      t0=$(($(date +%s) - 1))
      "$bench" blast --to "127.0.0.1:$dash_udp" --rate "$rate" --seconds "$blast_s" >"$tmp/blast.json"
      sent=$(jq -r .lines <"$tmp/blast.json")
      per_datagram=$(jq -r .lines_per_datagram <"$tmp/blast.json")
      v1=$(settle "$dash_udp" 1.1 dash_values "$dash_http")
      t1=$(date +%s)
      d1=$(udp_field "$dash_udp" drops)
      printf 'dashboard\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$rep" "$sent" $((v1 - v0)) $((d1 - d0)) "$t0" "$t1" \
        "$(jq -r .kept_up <"$tmp/blast.json")" >>"$results"
      [ $(((sent - v1 + v0) * 5)) -gt "$sent" ] && dash_bad=$((dash_bad + 1))
    fi
    if [ "$etsy_alive" = 1 ]; then
      read -r e0 p0 < <(settle "$statsd_udp" 0.5 statsd_received)
      d0=$(udp_field "$statsd_udp" drops)
      "$bench" blast --to "127.0.0.1:$statsd_udp" --rate "$rate" --seconds "$blast_s" >"$tmp/blast.json"
      sent=$(jq -r .lines <"$tmp/blast.json")
      read -r e1 p1 < <(settle "$statsd_udp" 0.5 statsd_received)
      d1=$(udp_field "$statsd_udp" drops)
      [ "$((e1 - e0))" = "$((p1 - p0))" ] ||
        echo "bench: statsd metrics_received grew by $((e1 - e0)) but the bench counters by $((p1 - p0))" >&2
      printf 'etsy\t%s\t%s\t%s\t%s\t%s\t-\t-\t%s\n' "$rate" "$rep" "$sent" $((e1 - e0)) $((d1 - d0)) \
        "$(jq -r .kept_up <"$tmp/blast.json")" >>"$results"
      [ $(((sent - e1 + e0) * 5)) -gt "$sent" ] && etsy_bad=$((etsy_bad + 1))
    fi
  done
  awk -F'\t' -v r="$rate" '$2 == r { printf "  %-9s %9s lines/s  rep %s: sent %d received %d lost %d\n", $1, $2, $3, $4, $5, $4 - $5 }' "$results" >&2
  [ "$dash_bad" -lt "$repeat" ] || dash_alive=0
  [ "$etsy_bad" -lt "$repeat" ] || etsy_alive=0
done

# The stored 1 s points of every dashboard run: the sum over its seconds of all bench series.
log "cross-check: the dashboard's stored points"
sleep 3
metrics=$(dash_get "$dash_http" /api/v1/series |
  jq -r '[.series[] | select(.name | startswith("realm.bench-")) | .metric] | unique | .[]')
[ "$(echo "$metrics" | grep -c .)" = 10 ] || die "expected 10 catalog metrics among the bench series, got: $metrics"
stored_sum() { # from to(inclusive)
  local total=0 m s
  for m in $metrics; do
    s=$(dash_get "$dash_http" "/api/v1/query?metric=$m&from=$1&to=$(($2 + 1))&step=1" |
      jq '[.series[] | select(.name | startswith("realm.bench-")) | .points[][1]] | add // 0')
    total=$((total + s))
  done
  echo "$total"
}
checked=$tmp/results-checked.tsv
while IFS=$'\t' read -r server rate rep sent recv drops from to kept; do
  stored=-
  [ "$server" = dashboard ] && stored=$(stored_sum "$from" "$to")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$rate" "$rep" "$sent" "$recv" "$drops" "$stored" "$kept"
done <"$results" >"$checked"
dash_status=$(dash_get "$dash_http" /api/v1/status)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
stop_pid "$statsd_pid" statsd bench
stop_pid "$dash_pid" dashboard bench

# ---------------------------------------------------------------------------------------------
log "memory and store: a fresh dashboard, $rss_series series at $rss_rate lines/s for ${rss_s}s"
start_dashboard mem "$tmp/data-mem"
db=$tmp/data-mem/metrics.db
sleep 1
rss_before=$(rss_kb "$mem_pid")
# page_size page_count freelist_count points_1s-rows points_1s-bytes db-file wal-file
store_snapshot() {
  local s
  s=$(sqlite3 -readonly "$db" 'PRAGMA page_size; PRAGMA page_count; PRAGMA freelist_count;
    SELECT count(*) FROM points_1s; SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = '"'points_1s'"';' |
    tr '\n' ' ')
  echo "$s $(stat -c %s "$db" 2>/dev/null || echo 0) $(stat -c %s "$db-wal" 2>/dev/null || echo 0)"
}
"$bench" blast --to "127.0.0.1:$mem_udp" --rate "$rss_rate" --seconds "$rss_s" \
  --names flat --series "$rss_series" --host host >"$tmp/mem-blast.json" &
blast_pid=$!
pids+=("$blast_pid")
rss_samples=()
snap0=
for i in $(seq "$rss_s"); do
  sleep 1
  rss_samples+=("$(rss_kb "$mem_pid")")
  # The 5th second: every series exists; measure growth from here.
  [ "$i" = 5 ] && snap0=$(store_snapshot)
done
wait "$blast_pid" || die "the blaster failed"
mem_values=$(settle "$mem_udp" 1.1 dash_values "$mem_http")
sleep 2 # the last seconds reach the store
snap1=$(store_snapshot)
rss_after=$(rss_kb "$mem_pid")
mem_status=$(dash_get "$mem_http" /api/v1/status)
stop_pid "$mem_pid" dashboard bench

# ---------------------------------------------------------------------------------------------
echo
echo "== ingest: $(nproc) cores, ${blast_s} s per run, $repeat runs per rate, 100 series, 1432-byte datagrams ($per_datagram lines each)"
echo "   socket receive buffers: $rcvbufs"
echo "   load average before $load_before, after the ladder $load_after (other work on the machine skews the figures)"
echo "   dashboard: realm-metrics $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') (release); Etsy statsd $statsd_version on node $(node --version)"
awk -F'\t' '
  { key = $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key }; s[$1, key] += $4; r[$1, key] += $5; d[$1, key] += $6
    if ($4 != $5) lossy[$1, key] = 1
    if ($1 == "dashboard" && $7 != $5) stored_bad[key] = 1
    if ($1 == "dashboard") st[key] += $7
    if ($8 != "true") slow[key] = 1 }
  END {
    printf "%12s | %-52s | %-40s\n", "rate lines/s", "dashboard: sent  received  loss%  kernel-drops  stored", "Etsy statsd: sent  received  loss%  kernel-drops"
    for (i = 1; i <= n; i++) {
      k = order[i]
      a = ("dashboard", k) in s ? sprintf("%11d %11d %6.2f %8d %11d%s", s["dashboard", k], r["dashboard", k], 100 * (s["dashboard", k] - r["dashboard", k]) / s["dashboard", k], d["dashboard", k], st[k], (k in stored_bad) ? "!" : " ") : sprintf("%52s", "(not run)")
      b = ("etsy", k) in s ? sprintf("%11d %11d %6.2f %8d", s["etsy", k], r["etsy", k], 100 * (s["etsy", k] - r["etsy", k]) / s["etsy", k], d["etsy", k]) : "(not run)"
      printf "%12d | %s | %s\n", k, a, b
    }
    for (j = 0; j < 2; j++) {
      if (j == 0) srv = "dashboard"; else srv = "etsy"
      top = 0; broken = 0
      for (i = 1; i <= n; i++) {
        k = order[i]
        if (!((srv, k) in s) || ((srv, k) in lossy)) { broken = 1 }
        if (!broken) top = k
      }
      best[srv] = top
      if (top == order[n]) at_top[srv] = ">= "; else at_top[srv] = ""
    }
    printf "\nhighest loss-free rate: dashboard %s%d lines/s, Etsy statsd %s%d lines/s", at_top["dashboard"], best["dashboard"], at_top["etsy"], best["etsy"]
    if (best["etsy"] > 0) printf ", ratio %s%.1fx", at_top["dashboard"], best["dashboard"] / best["etsy"]
    printf "\n"
    g1 = "NOT met"; g2 = "NOT met"
    if (best["dashboard"] >= 2000000) g1 = "met"
    if (best["etsy"] > 0 && best["dashboard"] >= 10 * best["etsy"]) g2 = "met"
    printf "goals: dashboard >= 2,000,000 lines/s loss-free: %s; >= 10x Etsy: %s\n", g1, g2
    for (k in slow) printf "(blaster below 98%% of the target rate at %d lines/s: it competes for the same 2 cores)\n", k
    for (k in stored_bad) { printf "(!) stored sum differs from the status counter at some rate: see the run table\n"; break }
  }' "$checked"
echo "dashboard after the ladder: $(echo "$dash_status" | jq -c '{datagrams, values, series, malformed_lines, seconds_dropped, points_written, store_errors}')"

read -r ps0 pc0 fl0 rows0 tb0 f0 w0 <<<"$snap0"
read -r ps1 pc1 fl1 rows1 tb1 f1 w1 <<<"$snap1"
echo
echo "== memory: $rss_series distinct series (realm.bench-host.m<i>), $(jq -r .lines <"$tmp/mem-blast.json") lines in ${rss_s}s"
echo "$mem_status" | jq -c '{values, series, series_dropped, malformed_lines, seconds_dropped, points_written}'
rss_min=$(printf '%s\n' "${rss_samples[@]:4}" | sort -n | head -n1)
rss_max=$(printf '%s\n' "${rss_samples[@]:4}" | sort -n | tail -n1)
echo "VmRSS kB: before $rss_before; at 5 s ${rss_samples[4]}; seconds 5..$rss_s min $rss_min max $rss_max; after $rss_after"
echo "VmRSS every second: ${rss_samples[*]}"
echo
echo "== store growth ($rss_series series, from the 5th second to the end)"
if [ -n "$snap0" ] && [ "$rows1" -gt "$rows0" ]; then
  secs=$(calc "($rows1 - $rows0) / $rss_series")
  used=$(((pc1 - fl1 - pc0 + fl0) * ps1))
  files=$((f1 + w1 - f0 - w0))
  echo "points_1s rows +$((rows1 - rows0)) (= $secs s per series); pages used +$used B; points_1s pages +$((tb1 - tb0)) B; db+wal files +$files B"
  echo "per 1 s point: $(calc "$used / ($rows1 - $rows0)") B (pages used), $(calc "($tb1 - $tb0) / ($rows1 - $rows0)") B (points_1s table)"
  echo "growth per series per day (x 86400 s): $(calc "$used / ($rows1 - $rows0) * 86400 / 1048576") MiB from pages used, $(calc "$files / ($rows1 - $rows0) * 86400 / 1048576") MiB from file sizes"
else
  echo "no points stored between the snapshots: $snap0 / $snap1"
fi
echo
echo "runs (server rate rep sent received kernel-drops stored blaster-kept-up):"
sed 's/^/  /' "$checked"
