#!/usr/bin/env bash
# The production path, end to end: the Rust emitter, the C library and the Node package send the
# same ROS events to the real Etsy statsd daemon (npm `statsd`, pinned in package-lock.json),
# whose graphite backend writes into InfluxDB 1.x (Debian `influxdb`) through its graphite
# listener; check.js then asserts the exact counter sums and last gauge values per binding.
# The same packets also reach Graphite itself: statsd's repeater backend copies every datagram
# to a second statsd whose graphite backend writes into carbon-cache (Debian `graphite-carbon`);
# check-graphite.js reads its whisper files with whisper-fetch (Debian `python3-whisper`) and
# asserts the same sums and last values (expected.js).
#
#   bash tests/pipeline/run.sh          (from anywhere; needs Rust, Node >= 18, a C compiler)
#
# Installs what is missing, idempotently (npm ci for statsd; apt-get for influxd, carbon-cache
# and whisper-fetch). Runs the daemons by hand on free loopback ports with all their data in a
# temporary folder, and stops them (by PID) on exit, whatever happens. Each binding sends under
# its own random host (realm.pipe-<binding>-<random>), so other traffic on this machine cannot
# change the result.
# Environment: CARGO_TARGET_DIR (default <repo>/target), PIPELINE_KEEP=1 keeps the temporary
# folder, PIPELINE_DEADLINE_MS (default 30000) bounds the wait for the data to land.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
started_ns=$(date +%s%N)

