#!/usr/bin/env python3
"""A 4-cell sweep run whole and as 2 shards at the same time on this machine
(root, namespaces), with the very commands of the scale-out examples
(examples.py): shard 1 as the Kubernetes Indexed Job runs it, shard 2 as the
GitHub Actions matrix and as GitLab CI parallel run it. Each merge (with the
examples' merge commands) equals the whole run cell for cell: parameters,
verdicts, expectation results; the same exit code; compare's gate passes
(the examples' gate commands); JUnit and Markdown parse; every report
validates against docs/report.schema.json; merge refuses the real parts
merged twice or one missing. No namespace of any run is left.

    test_sweep_shards.py BUILD_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import examples  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEP = os.path.join(HERE, "sweep-4.json")
ROOT = examples.ROOT
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, flush=True)


def start(command, env, log):
    full = dict(os.environ)
    for k in ("FLATLINE_SHARD_INDEX", "FLATLINE_SHARD_COUNT", "JOB_COMPLETION_INDEX", "CI_NODE_INDEX",
              "CI_NODE_TOTAL", "SLURM_ARRAY_TASK_ID"):
        full.pop(k, None)
    full.update(env)
    print("$", command, " # ", " ".join(f"{k}={v}" for k, v in env.items()), flush=True)
    return subprocess.Popen(["bash", "-c", command], env=full, stdout=log, stderr=subprocess.STDOUT)


def run(command, env):
    with tempfile.TemporaryFile("w+") as log:
        p = start(command, env, log)
        p.wait()
        log.seek(0)
        return p.returncode, log.read()


def leftovers(pid):
    try:
        return [n for n in os.listdir("/run/netns") if n.startswith(f"fl{pid}-")]
    except FileNotFoundError:
        return []


def cell_facts(report):
    """What must be equal cell for cell: parameters, verdicts, expectation results."""
    out = []
    for c in report["cells"]:
        r = c["report"]
        verdicts = [[f["kind"], f["target"], f["affected"]] + [f[s]["verdict"] for s in ("broker", "client", "will")]
                    for f in r["faults"]]
        exps = [[e["metric"], e["op"], e["value"], e["pass"]] for e in r["expectations"]]
        out.append({"params": c["params"], "verdicts": verdicts, "expectations": exps, "passed": r["passed"],
                    "seed": r["run"]["seed"]})
    return out


def validate(path):
    try:
        import jsonschema
    except ImportError:
        return
    with open(os.path.join(ROOT, "docs", "report.schema.json")) as f:
        schema = json.load(f)
    with open(path) as f:
        doc = json.load(f)
    try:
        jsonschema.Draft202012Validator(schema).validate(doc)
    except jsonschema.ValidationError as e:
        check(False, f"{path}: not valid against docs/report.schema.json: {e.message} at {list(e.path)}")


def main():
    build = os.path.abspath(sys.argv[1])
    flatline = os.path.join(build, "flatline")
    cmds = examples.commands()
    tmp = tempfile.mkdtemp(prefix="flatline-shards-")
    dirs = {name: os.path.join(tmp, name) for name in ("whole", "gh", "gl", "k8s")}
    for d in dirs.values():
        os.makedirs(d)
    base = {"SWEEP": SWEEP}

    # All four at once: the whole sweep and three shards.
    runs = {
        "whole": (f"{flatline} run {SWEEP} -o {dirs['whole']}/sweep.json", {}),
        "k8s shard 1": (examples.local(cmds["kubernetes"]["shard"], flatline),
                        {"REPORTS": dirs["gh"], "JOB_COMPLETION_INDEX": "0", "FLATLINE_SHARD_COUNT": "2"}),
        "github shard 2": (examples.local(cmds["github"]["shard"], flatline, shard=2, total=2),
                           {"REPORTS": dirs["gh"]}),
        "gitlab shard 2": (examples.local(cmds["gitlab"]["shard"], flatline),
                           {"REPORTS": dirs["gl"], "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "2"}),
    }
    procs = {}
    for name, (command, env) in runs.items():
        log = open(os.path.join(tmp, name.replace(" ", "-") + ".log"), "w+")
        procs[name] = (start(command, {**base, **env}, log), log)
    codes = {}
    for name, (p, log) in procs.items():
        codes[name] = p.wait()
        log.seek(0)
        text = log.read()
        if codes[name] != 0:
            print(f"--- {name} (exit {codes[name]}) ---\n{text}", flush=True)
        check(not leftovers(p.pid), f"{name}: namespaces left: {leftovers(p.pid)}")
        if "shard" in name:
            check("shard " in text and ("Kubernetes" in text if "k8s" in name else
                                        "GitLab" in text if "gitlab" in name else "--shard 2/2" in text),
                  f"{name}: does not say which shard and where it came from")
    check(codes["whole"] == 0, f"the whole sweep exited {codes['whole']}")

    with open(f"{dirs['whole']}/sweep.json") as f:
        whole = json.load(f)
    for part in ("gh/part-0.json", "gh/part-2.json", "gl/part-2.json"):
        path = os.path.join(tmp, part)
        validate(path)
        with open(path) as f:
            p = json.load(f)
        check(p["shard"]["count"] == 2 and p["scenario"]["sha256"] == whole["scenario"]["sha256"],
              f"{part}: not shard of 2 of this sweep: {p.get('shard')}")
    shutil.copy(f"{dirs['gh']}/part-0.json", dirs["gl"])
    for f in ("part-0.json", "part-2.json"):
        shutil.copy(f"{dirs['gh']}/{f}", dirs["k8s"])

    merges = {"gh": cmds["github"]["merge"], "gl": cmds["gitlab"]["merge"], "k8s": cmds["kubernetes"]["merge"]}
    gates = {"gh": cmds["github"]["gate"], "gl": cmds["gitlab"]["gate"]}
    for d, command in merges.items():
        code, out = run(examples.local(command, flatline), {"REPORTS": dirs[d]})
        check(code == codes["whole"], f"{d}: merge exited {code}, the whole run {codes['whole']}:\n{out}")
        path = f"{dirs[d]}/sweep.json"
        validate(path)
        with open(path) as f:
            merged = json.load(f)
        check("shard" not in merged, f"{d}: the merged report still has a shard")
        for key in ("matrix", "passed"):
            check(merged[key] == whole[key], f"{d}: {key}: {merged[key]} vs the whole run's {whole[key]}")
        check(merged["scenario"] == whole["scenario"], f"{d}: scenario differs")
        check(merged["run"]["complete"] == whole["run"]["complete"] and
              merged["run"]["connections"] == whole["run"]["connections"], f"{d}: run totals differ")
        mf, wf = cell_facts(merged), cell_facts(whole)
        check(len(mf) == 4 and len(wf) == 4, f"{d}: {len(mf)} merged cells, {len(wf)} whole")
        for i, (m, w) in enumerate(zip(mf, wf)):
            check(m == w, f"{d}: cell {i}: merged {m}\n  whole {w}")
        check(subprocess.run(["xmllint", "--noout", "--schema", os.path.join(ROOT, "tests/compare/junit.xsd"),
                              f"{dirs[d]}/junit.xml"], capture_output=True).returncode == 0
              if shutil.which("xmllint") else True, f"{d}: junit.xml does not validate")
        with open(f"{dirs[d]}/junit.xml") as f:
            check(f.read().count("<testsuite ") == 4, f"{d}: junit.xml has not one suite per cell")
        with open(f"{dirs[d]}/summary.md") as f:
            check("4 of 4 cells ran" in f.read(), f"{d}: summary.md does not say 4 of 4 cells ran")
        if d in gates:
            code, out = run(examples.local(gates[d], flatline), {"REPORTS": dirs[d]})
            check(code == 0, f"{d}: the gate exited {code}:\n{out}")

    # plot reads the merged report like any sweep (its assets come from npm: without them, exit 3).
    code, out = run(f"{flatline} plot {dirs['gh']}/sweep.json -o {tmp}/sweep.html --metric broker.p99", {})
    if code == 3:
        print("note: flatline plot's assets are missing (./setup.sh runs npm ci): plot not checked", flush=True)
    else:
        check(code == 0, f"plot of the merged report: exit {code}: {out}")
        with open(f"{tmp}/sweep.html") as f:
            check(f.read().count('"broker.p99"') >= 4, "plot: no broker.p99 for every cell")

    # Real parts that do not merge.
    code, out = run(f"{flatline} merge {dirs['gh']}/part-0.json {dirs['gh']}/part-2.json {dirs['gl']}/part-2.json "
                    f"-o {tmp}/dup.json", {})
    check(code == 2 and "is in two parts" in out and "gl/part-2.json" in out and "cell 1 (" in out,
          f"a shard merged twice: exit {code}: {out}")
    code, out = run(f"{flatline} merge {dirs['gh']}/part-0.json -o {tmp}/half.json", {})
    check(code == 2 and "cell 1 (" in out and "shard 2 of 2 is missing" in out, f"a missing shard: exit {code}: {out}")
    check(not os.path.exists(f"{tmp}/dup.json") and not os.path.exists(f"{tmp}/half.json"),
          "a refused merge wrote a report")

    if not failures:
        shutil.rmtree(tmp)
    else:
        print("kept", tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
