"""The pre-roll: a ring of encoded packets, kept whole GOP by whole GOP.

A clip can only start on a keyframe, so the ring drops the oldest GOP only once the next GOP
alone still reaches `seconds` back. A clip asked to start `seconds` before now therefore gets
at least that much pre-roll and at most one keyframe interval more.
"""

from __future__ import annotations

from collections import deque

from smartcam.camera.frames import Packet


class PacketRing:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._gops: deque[list[Packet]] = deque()
        self.nbytes = 0

    def push(self, packet: Packet) -> None:
        if packet.keyframe:
            self._gops.append([packet])
        elif self._gops:
            self._gops[-1].append(packet)
        else:
            return  # nothing before the first keyframe can be decoded
        self.nbytes += len(packet.data)
        cutoff = packet.t - self.seconds
        while len(self._gops) > 1 and self._gops[1][0].t <= cutoff:
            self.nbytes -= sum(len(p.data) for p in self._gops.popleft())

    def since(self, t: float) -> list[Packet]:
        """Every packet from the newest keyframe at or before t (or the oldest one held)."""
        start = 0
        for i, gop in enumerate(self._gops):
            if gop[0].t <= t:
                start = i
        return [p for gop in list(self._gops)[start:] for p in gop]

    @property
    def duration(self) -> float:
        if not self._gops:
            return 0.0
        return self._gops[-1][-1].t - self._gops[0][0].t

    def __len__(self) -> int:
        return sum(len(gop) for gop in self._gops)
