#!/usr/bin/env python3
"""Scale benchmark (issue #9): 19,000 clients on 20 hosts, Keep Alive 5 s,
10 % of the hosts lose power; the reference broker and mosquitto, one after
the other in the same invocation (scale-reference.json, scale-mosquitto.json).

For every connection the power loss cut it reports the detection overshoot:
how long after its own keep-alive deadline the broker closed it.

- wire (both brokers): from the broker host's capture (flatline run --pcap):
  the broker's FIN/RST minus (the last client segment carrying data, i.e.
  its last CONNECT/PINGREQ, + 1.5 x Keep Alive). Both times are taken by the
  same capture in the broker host. Connections whose capture missed a ping
  (the runner's capture drops packets under load) are counted, not used.
- broker-side (reference broker only): close.t - close.deadline from its event
  log, the broker's own clock.

Also the broker's and the swarms' RSS per connection (whole-process VmRSS,
sampled 1.5 s into the steady state, divided by the connections), the
accounting (every connection of the fault detected exactly once), and the
load average before and after each run.

Usage: run_scale.py --build BUILD_DIR [--out DIR] [--brokers reference,mosquitto]
                    [--realtime PRIO]
Needs root (flatline run). Exit 0 when every connection is accounted for."""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEEPALIVE_S = 5
GRACE = 1.5
BROKER_PORT = 1883


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_processes(runner_pid):
    """(pid, comm) of the processes the run started: their command lines name
    a config in the run's work directory."""
    needle = f"/tmp/flatline-fl{runner_pid}-".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{d}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if needle in cmd:
            out.append((int(d), comm))
    return out


