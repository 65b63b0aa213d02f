"""The `smartcam` command: one subcommand per program, each imported only when run."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from smartcam import __version__
from smartcam.errors import SmartcamError

# subcommand -> (module whose run(args) -> int does the work, help)
COMMANDS = {
    "camera": ("smartcam.camera.process", "run the realtime camera process"),
    "host": ("smartcam.host.process", "run the web page, API, NAS uploader and retention"),
    "master": ("smartcam.master.process", "run the master: all cameras on one page, with a login"),
    "motion-scan": ("smartcam.camera.scan", "run the motion detector over a recorded video"),
    "config": ("smartcam.config.check", "check smartcam.conf and print the effective settings"),
    "demo": ("smartcam.demo.run", "run simulated cameras with their spool under ./demo/"),
    "system": (
        "smartcam.system.bootconfig",
        "apply smartcam.conf's [system] settings and NAS to this machine (the boot service)",
    ),
}
# `smartcam system ACTION`: the boot service's programs (roles smartcam_bootconfig, smartcam_nas)
SYSTEM_ACTIONS = {
    "apply": (
        "smartcam.system.bootconfig",
        "validate smartcam.conf, then apply [system] and mount the NAS, or report why not",
    ),
    "check-mount-settings": (
        "smartcam.system.automount",
        "check how the NAS is to be mounted (/etc/smartcam/nas-mount.json, from Ansible)",
    ),
    "save-settings": (
        "smartcam.system.settings",
        "write the web page's settings into smartcam.conf as root (one request on stdin)",
    ),
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
    elif name == "master":
        p.add_argument("--config", help=CONFIG_HELP)
        p.add_argument("--hash-password", action="store_true",
                       help="print a hash of a password for [master] password_hash, and exit")
        p.add_argument("--nginx-site", action="store_true",
                       help="print the nginx site for this config (TLS, NAS), and exit")
        p.add_argument("--standalone-nginx", metavar="DIR",
                       help="write an nginx.conf for the master alone in DIR (the demo's), "
                       "making the certificate if needed; print its path, and exit")
        p.add_argument("--make-certificate", action="store_true",
                       help="make the self-signed certificate unless there is one, and exit")
    elif name == "demo":
        p.add_argument("--duration", type=float, help="stop after this many seconds")
        p.add_argument("--dir", default="demo", help="where the demo keeps its files")
    elif name == "system":
        actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
        for action, (module, help_text) in SYSTEM_ACTIONS.items():
            a = actions.add_parser(action, help=help_text, description=help_text)
            a.set_defaults(module=module)
            if action == "apply":
                a.add_argument("--config", help=CONFIG_HELP)
                a.add_argument(
                    "--root", default="/", type=Path, help="apply to a tree, not this machine"
                )
                a.add_argument(
                    "--ssh-user", default="", help="whose authorized_keys (default: uid 1000)"
                )
                a.add_argument(
                    "--dry-run", action="store_true", help="say what would change, change nothing"
                )
            elif action == "check-mount-settings":
                a.add_argument("file", help="the mount settings (JSON) to check")
            elif action == "save-settings":
                a.add_argument("--config", help=CONFIG_HELP)


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
