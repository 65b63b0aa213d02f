"""Decides when clips start, split and end, and feeds them packets from the pre-roll ring.

A clip opens at the newest keyframe at or before (trigger - pre_record), runs until its
deadline (post_record after the last motion, or a trigger's `until`, whichever is later), and
is split on the first keyframe past max_clip so consecutive parts join with no frame lost or
repeated. A clip is also split early when the spool runs short of room, so the part already
written can be published and room made (the uploader uploads or drops it). Finishing a clip
(hash, thumbnail, sidecar, publish) happens on the Finisher thread (camera/finisher.py) so the
frame loop never waits for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import av

from smartcam.camera import wallclock
from smartcam.camera.detector import HeatMap, MotionResult
from smartcam.camera.finisher import ClosedClip, Finisher
from smartcam.camera.frames import Packet, SourceInfo
from smartcam.camera.ring import PacketRing
from smartcam.camera.spool import Spool
from smartcam.camera.writer import ClipWriter
from smartcam.clips.names import new_id
from smartcam.clips.sidecar import ClipMeta, Motion

log = logging.getLogger(__name__)
WRITE_RETRY_SECONDS = 5.0
MIN_PART_SECONDS = 2.0  # a clip split for want of room is at least this long


@dataclass(frozen=True)
class RecordSettings:
    pre_record: float
    post_record: float
    max_clip: float


@dataclass(frozen=True)
class Trigger:
    """A request to record, on the source clock: from motion, a peer, a person or the API."""

    cause: str
    at: float
    until: float
    incident: str = ""
    origin: str = ""


@dataclass
class _Clip:
    meta: ClipMeta
    start_from: float  # the pre-roll reaches back to here
    deadline: float
    writer: ClipWriter | None = None
    preroll_written: bool = False
    joined: list[str] = field(default_factory=list)
    start_wall: float = 0.0
    peak: float = 0.0
    peak_t: float | None = None
    heat: HeatMap = field(default_factory=HeatMap)


class Recorder:
    def __init__(
        self,
        settings: RecordSettings,
        info: SourceInfo,
        epoch: float,
        spool: Spool,
        finisher: Finisher,
        camera: str,
        group: str,
        headroom: int = 0,  # bytes the spool keeps free (clips.spool.headroom); 0: no check
    ):
        self.settings = settings
        self.ring = PacketRing(settings.pre_record)
        self._info = info
        self.epoch = epoch  # wall = t + epoch; the camera keeps it current (NTP may step)
        self._spool = spool
        self._finisher = finisher
        self._camera = camera
        self._group = group
        self._headroom = headroom
        self._clip: _Clip | None = None
        self._blocked_until = float("-inf")  # after a failed write, no new clip until then
        self.write_error = ""  # the last spool write failure, for status

    @property
    def recording(self) -> ClipMeta | None:
        return self._clip.meta if self._clip else None

    def trigger(self, trigger: Trigger) -> ClipMeta | None:
        """Start a clip, or make the running one last at least until trigger.until.

        None when no clip can start: writing to the spool failed moments ago.
        """
        if self._clip is not None:
            clip = self._clip
            clip.deadline = max(clip.deadline, trigger.until)
            if trigger.incident and trigger.incident not in (clip.meta.incident, *clip.joined):
                clip.joined.append(trigger.incident)  # a peer's incident joins this clip
            return clip.meta
        if trigger.at < self._blocked_until:
            return None  # the spool just failed us; try again in a few seconds
        event = new_id()
        meta = ClipMeta(
            camera=self._camera,
            group=self._group,
            cause=trigger.cause,
            trigger_time=trigger.at + self.epoch,
            width=self._info.width,
            height=self._info.height,
            fps=self._info.fps,
            pre_record=self.settings.pre_record,
            event=event,
            incident=trigger.incident or event,
            origin=trigger.origin or self._camera,
            clock_synced=wallclock.synced(),
        )
        # The pre-roll is written with the next packet, not here: a trigger returns at once.
        self._clip = _Clip(meta, trigger.at - self.settings.pre_record, trigger.until)
        return meta

    def motion(self, t: float, result: MotionResult) -> None:
        """Note one frame's motion on the open clip (for its peak and heat map)."""
        clip = self._clip
        if clip is None or result.lightswitch:  # a light change is not the moment to show
            return
        if result.score > clip.peak:
            clip.peak, clip.peak_t = result.score, t
        clip.heat.add(result)

    def push(self, packet: Packet) -> None:
        self._write_preroll()
        self.ring.push(packet)
        if self._clip is not None:
            self._feed_safely(packet)

    def _write_preroll(self) -> None:
        """Write a newly opened clip's pre-roll from the ring."""
        clip = self._clip
        if clip is None or clip.preroll_written:
            return
        clip.preroll_written = True
        for packet in self.ring.since(clip.start_from):
            self._feed_safely(packet)
            if self._clip is not clip:
                return

    def _feed_safely(self, packet: Packet) -> None:
        """A full or broken spool cuts the clip short; it never stops the camera."""
        try:
            self._feed(packet)
        except (OSError, av.FFmpegError) as err:
            log.error("cannot write the clip, cutting it short: %s", err)
            self.write_error = str(err)
            self._blocked_until = packet.t + WRITE_RETRY_SECONDS
            self.stop()

    def _feed(self, packet: Packet) -> None:
        clip = self._clip
        assert clip is not None
        if clip.writer is None:
            if packet.keyframe:
                self._begin(clip, packet)
            return
        if packet.t >= clip.deadline:
            self.stop()
        elif packet.keyframe and self._split_now(packet.t - clip.writer.first_t):
            self.stop()
            meta = replace(
                clip.meta,
                event=new_id(),
                part=clip.meta.part + 1,
                trigger_time=packet.t + self.epoch,
                clock_synced=wallclock.synced(),
            )
            self._clip = _Clip(meta, packet.t, clip.deadline, preroll_written=True,
                               joined=list(clip.joined))
            self._begin(self._clip, packet)
        else:
            clip.writer.write(packet)

    def _split_now(self, length: float) -> bool:
        """At a keyframe: is the clip long enough, or the spool so full that the part written
        so far must be published now, so the uploader can make room (upload it or drop it)?"""
        if length >= self.settings.max_clip:
            return True
        if not self._headroom or length < MIN_PART_SECONDS:
            return False
        room = self._spool.room()
        if room < self._headroom:
            log.warning("the spool is nearly full (%d kB free): splitting the clip", room >> 10)
            return True
        return False

    def _begin(self, clip: _Clip, first: Packet) -> None:
        clip.start_wall = first.t + self.epoch
        video = self._spool.begin(clip.meta, clip.start_wall)
        clip.writer = ClipWriter(video, first, self._info.fps)

    def stop(self) -> None:
        """Close the open clip now and hand it to the finisher."""
        self._write_preroll()
        clip, self._clip = self._clip, None
        if clip is None or clip.writer is None:
            return
        try:
            clip.writer.close()
        except (OSError, av.FFmpegError) as err:  # what was written still plays
            log.error("cannot finish writing %s: %s", clip.writer.path.name, err)
        motion = Motion(
            peak=clip.peak,
            peak_time=clip.peak_t + self.epoch if clip.peak_t is not None else None,
            heatmap=clip.heat.as_list(),
        )
        meta = replace(clip.meta, joined=tuple(clip.joined))
        self._finisher.submit(ClosedClip(clip.writer.path, meta, clip.start_wall, motion))
