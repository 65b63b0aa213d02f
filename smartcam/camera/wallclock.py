"""Is the wall clock set? A Raspberry Pi has no real-time clock: until NTP answers, its clock
says whatever fake-hwclock saved at the last shutdown (or 1970), and clips recorded meanwhile
carry that time in their names. The kernel knows: adjtimex() answers TIME_ERROR while no time
service has synchronised the clock (systemd-timesyncd, chrony and ntpd all tell it)."""

from __future__ import annotations

import ctypes

TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised
_TIMEX_BYTES = 512  # more than struct timex on any architecture; modes = 0 only reads


def synced() -> bool | None:
    """True when a time service keeps the clock, False when none has yet, None if unknown."""
    try:
        state = ctypes.CDLL(None, use_errno=True).adjtimex(ctypes.create_string_buffer(
            _TIMEX_BYTES))
    except (OSError, AttributeError):  # not Linux, or a libc without it
        return None
    return None if state < 0 else state != TIME_ERROR
