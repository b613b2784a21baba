# Shared by the scripts that start daemons by hand (tests/pipeline/run.sh, scripts/bench-ingest.sh).
# Source it; it defines functions only.

# stop_pid PID NAME [WHO]: SIGTERM, wait up to 10 s, then SIGKILL; reaps the process. WHO prefixes
# the message printed when SIGKILL was needed.
stop_pid() {
  local pid=$1 name=$2 who=${3:-script} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$who: $name (pid $pid) ignored SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
