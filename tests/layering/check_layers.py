#!/usr/bin/env python3
"""The layering habit, checked: no include cycle between modules, no production
file over 800 lines, no module folder of more than 25 production files.

A module is a top-level folder (core/, mqtt/, model/, ...) or, under harness/,
one of its sub-folders (harness/cli/, harness/scenario/, harness/run/). Only
quoted includes with a folder ("netem/netem.h") name another module; a bare
"x.h" is the file's own module. Usage: check_layers.py [SOURCE_DIR]
Exit 0 when the tree keeps the habit, 1 with one line a breach."""
import os
import re
import sys

PRODUCTION = ["core", "mqtt", "model", "broker", "clients", "netem", "reports", "harness"]
MAX_LINES = 800
MAX_FILES = 25
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(rel):
    parts = rel.split("/")
    if parts[0] == "harness" and len(parts) > 2:
        return "harness/" + parts[1]
    if len(parts) > 2 and parts[0] in ("clients",) and parts[1] == "adapters":
        return "/".join(parts[:3]) if len(parts) > 3 else "clients/adapters"
    return parts[0]


def production_files(top):
    for root_dir in PRODUCTION:
        base = os.path.join(top, root_dir)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d not in ("node_modules", "plot-assets")]
            for name in filenames:
                if name.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, name), top)


def include_target_module(inc, modules):
    """The module an include names, or None for one inside the file's own folder."""
    if "/" not in inc:
        return None
    head = inc.split("/")
    for depth in (3, 2, 1):
        cand = "/".join(head[:depth])
        if cand in modules and len(head) > depth:
            return cand
    return None


def find_cycle(edges):
    """One cycle in the module graph as a list of modules, or None (depth-first search)."""
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def check(top):
    files = sorted(production_files(top))
    modules = {module_of(f) for f in files}
    breaches = []
    edges = {}
    why = {}
    per_module = {}
    for f in files:
        mod = module_of(f)
        per_module[mod] = per_module.get(mod, 0) + 1
        with open(os.path.join(top, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        lines = text.count("\n")
        if lines > MAX_LINES:
            breaches.append(f"{f}: {lines} lines (more than {MAX_LINES}): split it along its jobs")
        for inc in INCLUDE.findall(text):
            target = include_target_module(inc, modules)
            if target and target != mod:
                edges.setdefault(mod, set()).add(target)
                why.setdefault((mod, target), f"{f} includes \"{inc}\"")
    for mod, count in sorted(per_module.items()):
        if count > MAX_FILES:
            breaches.append(f"{mod}/: {count} production files (more than {MAX_FILES}): it holds more than one module")
    cycle = find_cycle(edges)
    if cycle:
        steps = "; ".join(why[(a, b)] for a, b in zip(cycle, cycle[1:]))
        breaches.append("include cycle between modules " + " -> ".join(cycle) + ": " + steps)
    return breaches, edges


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    breaches, edges = check(os.path.abspath(top))
    for b in breaches:
        print("check_layers: " + b)
    if "-v" in sys.argv:
        for mod in sorted(edges):
            print(f"{mod} -> {', '.join(sorted(edges[mod]))}")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
