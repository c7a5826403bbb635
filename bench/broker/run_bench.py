#!/usr/bin/env python3
"""Broker benchmark: keep-alive detection overshoot and RSS per idle
connection, flatline-broker beside Debian's mosquitto, same run, same machine.

For each broker and each connection count N: start the broker on a free
loopback port, read its RSS, open N connections with flatline-bench-opener
(several processes, CONNECT with KeepAlive K, then silent), read the RSS again
once all are connected, and wait until the broker has closed every one. The
overshoot of a connection is FIN arrival - CONNECT sent - 1.5 x K, measured at
the client, so both brokers are measured the same way from the wire. For
flatline-broker the event log also gives the broker's own view (close.t -
close.deadline).

The wire overshoot proper comes from a packet capture on the broker's
interface (flatline-bench-wirecap: libpcap, kernel timestamps in ns): the
broker's FIN leaving - the client's CONNECT arriving - 1.5 x K, the deadline
as computed from the arrival. The openers' own figure (user-space reads, with
their own read delays in it) stays beside it as "opener". The capture needs
CAP_NET_RAW; --no-capture leaves it out.

usage: run_bench.py --build build-broker [--counts 1000,19000] [--keepalive 10]
                    [--rate 4000] [--procs 4] [--brokers flatline,mosquitto]
                    [--prefix 'chrt -f 50'] [--opener-prefix 'chrt -f 40'] [--json FILE]
"""
import argparse
import json
import os
import resource
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


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_port(port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def start_broker(kind, build, port, tmp, prefix):
    if kind == "flatline":
        events = os.path.join(tmp, "events-%d.jsonl" % port)
        cmd = [os.path.join(build, "flatline-broker"), "--listen", "127.0.0.1:%d" % port, "--events", events]
        return subprocess.Popen(prefix + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), events
    conf = os.path.join(tmp, "mosquitto-%d.conf" % port)
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n"
                "max_connections -1\nmax_keepalive 65535\n" % port)
    return subprocess.Popen(prefix + ["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), None


def capture_view(path, keepalive, grace=1.5):
    over, drops, unseen = [], None, 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "drops":
                drops = int(parts[1]) + int(parts[2])
                continue
            rx, fin = int(parts[1]), int(parts[2])
            if rx and fin:
                over.append((fin - rx) / 1e6 - grace * keepalive * 1000.0)
            else:
                unseen += 1
    return sorted(over), drops, unseen


def broker_view(events):
    over = []
    with open(events) as f:
        for line in f:
            e = json.loads(line)
            # "phase": "connect" is the CONNECT timeout, not a keep-alive deadline.
            if e.get("ev") == "close" and e.get("reason") == "keepalive_timeout" and "deadline" in e \
                    and "phase" not in e:
                over.append((e["t"] - e["deadline"]) / 1e6)
    return sorted(over)


def run_one(kind, n, args, tmp):
    port = free_port()
    broker, events = start_broker(kind, args.build, port, tmp, args.prefix.split())
    try:
        if not wait_port(port):
            raise RuntimeError("%s did not listen on %d" % (kind, port))
        time.sleep(0.3)
        base = rss_kib(broker.pid)
        cap, cap_out = None, None
        if args.capture:
            cap_out = os.path.join(tmp, "wire-%s-%d.txt" % (kind, n))
            cap = subprocess.Popen(args.capture_prefix.split() + [os.path.join(args.build, "flatline-bench-wirecap"),
                                   "--port", str(port), "--out", cap_out], stdout=subprocess.PIPE, text=True)
            if cap.stdout.readline().strip() != "capturing":
                raise RuntimeError("wirecap did not start")
        procs, outs = [], []
        per = [n // args.procs + (1 if i < n % args.procs else 0) for i in range(args.procs)]
        for i, count in enumerate(per):
            if count == 0:
                continue
            out = os.path.join(tmp, "over-%s-%d-%d.txt" % (kind, n, i))
            outs.append(out)
            cmd = [os.path.join(args.build, "flatline-bench-opener"), "--port", str(port), "--count", str(count),
                   "--keepalive", str(args.keepalive), "--rate", str(args.rate / args.procs),
                   "--id-prefix", "%s-%d-%d" % (kind, n, i), "--out", out,
                   "--timeout", str(args.keepalive * 1.5 + n / args.rate + 30)]
            procs.append(subprocess.Popen(args.opener_prefix.split() + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        connected = 0
        for p in procs:
            line = p.stdout.readline()
            if not line.startswith("ready"):
                raise RuntimeError("opener failed: %r %s" % (line, p.stderr.read()))
            connected += int(line.split()[1])
        time.sleep(1.0)
        rss = rss_kib(broker.pid)
        for p in procs:
            p.wait()
            sys.stderr.write(p.stderr.read())
        if cap:
            time.sleep(0.5)
            cap.send_signal(signal.SIGTERM)
            cap.wait(30)
        over = []
        for out in outs:
            with open(out) as f:
                over.extend(int(x) / 1e6 for x in f if x.strip())
        over.sort()
        result = {
            "broker": kind, "connections": n, "connected": connected, "measured": len(over),
            "keepalive": args.keepalive,
            "opener_overshoot_ms": {"p50": percentile(over, 50), "p99": percentile(over, 99), "max": over[-1] if over else None},
            "rss_base_kib": base, "rss_kib": rss,
            "rss_bytes_per_conn": (rss - base) * 1024.0 / max(1, connected),
        }
        if cap_out:
            cv, drops, unseen = capture_view(cap_out, args.keepalive)
            result["wire_overshoot_ms"] = {"p50": percentile(cv, 50), "p99": percentile(cv, 99),
                                           "max": cv[-1] if cv else None, "count": len(cv),
                                           "capture_drops": drops, "unpaired": unseen}
        if events:
            bv = broker_view(events)
            result["broker_overshoot_ms"] = {"p50": percentile(bv, 50), "p99": percentile(bv, 99),
                                             "max": bv[-1] if bv else None, "count": len(bv)}
        return result
    finally:
        broker.send_signal(signal.SIGTERM)
        try:
            broker.wait(10)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--counts", default="1000,19000")
    ap.add_argument("--keepalive", type=int, default=10)
    ap.add_argument("--rate", type=float, default=4000)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--brokers", default="flatline,mosquitto")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--prefix", default="", help="run both brokers under this command, e.g. 'chrt -f 50'")
    ap.add_argument("--opener-prefix", default="", help="run the openers under this command, e.g. 'chrt -f 40'")
    ap.add_argument("--no-capture", dest="capture", action="store_false", help="no packet capture")
    ap.add_argument("--capture-prefix", default="", help="run the capture under this command")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if not shutil.which("mosquitto") and "mosquitto" in args.brokers:
        sys.exit("mosquitto is not installed")
    results = []
    with tempfile.TemporaryDirectory(prefix="flatline-bench-broker-") as tmp:
        for n in (int(x) for x in args.counts.split(",")):
            for kind in args.brokers.split(","):
                r = run_one(kind, n, args, tmp)
                results.append(r)
                print(json.dumps(r), flush=True)
    print()
    print("| broker | connections | wire (capture) p50 / p99 / max (ms) | opener p50 / p99 / max (ms) "
          "| broker-side p50 / p99 / max (ms) | RSS per idle connection |")
    print("|---|---|---|---|---|---|")

    def trio(d):
        return "%.3f / %.3f / %.3f" % (d["p50"], d["p99"], d["max"]) if d and d.get("max") is not None else "-"
    for r in results:
        print("| %s | %d | %s | %s | %s | %.0f B |" % (
            r["broker"], r["connections"], trio(r.get("wire_overshoot_ms")), trio(r["opener_overshoot_ms"]),
            trio(r.get("broker_overshoot_ms")), r["rss_bytes_per_conn"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
