#!/bin/bash
# Host wall time vs guest time for scenarios/kernel-defaults-unscaled.json
# (7200/75/9, cable pull, 8100 s of guest time) at several connection counts,
# through `flatline run` in virtual time; prints one Markdown table row a run
# (docs/benchmarks.md, "Virtual time"). The ICOUNT environment variable picks
# qemu's -icount shift (auto, 0..10; default auto). The residual is each
# broker-side ETIMEDOUT minus (its connection's last received packet + 7875 s):
# the model's timer-wheel slack says 0 to 139.3 s at HZ=250.
#   bench/virtual-time/kernel-defaults.sh BUILD_DIR [CONNECTIONS...]
set -euo pipefail
build=${1:?usage: kernel-defaults.sh BUILD_DIR [CONNECTIONS...]}
shift
[ $# -gt 0 ] || set -- 10 1000 10000
src=$(cd "$(dirname "$0")/../.." && pwd -P)
tmp=$(mktemp -d /tmp/vtime-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export FLATLINE_VM_ICOUNT=${ICOUNT:-auto}
echo "| connections | icount shift | host wall s | guest s | broker min..max s | client min..max s | model hi s | residual min..max s | verdict | exit |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in "$@"; do
	python3 - "$src/scenarios/kernel-defaults-unscaled.json" "$n" >"$tmp/s$n.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
s["groups"][0]["clients_per_host"] = n
for e in s["expect"]:
    if e["metric"].endswith("tcp_keepalive.count"):
        e["value"] = n
json.dump(s, sys.stdout, indent=2)
PY
	set +e
	"$build/flatline" run "$tmp/s$n.json" -o "$tmp/r$n.json" --events "$tmp/e$n.jsonl" >"$tmp/log$n" 2>&1
	status=$?
	set -e
	python3 - "$tmp/r$n.json" "$n" "$status" "$tmp/e$n.jsonl" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except OSError:
    print(f"| {sys.argv[2]} | | | | | | | | no report | {sys.argv[3]} |")
    sys.exit(0)
res = []
for line in open(sys.argv[4]):
    e = json.loads(line)
    if e.get("src") == "broker" and e.get("ev") == "close" and e.get("reason") == "tcp_keepalive":
        res.append((e["t"] - e["last_rx"]) / 1e9 - 7875)
resid = f"{min(res):.2f}..{max(res):.2f}" if res else "-"
c = r["run"]["clock"]
f = r["faults"][0]
def span(side):
    l = f[side].get("latency_s") or {}
    return f"{l.get('min', 0):.2f}..{l.get('max', 0):.2f}" if l else "-"
print(f"| {sys.argv[2]} | {c['icount']} | {c['host_wall_s']:.1f} | {c['guest_s']:.0f} | {span('broker')} | "
      f"{span('client')} | {f['broker']['model']['hi_s']:.1f} | {resid} | {f['broker']['verdict']}/{f['client']['verdict']} | {sys.argv[3]} |")
PY
done
