"""The spool on tmpfs: clips are written in recording/ and published to outbox/ when whole.

Publishing moves the video, the thumbnail and, last, the sidecar into outbox/ with rename(2):
a sidecar in outbox/ means its clip is complete, and nothing half-written is ever there.
A clip interrupted by a crash is found in recording/ at the next start, repaired and published
with "interrupted": true.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path

import av

from smartcam.camera import mp4
from smartcam.clips.names import PUBLISH_ORDER
from smartcam.clips.sidecar import ClipMeta, Motion, sidecar
from smartcam.clips.spool import SpoolDirs, disk
from smartcam.files import fsync_dir, write_atomic

log = logging.getLogger(__name__)
NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


class Spool:
    def __init__(self, root: Path):
        self.root = Path(root)
        dirs = SpoolDirs(self.root)
        self.recording, self.outbox, self.rejected = dirs.recording, dirs.outbox, dirs.rejected
        self.recording.mkdir(parents=True, exist_ok=True)
        self.outbox.mkdir(parents=True, exist_ok=True)

    def begin(self, meta: ClipMeta, start_wall: float) -> Path:
        """Record the clip's intent, then return where its video goes."""
        stem = meta.stem(start_wall)
        record = {"meta": json.loads(meta.to_json()), "start": start_wall}
        write_atomic(self.recording / f"{stem}.meta", json.dumps(record).encode(), 0o644)
        return self.recording / f"{stem}.mp4"

    def finish(
        self, video: Path, meta: ClipMeta, start_wall: float, motion: Motion, interrupted=False
    ) -> dict[str, object]:
        """Thumbnail, sidecar, publish. Returns the sidecar."""
        count = mp4.probe(video)
        at = (motion.peak_time - start_wall) if motion.peak_time else count.duration / 2
        try:
            mp4.thumbnail(video, max(0.0, at), video.with_suffix(".jpg"))
        except (OSError, ValueError, av.FFmpegError) as err:  # a clip without one still counts
            log.error("%s: no thumbnail (%s)", video.name, err)
        card = sidecar(meta, video, start_wall, count.frames, count.duration, motion, interrupted)
        write_atomic(video.with_suffix(".json"), json.dumps(card, indent=1).encode(), 0o644)
        self.publish(video.stem)
        return card

    def publish(self, stem: str) -> None:
        for suffix in PUBLISH_ORDER:
            src = self.recording / f"{stem}{suffix}"
            if src.exists():
                os.replace(src, self.outbox / src.name)
        fsync_dir(self.outbox)
        (self.recording / f"{stem}.meta").unlink(missing_ok=True)

    def recover(self) -> tuple[list[dict[str, object]], list[str]]:
        """Finish what a killed process left in recording/: (the sidecars published, the stems
        that must wait for room: a full spool is a reason to wait, not to give a clip up)."""
        for tmp in self.recording.glob("*.tmp"):
            tmp.unlink()
        published, waiting = [], []
        for meta_path in sorted(self.recording.glob("*.meta")):
            try:
                card = self.recover_one(meta_path.stem)
            except OSError as err:
                if err.errno not in NO_ROOM:
                    raise
                log.warning("%s: no room to finish it yet; trying again as the spool empties",
                            meta_path.stem)
                waiting.append(meta_path.stem)
                continue
            if card:
                published.append(card)
        return published, waiting

    def recover_one(self, stem: str) -> dict[str, object] | None:
        """Finish one leftover; None when there was nothing to publish. Raises OSError with
        ENOSPC (or EDQUOT) when there is no room yet; anything else unreadable is rejected."""
        meta_path = self.recording / f"{stem}.meta"
        video = self.recording / f"{stem}.mp4"
        if (self.recording / f"{stem}.json").exists():
            self.publish(stem)  # it was finished; the crash came while publishing
        elif video.exists():
            try:
                return self._recover_video(meta_path, video)
            except OSError as err:
                if err.errno in NO_ROOM:
                    raise
                log.exception("%s: cannot recover it; moved to rejected/", video.name)
                self._reject(stem)
            except Exception:  # one bad leftover must not stop the camera from starting
                log.exception("%s: cannot recover it; moved to rejected/", video.name)
                self._reject(stem)
        else:
            meta_path.unlink(missing_ok=True)
        return None

    def room(self) -> int:
        """Bytes free on the spool's filesystem."""
        return disk(self.root)[0]

    def _reject(self, stem: str) -> None:
        """Keep what cannot be finished out of the way (the uploader never takes it)."""
        self.rejected.mkdir(exist_ok=True)
        for path in self.recording.glob(f"{stem}.*"):
            os.replace(path, self.rejected / path.name)

    def _recover_video(self, meta_path: Path, video: Path) -> dict[str, object] | None:
        record = json.loads(meta_path.read_text())
        meta = ClipMeta(**record["meta"])
        mp4.repair(video)
        if mp4.complete_length(video) == 0:
            log.warning("%s: killed before its first fragment; nothing to keep", video.name)
            video.unlink()
            meta_path.unlink()
            return None
        log.warning("%s: finishing a clip interrupted by a crash", video.name)
        return self.finish(video, meta, record["start"], Motion(), interrupted=True)