log() { printf -- '---- pipeline: %s\n' "$*"; }
elapsed() { echo "$(( ($(date +%s%N) - started_ns) / 1000000 )) ms"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/realm-pipeline.XXXXXX")
pids=()

# stop_pid PID NAME: SIGTERM, then SIGKILL after 10 s.
# shellcheck source=scripts/lib/daemons.sh
source "$root/scripts/lib/daemons.sh"

cleanup() {
  local status=$?
  set +e
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[$i]}" "daemon" pipeline; done
  if [ "$status" -ne 0 ]; then
    for f in "$tmp"/*.log; do
      [ -s "$f" ] || continue
      echo "== last lines of $(basename "$f")" >&2
      tail -n 25 "$f" >&2
    done
  fi
  if [ "${PIPELINE_KEEP:-0}" = 1 ]; then
    echo "pipeline: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
log "install: InfluxDB 1.x, Graphite (carbon-cache, whisper), Etsy statsd"
if ! command -v influxd >/dev/null 2>&1 || ! command -v carbon-cache >/dev/null 2>&1 ||
  ! command -v whisper-fetch >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # graphite-carbon's postinst may enable a carbon-cache service on the default ports: this
  # test never uses it (its own carbon-cache runs on free ports, below).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    influxdb influxdb-client graphite-carbon python3-whisper
fi
influxd version
dpkg-query -W -f='graphite-carbon ${Version}, ' graphite-carbon
dpkg-query -W -f='python3-whisper ${Version}\n' python3-whisper
(
  cd "$here"
  # statsd's optional dependencies (modern-syslog, a native module; hashring, for the proxy)
  # are not needed by the daemon with the graphite backend.
  if [ ! -f node_modules/statsd/stats.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --omit=optional --ignore-scripts --no-audit --no-fund
  fi
  node -p '"statsd " + require("statsd/package.json").version'
)

# ---------------------------------------------------------------------------------------------
log "build: Rust example, C library + sender, Node addon"
(cd "$root" && cargo build -q --example pipeline_sender -p realm-metrics)
rust_sender=$target/debug/examples/pipeline_sender

prefix_dir=$tmp/prefix
(cd "$root" && bash ffi-c/install.sh "$prefix_dir" >"$tmp/install-c.log" 2>&1) || {
  cat "$tmp/install-c.log" >&2
  exit 1
}
export PKG_CONFIG_PATH=$prefix_dir/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
# As a C user links it: the installed prefix holds only the static library under this name.
# shellcheck disable=SC2046
"${CC:-cc}" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags realm_metrics) \
  "$here/sender.c" $(pkg-config --static --libs realm_metrics) -o "$tmp/sender-c"

(
  cd "$root/node"
  addon=$(ls realm-metrics.*.node 2>/dev/null | head -n 1 || true)
  if [ -z "$addon" ] || [ -n "$(find ../core/src ../core/Cargo.toml src Cargo.toml build.rs \
      -newer "$addon" -print -quit)" ]; then
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      npm ci --ignore-scripts --no-audit --no-fund
    fi
    CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/node-build} npx napi build --platform --release
  else
    echo "node addon $addon is up to date"
  fi
)
log "built ($(elapsed))"

# ---------------------------------------------------------------------------------------------
log "start InfluxDB (influxd run) on free loopback ports"
start_influx() { # -> influx_pid, http_port, graphite_port; 1 when it did not come up
  local rpc
  read -r rpc http_port graphite_port < <(node "$here/tools.js" ports tcp 3)
  mkdir -p "$tmp/influx"
  cat >"$tmp/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"

[meta]
  dir = "$tmp/influx/meta"
  logging-enabled = false

[data]
  dir = "$tmp/influx/data"
  wal-dir = "$tmp/influx/wal"
  query-log-enabled = false
  trace-logging-enabled = false

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[http]
  enabled = true
  bind-address = "127.0.0.1:$http_port"
  log-enabled = false

# Etsy statsd's graphite backend writes here. The filters keep the metric type in a tag, and
# the leading dots skip the namespace so the measurement is the full metric name:
#   stats_counts.realm.h.connection.started 7  -> "realm.h.connection.started",metric_type=counter
#   stats.gauges.realm.h.connection.online 42  -> "realm.h.connection.online",metric_type=gauge
# Everything else (stats.<name> rates, statsd's own stats) keeps its full name.
[[graphite]]
  enabled = true
  bind-address = "127.0.0.1:$graphite_port"
  protocol = "tcp"
  database = "realm"
  batch-size = 1000
  batch-timeout = "100ms"
  templates = [
    "stats_counts.* .measurement* metric_type=counter",
    "stats.gauges.* ..measurement* metric_type=gauge",
  ]
EOF
  influxd run -config "$tmp/influxdb.conf" >>"$tmp/influxd.log" 2>&1 &
  influx_pid=$!
  pids+=("$influx_pid")
  if node "$here/tools.js" wait-http "http://127.0.0.1:$http_port/ping" 15000 &&
    node "$here/tools.js" wait-tcp "$graphite_port" 5000 &&
    kill -0 "$influx_pid" 2>/dev/null; then
    return 0
  fi
  stop_pid "$influx_pid" influxd pipeline
  return 1
}
for attempt in 1 2 3; do
  start_influx && break
  [ "$attempt" -lt 3 ] || { echo "pipeline: influxd did not start" >&2; exit 1; }
  echo "pipeline: influxd did not come up (port taken?); retrying on other ports" >&2
done
influx_url=http://127.0.0.1:$http_port
log "influxd pid $influx_pid: http 127.0.0.1:$http_port, graphite 127.0.0.1:$graphite_port ($(elapsed))"

# ---------------------------------------------------------------------------------------------
log "start Graphite (carbon-cache) on free loopback ports"
# The statsd for carbon (below) flushes every 2 s and whisper keeps one point per second: statsd
# stamps a flush with its rounded unix second, so two flushes (>= 2 s apart) never share a whisper
# slot (with 1 s flushes two could round to one second, and the second would overwrite the first).
carbon_flush_ms=2000
whisper_dir=$tmp/carbon/storage/whisper
start_carbon() { # -> carbon_pid, carbon_port; 1 when it did not come up
  local pickle query c=$tmp/carbon
  read -r carbon_port pickle query < <(node "$here/tools.js" ports tcp 3)
  mkdir -p "$whisper_dir" "$c/storage/lists" "$c/log"
  cat >"$c/carbon.conf" <<CARBON
[cache]
STORAGE_DIR = $c/storage/
LOCAL_DATA_DIR = $whisper_dir/
WHITELISTS_DIR = $c/storage/lists/
CONF_DIR = $c/
LOG_DIR = $c/log/
PID_DIR = $c/
USER =
DATABASE = whisper
ENABLE_LOGROTATION = False
# No limits: a run creates about 200 whisper files at once.
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $carbon_port
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $pickle
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $query
ENABLE_MANHOLE = False
ENABLE_AMQP = False
# No graphite-web here to send tags to.
ENABLE_TAGS = False
LOG_LISTENER_CONN_SUCCESS = False
CARBON
  cat >"$c/storage-schemas.conf" <<SCHEMAS
[everything]
pattern = .*
retentions = 1s:1h
SCHEMAS
  carbon-cache --config="$c/carbon.conf" --pidfile="$c/carbon-cache.pid" --logdir="$c/log" \
    --nodaemon start >>"$tmp/carbon-cache.log" 2>&1 &
  carbon_pid=$!
  pids+=("$carbon_pid")
  if node "$here/tools.js" wait-tcp "$carbon_port" 20000 &&
    node "$here/tools.js" wait-tcp "$pickle" 5000 &&
    node "$here/tools.js" wait-tcp "$query" 5000 &&
    kill -0 "$carbon_pid" 2>/dev/null; then
    return 0
  fi
  stop_pid "$carbon_pid" carbon-cache pipeline
  return 1
}
for attempt in 1 2 3; do
  start_carbon && break
  [ "$attempt" -lt 3 ] || { echo "pipeline: carbon-cache did not start" >&2; exit 1; }
  echo "pipeline: carbon-cache did not come up (port taken?); retrying on other ports" >&2
done
log "carbon-cache pid $carbon_pid: line receiver 127.0.0.1:$carbon_port ($(elapsed))"

# ---------------------------------------------------------------------------------------------
log "start Etsy statsd twice on free UDP ports: to carbon, then to InfluxDB (repeating to the first)"
# start_statsd NAME GRAPHITE_PORT FLUSH_MS BACKEND_CONFIG -> statsd_pid, statsd_port; 1 when it
# did not come up
start_statsd() {
  local mgmt name=$1
  read -r statsd_port < <(node "$here/tools.js" ports udp 1)
  read -r mgmt < <(node "$here/tools.js" ports tcp 1)
  # `port: 0` would mean 8125 to statsd: always a concrete free port.
  cat >"$tmp/$name-config.js" <<EOF
{
  address: "127.0.0.1",
  port: $statsd_port,
  mgmt_address: "127.0.0.1",
  mgmt_port: $mgmt,
  $4
  graphiteHost: "127.0.0.1",
  graphitePort: $2,
  flushInterval: $3,
  // Keep sending idle stats (counters as 0, gauges as their last value): the sums and last
  // values checked stay the same, and a late duplicate would show.
  deleteIdleStats: false,
  automaticConfigReload: false
}
EOF
  (cd "$here/node_modules/statsd" &&
    exec node --require "$here/statsd-compat.js" stats.js "$tmp/$name-config.js") >>"$tmp/$name.log" 2>&1 &
  statsd_pid=$!
  pids+=("$statsd_pid")
  if node "$here/tools.js" statsd-health "$mgmt" 10000; then
    # A UDP port lost to another process makes statsd exit just after it starts listening.
    sleep 0.3
    kill -0 "$statsd_pid" 2>/dev/null && return 0
  fi
  stop_pid "$statsd_pid" "$name" pipeline
  return 1
}
for attempt in 1 2 3; do
  start_statsd statsd-carbon "$carbon_port" "$carbon_flush_ms" 'backends: ["./backends/graphite"],' && break
  [ "$attempt" -lt 3 ] || { echo "pipeline: statsd for carbon did not start" >&2; exit 1; }
  echo "pipeline: statsd for carbon did not come up (port taken?); retrying on other ports" >&2
done
statsd_carbon_pid=$statsd_pid
statsd_carbon_port=$statsd_port
log "statsd (to carbon) pid $statsd_carbon_pid: udp 127.0.0.1:$statsd_carbon_port ($(elapsed))"
# The senders' statsd: its graphite backend writes into InfluxDB; its repeater backend copies
# every datagram it receives, unchanged, to the statsd for carbon (UDP over loopback).
repeat_to_carbon="backends: [\"./backends/graphite\", \"./backends/repeater\"],
  repeater: [{ host: \"127.0.0.1\", port: $statsd_carbon_port }],
  repeaterProtocol: \"udp4\","
for attempt in 1 2 3; do
  start_statsd statsd "$graphite_port" 1000 "$repeat_to_carbon" && break
  [ "$attempt" -lt 3 ] || { echo "pipeline: statsd did not start" >&2; exit 1; }
  echo "pipeline: statsd did not come up (port taken?); retrying on other ports" >&2
done
log "statsd pid $statsd_pid: udp 127.0.0.1:$statsd_port ($(elapsed))"

# ---------------------------------------------------------------------------------------------
run_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')$$
p_rust=realm.pipe-rust-$run_id
p_c=realm.pipe-c-$run_id
p_node=realm.pipe-node-$run_id
log "send: Rust ($p_rust), C ($p_c), Node ($p_node)"
"$rust_sender" "127.0.0.1:$statsd_port" "$p_rust" | tee "$tmp/stats-rust.json"
"$tmp/sender-c" 127.0.0.1 "$statsd_port" "$p_c" | tee "$tmp/stats-c.json"
node "$here/sender.js" 127.0.0.1 "$statsd_port" "$p_node" | tee "$tmp/stats-node.json"
# The emitters' own stats: something sent, nothing lost on the way out.
node -e '
  for (const f of process.argv.slice(1)) {
    const s = JSON.parse(require("fs").readFileSync(f, "utf8"));
    const bad = ["send_errors", "lines_dropped_oversize", "encode_errors", "dropped_protocol_versions"]
      .filter((k) => s[k] !== 0);
    if (s.packets_sent < 2 || s.lines_sent < 35 || bad.length) {
      console.error(`pipeline: ${s.binding} emitter stats: ${JSON.stringify(s)}`);
      process.exit(1);
    }
  }' "$tmp/stats-rust.json" "$tmp/stats-c.json" "$tmp/stats-node.json"
log "sent ($(elapsed))"

# ---------------------------------------------------------------------------------------------
log "check: InfluxDB $influx_url, database realm"
node "$here/check.js" "$influx_url" realm "$p_rust" "$p_c" "$p_node"
log "check: Graphite, whisper files in $whisper_dir ($(elapsed))"
node "$here/check-graphite.js" "$whisper_dir" "$carbon_flush_ms" "$p_rust" "$p_c" "$p_node"

# ---------------------------------------------------------------------------------------------
# Both checks saw statsd's normal flushes land; its SIGTERM flush would not reach graphite anyway.
log "stop both statsd, carbon-cache and influxd"
stop_pid "$statsd_pid" statsd pipeline
stop_pid "$statsd_carbon_pid" statsd-carbon pipeline
stop_pid "$carbon_pid" carbon-cache pipeline
stop_pid "$influx_pid" influxd pipeline
pids=()
for pid in "$statsd_pid" "$statsd_carbon_pid" "$carbon_pid" "$influx_pid"; do
  if kill -0 "$pid" 2>/dev/null; then
    echo "pipeline: pid $pid still running" >&2
    exit 1
  fi
done
log "passed in $(elapsed)"
