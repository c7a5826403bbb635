#!/usr/bin/env python3
"""docs/scenario.schema.json is a valid JSON Schema (draft 2020-12), every
shipped scenario satisfies it, and the bad scenarios whose fault is one of
shape (a type, a range, an unknown field) violate it too. Exit 77 (skipped)
without python3-jsonschema."""
import glob
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed: skipped")
    sys.exit(77)

root = sys.argv[1]
schema = json.load(open(os.path.join(root, "docs/scenario.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
failed = 0
for path in sorted(glob.glob(os.path.join(root, "scenarios/*.json")) + glob.glob(os.path.join(root, "scenarios/stacks/*.json"))):
    errors = list(validator.iter_errors(json.load(open(path))))
    if errors:
        failed += 1
        print(f"{path}: {errors[0].json_path}: {errors[0].message}")
# Shape errors the schema can express as well as flatline validate.
shape_errors = ["future-version", "unknown-top-field", "missing-groups", "empty-groups", "wrong-type-keepalive",
                "keepalive-range", "negative-duration", "fault-kind", "expect-bad-op", "broker-option-type",
                "broker-kind-unknown", "command-empty", "command-model-field", "command-model-range"]
for name in shape_errors:
    path = os.path.join(root, "tests/bad-scenarios", name + ".json")
    if validator.is_valid(json.load(open(path))):
        failed += 1
        print(f"{path}: the schema accepts it, flatline validate does not")
print(f"schema: {failed} problem(s)")
sys.exit(1 if failed else 0)
