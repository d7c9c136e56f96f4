"""The ``controlml`` command line."""

from __future__ import annotations

import argparse
import sys
import textwrap

from .errors import ControlMLError

_REPRODUCE_HELP = textwrap.dedent("""\
    Run the paper's experiments and write OUT/index.html and OUT/results.json.

    With no NAMES every experiment runs: a few minutes at full size, about a minute
    with --quick.  `controlml list` prints every name.""")

_REPRODUCE_EPILOG = textwrap.dedent("""\
    data layouts accepted by --data-dir (looked for in the folder itself and in its
    sub-folders one level down; nothing is downloaded):
      rt-polarity/rt-polarity.pos + rt-polarity.neg   sentence polarity (Pang & Lee)
      aclImdb/train/{pos,neg}/*.txt (+ test/)          Stanford IMDB review tree
      a CSV with columns review,sentiment              Kaggle IMDB (e.g. IMDB Dataset.csv)
    experiments whose data are not given are listed as skipped with the reason.

    exit status: 0 all checks hold, 1 a check failed or an experiment raised,
    2 bad arguments (nothing is run), 130 interrupted (an earlier report is kept).""")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="controlml", description=(
        "Machine learning as control: reproduce the figures and claims of Zuazua's survey."))
    p.add_argument("--version", action="version", version=f"controlml {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="run experiments and write DIR/index.html",
                       description=_REPRODUCE_HELP, epilog=_REPRODUCE_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("names", nargs="*", help=(
        "experiment names (thm3.3), prefixes (thm3) or sections (sec3); none means every "
        "experiment (minutes at full size); `controlml list` prints them"))
    r.add_argument("--quick", action="store_true", help="small sizes (seconds, for tests)")
    r.add_argument("--out", default="report", help=(
        "report folder, created if missing (default: report); an earlier report there is "
        "replaced only when the run completes"))
    r.add_argument("--data-dir", default=None, help=(
        "existing folder with user-supplied data sets (layouts below)"))
    r.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    r.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sub.add_parser("list", help="print the registry of experiments")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .reproduce import SECTIONS, registry, reproduce

    if args.command == "list":
        for key, title in SECTIONS.items():
            exps = [e for e in registry() if e.section == key]
            if exps:
                print(title)
                for e in exps:
                    print(f"  {e.name:<16} {e.title}")
        return 0
    if args.jobs < 1:
        print("controlml: error: --jobs must be >= 1", file=sys.stderr)
        return 2
    try:
        rep = reproduce(args.names, quick=args.quick, out=args.out,
                        data_dir=args.data_dir, jobs=args.jobs, seed=args.seed,
                        progress=not args.no_progress)
    except ControlMLError as exc:
        print(f"controlml: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"controlml: interrupted; no report written (an earlier report in {args.out!r} "
              "is unchanged)", file=sys.stderr)
        return 130
    for r in rep.results:
        bad = [c for c in r.checks if not c.holds]
        line = f"{r.status:>8}  {r.name:<16} {len(r.checks) - len(bad)}/{len(r.checks)} checks"
        if r.status == "skipped":
            line += "  " + " ".join(r.error.split())
        elif r.status == "error":
            line += "  " + r.error.strip().splitlines()[-1]
        print(line)
    print(f"report: {rep.index.resolve()}")
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())