def percentile(sorted_values, p):
    """Nearest rank, as reports/ computes it."""
    if not sorted_values:
        return None
    k = max(1, int(-(-p * len(sorted_values) // 100)))
    return sorted_values[min(k, len(sorted_values)) - 1]


def stats_ms(values_ns):
    v = sorted(values_ns)
    if not v:
        return {"count": 0}
    return {
        "count": len(v),
        "min_ms": v[0] / 1e6,
        "p50_ms": percentile(v, 50) / 1e6,
        "p99_ms": percentile(v, 99) / 1e6,
        "max_ms": v[-1] / 1e6,
    }


def read_pcap(path):
    """Per client conn "ip:port": time (ns, capture clock) of its last data
    segment to the broker, and of the broker's first FIN or RST to it."""
    last_data, first_close = {}, {}
    with open(path, "rb") as f:
        header = f.read(24)
        magic = struct.unpack("<I", header[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            endian = "<"
        else:
            endian = ">"
            magic = struct.unpack(">I", header[:4])[0]
        scale = 1 if magic == 0xA1B23C4D else 1000
        linktype = struct.unpack(endian + "I", header[20:24])[0]
        offset = {1: 14, 113: 16, 276: 20, 101: 0, 12: 0}.get(linktype)
        if offset is None:
            raise SystemExit(f"{path}: link type {linktype} not handled")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            sec, frac, caplen, _ = struct.unpack(endian + "IIII", rec)
            frame = f.read(caplen)
            t = sec * 1_000_000_000 + frac * scale
            ip = frame[offset:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            tcp = ip[ihl:]
            if len(tcp) < 20:
                continue
            sport, dport = struct.unpack("!HH", tcp[:4])
            doff = (tcp[12] >> 4) * 4
            flags = tcp[13]
            payload = total - ihl - doff
            src = ".".join(str(b) for b in ip[12:16])
            dst = ".".join(str(b) for b in ip[16:20])
            if dport == BROKER_PORT and payload > 0:
                last_data[f"{src}:{sport}"] = t
            elif sport == BROKER_PORT and flags & 0x05:
                first_close.setdefault(f"{dst}:{dport}", t)
    return last_data, first_close


def run_one(build, scenario, outdir):
    name = os.path.splitext(os.path.basename(scenario))[0]
    report = os.path.join(outdir, f"{name}.report.json")
    events = os.path.join(outdir, f"{name}.events.jsonl")
    pcapdir = os.path.join(outdir, f"{name}.pcap")
    os.makedirs(pcapdir, exist_ok=True)
    load_before = loadavg()
    log = open(os.path.join(outdir, f"{name}.log"), "w")
    proc = subprocess.Popen([os.path.join(build, "flatline"), "run", scenario, "-o", report, "--events", events,
                             "--pcap", pcapdir], stdout=log, stderr=subprocess.STDOUT)
    rss = None
    steady_seen = None
    while proc.poll() is None:
        time.sleep(0.1)
        if rss is not None:
            continue
        if steady_seen is None:
            try:
                with open(events) as f:
                    if '"phase":"steady"' in f.read():
                        steady_seen = time.monotonic()
            except OSError:
                pass
        elif time.monotonic() - steady_seen >= 1.5:
            procs = run_processes(proc.pid)
            rss = {"broker_kib": 0, "swarm_kib": 0, "swarms": 0}
            for pid, comm in procs:
                kib = rss_kib(pid) or 0
                if comm in ("flatline-broker", "mosquitto"):
                    rss["broker_kib"] += kib
                elif comm == "flatline-swarm":
                    rss["swarm_kib"] += kib
                    rss["swarms"] += 1
    log.close()
    load_after = loadavg()
    meta = {"exit": proc.returncode, "rss": rss, "load_before": load_before, "load_after": load_after}
    with open(os.path.join(outdir, f"{name}.meta.json"), "w") as f:
        json.dump(meta, f)
    return analyze(outdir, name)


def max_per_ms(times_ns):
    """The most deadlines that fall within one millisecond: a burst the broker
    works through one close at a time."""
    times = sorted(times_ns)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1_000_000:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def analyze(outdir, name):
    report = os.path.join(outdir, f"{name}.report.json")
    events = os.path.join(outdir, f"{name}.events.jsonl")
    pcapdir = os.path.join(outdir, f"{name}.pcap")
    with open(os.path.join(outdir, f"{name}.meta.json")) as f:
        meta = json.load(f)
    rss = meta["rss"]
    rep = json.load(open(report))
    fault = rep["faults"][0]
    cut = set(fault["connections"])
    total = rep["run"]["connections"]

    last_data, first_close = read_pcap(os.path.join(pcapdir, "broker.pcap"))
    period = int(GRACE * KEEPALIVE_S * 1e9)
    # The capture's clock (CLOCK_REALTIME) against the monotonic one: the
    # runner logged each captured FIN/RST as a wire event with both.
    offsets = []
    with open(events) as f:
        for line in f:
            if '"src":"wire"' in line:
                ev = json.loads(line)
                if ev["ev"] in ("broker_fin", "broker_rst") and ev["conn"] in first_close:
                    offsets.append(first_close[ev["conn"]] - ev["t"])
    offsets.sort()
    offset = offsets[len(offsets) // 2] if offsets else None
    # Under load the runner's capture drops packets. A client pings Keep Alive
    # after its last packet, so a connection whose last captured data is more
    # than Keep Alive (+ 0.25 s for a late timer) before the power loss lost a
    # ping in the capture: its wire overshoot would be too large by seconds.
    inject_rt = fault["inject_ns"] + offset if offset is not None else None
    slack = int((KEEPALIVE_S + 0.25) * 1e9)
    wire, gaps, unmatched_wire = [], 0, 0
    for c in cut:
        if c not in first_close or c not in last_data:
            unmatched_wire += 1
        elif inject_rt is not None and last_data[c] + slack < inject_rt:
            gaps += 1
        else:
            wire.append(first_close[c] - (last_data[c] + period))

    broker_side, closes = [], {}
    with open(events) as f:
        for line in f:
            if '"src":"broker"' not in line or '"ev":"close"' not in line:
                continue
            ev = json.loads(line)
            closes.setdefault(ev["conn"], []).append(ev)
    for c in cut:
        for ev in closes.get(c, []):
            if "deadline" in ev:
                broker_side.append(ev["t"] - ev["deadline"])
    detected = fault["broker"]["detected"] if isinstance(fault["broker"], dict) else None
    result = {
        "scenario": name,
        "exit": meta["exit"],
        "connections": total,
        "cut": len(cut),
        "broker_detected": detected,
        "broker_undetected": fault["broker"].get("undetected"),
        "wire_overshoot": stats_ms(wire),
        "wire_unmatched": unmatched_wire,
        "wire_capture_gaps": gaps,
        "broker_side_overshoot": stats_ms(broker_side) if closes else None,
        "rss": rss,
        "broker_bytes_per_conn": rss and rss["broker_kib"] * 1024 / total,
        "swarm_bytes_per_conn": rss and rss["swarm_kib"] * 1024 / total,
        "broker_scheduling": rep["run"].get("broker_scheduling"),
        "deadlines_max_per_ms": max_per_ms([ev["deadline"] for c in cut for ev in closes.get(c, []) if "deadline" in ev]),
        "load_before": meta["load_before"],
        "load_after": meta["load_after"],
    }
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="build directory with flatline, flatline-broker, flatline-swarm")
    ap.add_argument("--out", help="where reports, event logs and captures go (default: a new /tmp directory)")
    ap.add_argument("--brokers", default="reference,mosquitto")
    ap.add_argument("--analyze-only", action="store_true", help="recompute the numbers from the outputs in --out")
    ap.add_argument("--realtime", type=int, metavar="PRIO",
                    help="run each broker under SCHED_FIFO at PRIO (the scenario's broker.realtime_priority)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run_scale.py: needs root (flatline run)", file=sys.stderr)
        return 3
    out = args.out or tempfile.mkdtemp(prefix="flatline-scale-")
    os.makedirs(out, exist_ok=True)
    results = []
    for broker in args.brokers.split(","):
        scenario = os.path.join(HERE, f"scale-{broker}.json")
        if args.realtime and not args.analyze_only:
            with open(scenario) as f:
                doc = json.load(f)
            doc["broker"]["realtime_priority"] = args.realtime
            scenario = os.path.join(out, f"scale-{broker}.json")
            with open(scenario, "w") as f:
                json.dump(doc, f, indent=2)
        r = analyze(out, f"scale-{broker}") if args.analyze_only else run_one(args.build, scenario, out)
        results.append(r)
        print(json.dumps(r, indent=2), flush=True)
    # Accounted: the broker detected every cut connection, and (reference
    # broker) closed each exactly once at a deadline. The wire numbers are a
    # cross-check that depends on the capture keeping up.
    ok = all(r["broker_undetected"] == 0 and r["broker_detected"] == r["cut"] and
             (r["broker_side_overshoot"] is None or r["broker_side_overshoot"]["count"] == r["cut"])
             for r in results)
    print(f"outputs in {out}; every connection accounted: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
