"""How often the host's background parts run, in seconds: one holder for every interval.

Production uses the defaults; tests shrink them with `dataclasses.replace` (a named fixture says
why), so a test never waits a minute for something that happens every minute.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    # storage: the uploader and its spool keeper
    rescan: float = 30.0  # look at the outbox even without an inotify event
    budget: float = 1.0  # how often the spool keeper checks the spool's size
    drop_grace: float = 60.0  # while the NAS takes clips, a clip waits this long before a drop
    backoff_first: float = 1.0  # a failed upload is retried after this, doubling ...
    backoff_cap: float = 60.0  # ... up to this
    confirm_after: float = 60.0  # an uploaded clip is looked for on the NAS again, and its
    # spool copy deleted, after this: a NAS writes a rename from memory to its disk within
    # 5 s (ext4) to 30 s (btrfs), so a power cut there before then loses the clip
    mount_poll: float = 2.0  # look at mountinfo to notice the NAS going or coming back
    tick: float = 0.5  # the longest a loop waits before looking at stop
    # storage: retention
    retention_first: float = 30.0  # the first trim, soon after the host starts
    retention_every: float = 600.0
    # cooperation
    mdns_refresh: float = 5.0  # our addresses checked, known peers re-read from the cache
    discovery_tick: float = 1.0
    discovery_write: float = 60.0  # contract: discovery.txt every minute
    discovery_read: float = 10.0
    discovery_stale: float = 300.0  # contract: five minutes
