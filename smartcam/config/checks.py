"""Rules across settings: each is reported on one key, with what is wrong and what is allowed."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from smartcam.config import values as v
from smartcam.config.schema import MIN_SECRET

SPOOL_SHARE = 0.75  # of the spool the longest clip may take


@dataclass(frozen=True)
class Check:
    """A rule across settings, reported on `key` (its line, or else the first of `uses` set)."""

    key: tuple[str, str]
    uses: tuple[tuple[str, str], ...]
    test: Callable[..., str | None]  # given the values of key and uses; returns what is wrong


def _secret_problem(secret: str, enabled: bool) -> str | None:
    if not enabled or len(secret) >= MIN_SECRET:
        return None
    what = f"too short ({len(secret)} characters)" if secret else "needed when enabled = true"
    return (
        f"{what}: the same random text of at least {MIN_SECRET} characters on every camera of "
        "the group, for example the output of: openssl rand -hex 16 "
        "(or set enabled = false to record alone)"
    )


def _spool_holds_a_clip(spool: int, bitrate: int, max_clip: float, pre: float) -> str | None:
    """The longest clip (with its pre-roll and a keyframe interval more) must fit in three
    quarters of the spool, leaving room for the clip before it to be finished and uploaded."""
    clip = bitrate / 8 * (max_clip + pre + 1)
    if clip <= spool * SPOOL_SHARE:
        return None
    return (f"is too small for one clip: [camera] bitrate x (max_clip + pre_record + 1 s) is "
            f"{_mib(clip)}, more than three quarters of the spool; raise spool_size to "
            f"{_mib(clip / SPOOL_SHARE)} or more (and the RAM disk with it), or lower [camera] "
            "bitrate or max_clip")


def _mib(size: float) -> str:
    return f"{math.ceil(size / 2**20)}M"


def _share_shape(share: str, kind: str) -> str | None:
    if not share:
        return None
    if kind in ("local", "mount"):
        return f"must be empty when type = {kind}"
    if kind == "cifs" and not re.fullmatch(r"//[^/\s]+/\S.*", share):
        return "expected //server/share for type = cifs"
    if kind == "nfs" and not re.fullmatch(r"[^:/\s]+:/\S*", share):
        return "expected server:/export/path for type = nfs"
    return None


CHECKS = (
    Check(
        ("camera", "lores"),
        (("camera", "resolution"),),
        lambda lo, hi: (
            None
            if lo[0] <= hi[0] and lo[1] <= hi[1]
            else f"must not be larger than resolution = {hi[0]}x{hi[1]} in either direction"
        ),
    ),
    Check(
        ("camera", "max_clip"),
        (("camera", "pre_record"),),
        lambda clip, pre: (
            None if clip > pre else f"must be more than pre_record = {v.number_text(pre)}"
        ),
    ),
    Check(("storage", "share"), (("storage", "type"),), _share_shape),
    Check(
        ("storage", "spool_size"),
        (("camera", "bitrate"), ("camera", "max_clip"), ("camera", "pre_record")),
        _spool_holds_a_clip,
    ),
    Check(
        ("system", "wifi_country"),
        (("system", "wifi_ssid"),),
        lambda country, ssid: "needed when wifi_ssid is set" if ssid and not country else None,
    ),
    Check(("peers", "secret"), (("peers", "enabled"),), _secret_problem),
    Check(
        ("mqtt", "broker"),
        (("mqtt", "enabled"),),
        lambda broker, on: "needed when enabled = true: the broker's host name or address"
        if on and broker is None else None,
    ),
    Check(
        ("rtsp", "password"),
        (("rtsp", "username"),),
        lambda password, user: "needed with username, and only with it"
        if bool(password) != bool(user) else None,
    ),
    Check(
        ("mqtt", "ca_file"),
        (("mqtt", "tls"),),
        lambda ca, tls: "only with tls = true" if ca is not None and not tls else None,
    ),
    Check(
        ("master", "key"),
        (("master", "certificate"),),
        lambda key, cert: "needed with certificate, and only with it"
        if (key is None) != (cert is None) else None,
    ),
)
