#!/usr/bin/env python3
"""Run a consumer program against a real StatsD receiver and check what arrives.

    receive_and_check.py PREFIX PROGRAM [ARGS...]

Binds UDP 127.0.0.1 on an ephemeral port, runs PROGRAM ARGS... PORT PREFIX (10 s at most),
reads the datagrams (bounded: size, count, 2 s after the program exits), applies them with Etsy
statsd's rules (counters summed over their sample rate, gauges absolute unless signed, timers
collected) and checks the metrics tests/c/cmake-consumer/main.cpp and
tests/c/pkgconfig-consumer/main.c send. Exit status 0 only if the program exited 0 and every
expected metric arrived with its value.
"""
import select
import socket
import subprocess
import sys
import time

MAX_DATAGRAM = 65535
MAX_DATAGRAMS = 10000
MAX_NAMES = 1000


def expected(prefix):
    return {
        (f"{prefix}.connection.started", "c"): 3.0,
        (f"{prefix}.connection.online", "g"): 2.0,
        (f"{prefix}.protocol.24.used", "c"): 2.0,
        (f"{prefix}.consumer.requests", "c"): 5.0,
        (f"{prefix}.consumer.latency", "ms"): [12.5],
    }


def apply_line(seen, line, bad):
    try:
        name, rest = line.split(":", 1)
        fields = rest.split("|")
        value, kind = fields[0], fields[1]
        rate = 1.0
        for f in fields[2:]:
            if f.startswith("@"):
                rate = float(f[1:])
        v = float(value)
    except (ValueError, IndexError):
        bad.append(line)
        return
    key = (name, kind)
    if key not in seen and len(seen) >= MAX_NAMES:
        bad.append(line)
        return
    if kind == "g":
        seen[key] = seen.get(key, 0.0) + v if value[:1] in "+-" else v
    elif kind == "c":
        seen[key] = seen.get(key, 0.0) + v / rate
    else:
        seen.setdefault(key, []).append(v)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    prefix, program = sys.argv[1], sys.argv[2:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    proc = subprocess.Popen(program + [str(port), prefix])
    seen, bad, datagrams = {}, [], 0
    want = expected(prefix)
    deadline = time.monotonic() + 10
    exited_at = None
    while datagrams < MAX_DATAGRAMS:
        now = time.monotonic()
        if exited_at is None and proc.poll() is not None:
            exited_at = now
        if exited_at is not None and (now > exited_at + 2 or all(seen.get(k) == v for k, v in want.items())):
            break
        if now > deadline:
            proc.kill()
            proc.wait()
            print(f"FAIL: {' '.join(program)} still running after 10 s", file=sys.stderr)
            return 1
        ready, _, _ = select.select([sock], [], [], 0.05)
        if ready:
            data = sock.recv(MAX_DATAGRAM)
            datagrams += 1
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    apply_line(seen, line, bad)
    status = proc.wait()
    failures = []
    if status != 0:
        failures.append(f"{' '.join(program)} exited {status}")
    for (name, kind), value in want.items():
        got = seen.get((name, kind))
        if got != value:
            failures.append(f"{name}|{kind}: expected {value}, received {got}")
    if bad:
        failures.append(f"unparsable or excess lines: {bad[:5]}")
    if failures:
        print("FAIL: " + "; ".join(failures), file=sys.stderr)
        print(f"received ({datagrams} datagrams): {sorted(seen.items())}", file=sys.stderr)
        return 1
    print(f"ok: {len(want)} metrics with the expected values in {datagrams} datagram(s) on port {port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
