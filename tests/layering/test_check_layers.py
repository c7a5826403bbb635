#!/usr/bin/env python3
"""The layering check itself: silent on a clean tree, and it names each breach
planted in a throw-away tree (an include cycle between two modules, a file over
800 lines, a folder of 26 files)."""
import os
import subprocess
import sys
import tempfile

CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layers.py")


def write(top, rel, text):
    path = os.path.join(top, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


def run(top):
    p = subprocess.run([sys.executable, CHECK, top], capture_output=True, text=True)
    return p.returncode, p.stdout


def main():
    failures = []
    with tempfile.TemporaryDirectory() as top:
        write(top, "core/clock.h", "int now(void);\n")
        write(top, "netem/netem.h", '#include "core/clock.h"\n')
        write(top, "harness/run/run.c", '#include "netem/netem.h"\n#include "run.h"\n')
        code, out = run(top)
        if code != 0 or out:
            failures.append(f"clean tree: exit {code}, output {out!r}")
        # A cycle: core -> harness/run -> netem -> core.
        write(top, "core/loop.c", '#include "harness/run/run.h"\n')
        code, out = run(top)
        if code != 1 or "include cycle between modules" not in out or "core/loop.c includes" not in out:
            failures.append(f"planted cycle not named: exit {code}, output {out!r}")
        os.remove(os.path.join(top, "core/loop.c"))
        write(top, "broker/big.c", "int x;\n" * 801)
        code, out = run(top)
        if code != 1 or "broker/big.c: 801 lines" not in out:
            failures.append(f"long file not named: exit {code}, output {out!r}")
        os.remove(os.path.join(top, "broker/big.c"))
        for i in range(26):
            write(top, f"mqtt/f{i}.c", "int y;\n")
        code, out = run(top)
        if code != 1 or "mqtt/: 26 production files" not in out:
            failures.append(f"crowded folder not named: exit {code}, output {out!r}")
    for f in failures:
        print("FAIL " + f)
    print(f"{4 - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
