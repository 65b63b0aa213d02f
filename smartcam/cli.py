"""The `smartcam` command: one subcommand per program, each imported only when run."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from smartcam import __version__
from smartcam.errors import SmartcamError

# subcommand -> (module whose run(args) -> int does the work, help)
COMMANDS = {
    "camera": ("smartcam.camera.process", "run the realtime camera process"),
    "host": ("smartcam.host.process", "run the web page, API, NAS uploader and retention"),
    "motion-scan": ("smartcam.camera.scan", "run the motion detector over a recorded video"),
    "config": ("smartcam.config.check", "check smartcam.conf and print the effective settings"),
    "demo": ("smartcam.demo.run", "run simulated cameras with their spool under ./demo/"),
}
CONFIG_HELP = "smartcam.conf to read (default: $SMARTCAM_CONF, /boot/firmware/smartcam.conf)"


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name == "config":
        p.add_argument("action", choices=["check"], help="check: validate and print")
        p.add_argument("file", nargs="?", help=CONFIG_HELP)
    elif name == "motion-scan":
        p.add_argument("video", help="a recorded video (any format FFmpeg reads)")
        p.add_argument("--config", help=CONFIG_HELP + "; only [motion] is used")
    elif name in ("camera", "host"):
        p.add_argument("--config", help=CONFIG_HELP)
    elif name == "demo":
        p.add_argument("--duration", type=float, help="stop after this many seconds")
        p.add_argument("--dir", default="demo", help="where the demo keeps its files")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smartcam", description=__doc__)
    parser.add_argument("--version", action="version", version=f"smartcam {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(module=module)
        add_arguments(name, p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(importlib.import_module(args.module).run(args))
    except SmartcamError as err:
        print(f"smartcam {args.command}: {err}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        return 130
