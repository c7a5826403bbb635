#!/usr/bin/env python3
"""The scale-out examples (docs/scale-out/*.yaml): they parse, they say what
docs/scale-out.md says (capabilities, counts, artifacts), and they give the
flatline commands they run, rewritten to run here, so that the end-to-end
test (test_sweep_shards.py) runs exactly those commands.

    examples.py check     # parse and check every example; exit 1 naming what is wrong
"""
import os
import re
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DIR = os.path.join(ROOT, "docs", "scale-out")


def load(name):
    with open(os.path.join(DIR, name)) as f:
        return list(yaml.safe_load_all(f))


def flatline_lines(text):
    """The lines of a shell snippet that run flatline."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"^(sudo (-E )?)?(build/)?flatline ", line):
            out.append(line)
    return out


def step(job, name):
    for s in job["steps"]:
        if s.get("name") == name:
            return s
    raise AssertionError(f"github-actions.yaml: no step named {name!r}")


def commands():
    """{example: {role: command}} as written in the files."""
    k8s = load("kubernetes.yaml")
    shard_c = k8s[0]["spec"]["template"]["spec"]["containers"][0]
    merge_c = k8s[1]["spec"]["template"]["spec"]["containers"][0]
    gh = load("github-actions.yaml")[0]["jobs"]
    gl = load("gitlab-ci.yaml")[0]
    return {
        "kubernetes": {
            "shard": flatline_lines(shard_c["args"][0])[0],
            "merge": flatline_lines(merge_c["args"][0])[0],
        },
        "github": {
            "shard": flatline_lines(step(gh["shard"], "run the shard")["run"])[0],
            "merge": flatline_lines(step(gh["merge"], "merge")["run"])[0],
            "gate": flatline_lines(step(gh["merge"], "gate")["run"])[0],
        },
        "gitlab": {
            "shard": flatline_lines("\n".join(gl["flatline-shard"]["script"]))[0],
            "merge": flatline_lines("\n".join(gl["flatline-merge"]["script"]))[0],
            "gate": flatline_lines("\n".join(gl["flatline-merge"]["script"]))[1],
        },
    }


def local(command, flatline, shard=None, total=None):
    """A command of an example as this machine runs it: flatline from the
    build tree, no sudo (the test is root), GitHub's expressions filled in."""
    command = re.sub(r"^sudo (-E )?", "", command)
    command = re.sub(r"^(build/)?flatline ", flatline + " ", command)
    if shard is not None:
        command = command.replace("${{ matrix.shard }}", str(shard))
    if total is not None:
        command = command.replace("${{ strategy.job-total }}", str(total))
    assert "${{" not in command, command
    return command


def check():
    problems = []

    def want(ok, what):
        if not ok:
            problems.append(what)

    k8s = load("kubernetes.yaml")
    want(len(k8s) == 2, "kubernetes.yaml: expected the shards' Job and the merge Job")
    spec = k8s[0]["spec"]
    want(spec.get("completionMode") == "Indexed", "kubernetes.yaml: completionMode is not Indexed")
    c = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    want(str(spec.get("completions")) == env.get("FLATLINE_SHARD_COUNT"),
         "kubernetes.yaml: FLATLINE_SHARD_COUNT is not .spec.completions")
    sc = c.get("securityContext", {})
    caps = set(sc.get("capabilities", {}).get("add", []))
    want(sc.get("privileged") or {"NET_ADMIN", "SYS_ADMIN", "NET_RAW"} <= caps,
         "kubernetes.yaml: the shard needs privileged or NET_ADMIN, SYS_ADMIN, NET_RAW")
    for i, job in enumerate(k8s):
        mounts = {m["mountPath"] for m in job["spec"]["template"]["spec"]["containers"][0].get("volumeMounts", [])}
        want("/reports" in mounts, f"kubernetes.yaml: document {i} does not mount the reports volume")

    gh = load("github-actions.yaml")[0]["jobs"]
    shards = gh["shard"]["strategy"]["matrix"]["shard"]
    want(shards == list(range(1, len(shards) + 1)), "github-actions.yaml: matrix.shard is not 1..N")
    want(gh["merge"].get("needs") == "shard" and "always()" in str(gh["merge"].get("if")),
         "github-actions.yaml: the merge job must need the shards and run always()")
    uses = [s.get("uses", "") for j in gh.values() for s in j["steps"]]
    want(any(u.startswith("actions/upload-artifact") for u in uses), "github-actions.yaml: no artifact upload")
    want(any(u.startswith("actions/download-artifact") for u in uses), "github-actions.yaml: no artifact download")
    want("GITHUB_STEP_SUMMARY" in step(gh["merge"], "merge")["run"], "github-actions.yaml: no step summary")

    gl = load("gitlab-ci.yaml")[0]
    want(isinstance(gl["flatline-shard"].get("parallel"), int), "gitlab-ci.yaml: flatline-shard has no parallel: N")
    want(gl["flatline-merge"].get("needs") == ["flatline-shard"], "gitlab-ci.yaml: the merge must need the shards")
    want(gl["flatline-merge"]["artifacts"]["reports"].get("junit"), "gitlab-ci.yaml: no JUnit report")

    cmds = commands()
    for engine, roles in cmds.items():
        want("--shard" in roles["shard"], f"{engine}: the shard command has no --shard")
        want(" merge " in roles["merge"] and "part-*.json" in roles["merge"] and "--junit" in roles["merge"],
             f"{engine}: the merge command does not merge the parts with --junit")
        if "gate" in roles:
            want("--fail-on" in roles["gate"], f"{engine}: the gate has no --fail-on")
    want("--shard auto" in cmds["kubernetes"]["shard"] and "--shard auto" in cmds["gitlab"]["shard"],
         "kubernetes/gitlab: the shard commands use --shard auto")

    with open(os.path.join(ROOT, "docs", "scale-out.md")) as f:
        doc = f.read()
    for name in ("kubernetes.yaml", "github-actions.yaml", "gitlab-ci.yaml"):
        want(f"scale-out/{name}" in doc, f"docs/scale-out.md does not point to scale-out/{name}")

    for p in problems:
        print("FAIL:", p)
    if not problems:
        for engine, roles in cmds.items():
            for role, c in roles.items():
                print(f"{engine} {role}: {c}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1:] == ["check"] else 2)
