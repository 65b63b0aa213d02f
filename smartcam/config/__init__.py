"""smartcam.conf: the one settings file, its schema, and the tools that read and write it."""

from smartcam.config.parse import (
    Config,
    ConfigProblems,
    Problem,
    default,
    from_text,
    load,
    load_or_exit,
    setting_problem,
)
from smartcam.config.schema import SECTIONS, SETTINGS, Setting
from smartcam.config.values import HostPort

__all__ = [
    "SECTIONS",
    "SETTINGS",
    "Config",
    "ConfigProblems",
    "HostPort",
    "Problem",
    "Setting",
    "default",
    "from_text",
    "load",
    "load_or_exit",
    "setting_problem",
]
