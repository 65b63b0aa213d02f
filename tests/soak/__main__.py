"""`python -m tests.soak`: run a soak and print its report as JSON; exit 1 if a goal is missed."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tests.net import netns
from tests.soak import stage
from tests.soak.run import soak


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="how long to keep breaking things after the first round of every "
                             "fault (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="the fault script's random seed")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR (new or empty) and keep the logs, configs and clips")
    args = parser.parse_args()
    if reason := netns.problem() or stage.problem():
        print(f"cannot soak here: {reason}", file=sys.stderr)
        return 2
    root = args.keep or Path(tempfile.mkdtemp(prefix="smartcam-soak-", dir="/var/tmp"))
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        print(f"{args.keep} is not empty: give a new or empty folder", file=sys.stderr)
        return 2
    try:
        report = soak(root / "site", args.minutes, args.seed)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0 if report["goals_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
