"""The spool's layout (contract, DESIGN.md): where the camera writes clips and the uploader
takes them, and how much room both keep free.

`<spool>/recording/` holds clips being written, `outbox/` whole clips waiting for the NAS
(moved there atomically, sidecar last), `uploaded/` the spool's copies of clips already on the
NAS, kept until the NAS has surely kept them (its disk, not only its memory) or the room is
needed, and `rejected/` clips that can never be uploaded. The
spool is a RAM disk that may be smaller than `[storage] spool_size`: the camera splits a clip
early when the free room falls below `headroom()`, and the uploader's keeper drops waiting
clips to keep that room free, so recording never runs into a full disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HEADROOM_SECONDS = 4.0  # of video at the configured bitrate: a keyframe interval or two, padded
HEADROOM_MIN = 2 << 20  # and never less than this: a thumbnail, a sidecar, filesystem overhead


@dataclass(frozen=True)
class SpoolDirs:
    root: Path

    @property
    def recording(self) -> Path:
        return self.root / "recording"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def uploaded(self) -> Path:
        return self.root / "uploaded"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"


def headroom(bitrate: int) -> int:
    """Bytes a spool keeps free at `bitrate` bit/s so the clip being written can go on."""
    return max(HEADROOM_MIN, int(bitrate / 8 * HEADROOM_SECONDS))


def disk(path: Path) -> tuple[int, int]:
    """(bytes free, bytes in all) of the filesystem the spool is on."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
