"""`smartcam config check [FILE]`: validate smartcam.conf and print the effective settings."""

from __future__ import annotations

import argparse
import sys

from smartcam.config.parse import load, report
from smartcam.errors import ConfigError


def run(args: argparse.Namespace) -> int:
    """Print the effective config (secrets masked) and return 0, or every problem and 78."""
    try:
        cfg = load(args.file)  # None: $SMARTCAM_CONF, the boot partition, or defaults
    except ConfigError as err:
        report(err)
        return err.exit_status
    sys.stdout.write(cfg.as_text(mask_secrets=True))
    return 0
