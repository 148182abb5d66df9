#!/usr/bin/env python3
"""tests/integration/run.py — runs every integration test module against the built binary.

usage: run.py --binary build/restable --database-url postgresql://... [-k test] [-m module]
"""
import argparse
import importlib
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# every test_*.py beside this file, in name order: a new module needs no registration
MODULES = sorted(name[:-3] for name in os.listdir(HERE)
                 if name.startswith("test_") and name.endswith(".py"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("-k", default="")
    parser.add_argument("-m", "--module", default="",
                        help="run only modules containing this (a comma-separated list: any of them)")
    args = parser.parse_args()
    harness.BINARY = os.path.abspath(args.binary)
    harness.DATABASE_URL = args.database_url

    passed, failed = 0, []
    for name in MODULES:
        if not any(part in name for part in args.module.split(",")):
            continue
        module = importlib.import_module(name)
        context = module.setup() if hasattr(module, "setup") else None
        try:
            for attribute in sorted(dir(module)):
                if not attribute.startswith("test_") or args.k not in attribute:
                    continue
                function = getattr(module, attribute)
                started = time.time()
                try:
                    function(context) if context is not None else function()
                    passed += 1
                    print(f"ok   {name}.{attribute} ({time.time() - started:.2f}s)", flush=True)
                except Exception:  # a failing test must not stop the others
                    failed.append(f"{name}.{attribute}")
                    print(f"FAIL {name}.{attribute}\n{traceback.format_exc(limit=-2)}", flush=True)
        finally:
            if hasattr(module, "teardown"):
                module.teardown(context)
    print(f"\n{passed} passed, {len(failed)} failed")
    for name in failed:
        print(f"  failed: {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
