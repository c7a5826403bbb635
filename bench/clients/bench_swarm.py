#!/usr/bin/env python3
"""Swarm benchmark: connect rate (CONNECT to CONNACK, all clients) into
flatline-broker and into mosquitto, and the swarm's RSS per connection.

    bench/clients/bench_swarm.py --build build-swarm --clients 19000 --sources 4 --broker flatline
    bench/clients/bench_swarm.py --build build-swarm --clients 19000 --sources 4 --broker mosquitto

One swarm process, one broker, loopback. Sources 127.0.0.2 ... 127.0.0.(1+K)
need no configuration. The rate is clients / (ready - first connected ... and
spawn); RSS is VmRSS of the swarm once every client is connected, divided by
the number of connections (the whole process, nothing subtracted) and, second,
net of a one-client swarm's RSS.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def find_broker(build):
    for d in (build, os.path.join(os.path.dirname(build), "build"), os.path.join(os.path.dirname(build), "build-broker")):
        p = os.path.join(d, "flatline-broker")
        if os.access(p, os.X_OK):
            return p
    return None


def start_broker(kind, build, port, tmp):
    if kind == "mosquitto":
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_keepalive 65535\n"
                    "persistence false\nlog_type error\n")
        argv = ["/usr/sbin/mosquitto", "-c", conf]
    else:
        exe = find_broker(build)
        if not exe:
            sys.exit("flatline-broker not found next to the swarm or in build/ or build-broker/")
        argv = [exe, "--listen", f"127.0.0.1:{port}", "--events", os.path.join(tmp, "broker.jsonl")]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(port):
        p.kill()
        sys.exit(f"{argv[0]} did not listen on {port}")
    return p


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_swarm(exe, port, clients, sources, inflight, tmp, tag):
    events = os.path.join(tmp, f"swarm-{tag}.jsonl")
    r, w = os.pipe()
    argv = [exe, "--broker", f"127.0.0.1:{port}", "--clients", str(clients), "--keepalive", "60",
            "--id-prefix", f"bench{os.getpid()}-{tag}-", "--events", events, "--control", f"fd:{r}",
            "--inflight", str(inflight)]
    if sources:
        argv += ["--source", ",".join(f"127.0.0.{2 + i}" for i in range(sources))]
    t_spawn = time.monotonic_ns()
    p = subprocess.Popen(argv, pass_fds=(r,))
    os.close(r)
    ready = None
    deadline = time.monotonic() + 120
    while ready is None and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
        with open(events) as f:
            for line in f:
                if '"ev":"ready"' in line:
                    ready = json.loads(line)
    if ready is None:
        p.kill()
        sys.exit(f"swarm did not get {clients} clients connected (exit {p.poll()})")
    time.sleep(0.5)  # let the allocator settle
    rss = rss_kib(p.pid)
    os.write(w, b"stop\n")
    os.close(w)
    p.wait(timeout=30)
    connected = []
    dead = 0
    with open(events) as f:
        for line in f:
            e = json.loads(line)
            if e["ev"] == "connected":
                connected.append(e["t"])
            elif e["ev"] == "dead_detected":
                dead += 1
    return {
        "t_spawn": t_spawn,
        "t_ready": ready["t"],
        "first": min(connected),
        "last": max(connected),
        "connected": len(connected),
        "dead": dead,
        "rss_kib": rss,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="build directory with flatline-swarm")
    ap.add_argument("--broker", choices=("flatline", "mosquitto"), default="flatline")
    ap.add_argument("--clients", type=int, default=19000)
    ap.add_argument("--sources", type=int, default=4, help="source addresses 127.0.0.2 ... (0: none)")
    ap.add_argument("--inflight", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    exe = os.path.join(a.build, "flatline-swarm")
    if not os.access(exe, os.X_OK):
        sys.exit(f"{exe} not found (build it first)")
    tmp = tempfile.mkdtemp(prefix="flatline-bench-swarm-")
    try:
        port = free_port()
        broker = start_broker(a.broker, a.build, port, tmp)
        try:
            base = run_swarm(exe, port, 1, a.sources, a.inflight, tmp, "base")
            rows = []
            for i in range(a.runs):
                r = run_swarm(exe, port, a.clients, a.sources, a.inflight, tmp, f"r{i}")
                if r["connected"] != a.clients or r["dead"]:
                    print(f"warning: run {i}: {r['connected']} connected, {r['dead']} failed attempts")
                rate_spawn = a.clients / ((r["t_ready"] - r["t_spawn"]) / 1e9)
                rate_span = (a.clients - 1) / max((r["last"] - r["first"]) / 1e9, 1e-9)
                rows.append((rate_spawn, rate_span, r["rss_kib"]))
                time.sleep(1)
        finally:
            broker.send_signal(signal.SIGTERM)
            try:
                broker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                broker.kill()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpus, kernel {platform.release()}, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"broker {a.broker}, {a.clients} clients, {a.sources} source addresses, inflight {a.inflight}")
    print("| run | connects/s (spawn to ready) | connects/s (first to last CONNACK) | RSS KiB | bytes/conn | "
          "bytes/conn net of 1-client RSS |")
    print("|---|---|---|---|---|---|")
    for i, (rs, rn, rss) in enumerate(rows):
        print(f"| {i} | {rs:,.0f} | {rn:,.0f} | {rss:,} | {rss * 1024 / a.clients:,.0f} | "
              f"{(rss - base['rss_kib']) * 1024 / a.clients:,.0f} |")
    best = max(rows, key=lambda x: x[0])
    print(f"best: {best[0]:,.0f} connects/s spawn-to-ready; baseline RSS (1 client) {base['rss_kib']} KiB")


if __name__ == "__main__":
    main()
