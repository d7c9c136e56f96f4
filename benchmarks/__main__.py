"""``python -m benchmarks [NAMES...] [--quick] [--json FILE]``: run and print ratios."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks")
    p.add_argument("names", nargs="*", help="benchmark modules (e.g. node), default: all")
    p.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    p.add_argument("--json", default=None, help="also write all rows to this JSON file")
    args = p.parse_args(argv)
    here = Path(__file__).parent
    mods = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if args.names:
        mods = [m for m in mods if m[len("bench_"):] in args.names or m in args.names]
    allrows = {}
    for m in mods:
        mod = importlib.import_module(f"benchmarks.{m}")
        print(f"== {m} ==", flush=True)
        rows = mod.run(quick=args.quick)
        allrows[m] = rows
        for r in rows:
            print("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in r.items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(allrows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
