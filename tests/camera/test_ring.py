from smartcam.camera.frames import Packet
from smartcam.camera.ring import PacketRing


def stream(seconds: float, fps: int = 10, gop: int = 10) -> list[Packet]:
    count = int(seconds * fps)
    return [Packet(bytes([i % 256]) * 100, i / fps, i % gop == 0) for i in range(count)]


def test_ring_keeps_at_least_its_seconds_from_a_keyframe():
    ring = PacketRing(3.0)
    for p in stream(20):
        ring.push(p)
        held = ring.since(-1)
        assert held[0].keyframe
        newest = held[-1].t
        if newest >= 4.0:  # once enough has gone by
            assert newest - held[0].t >= 3.0
            assert newest - held[0].t < 3.0 + 1.0  # at most one GOP more


def test_since_starts_at_newest_keyframe_at_or_before():
    ring = PacketRing(5.0)
    for p in stream(8):
        ring.push(p)
    assert ring.since(5.5)[0].t == 5.0
    assert ring.since(5.0)[0].t == 5.0
    assert ring.since(0.0)[0].t == ring.since(-10)[0].t  # older than held: the oldest keyframe
    assert ring.since(100)[0].t == 7.0


def test_packets_before_the_first_keyframe_are_dropped():
    ring = PacketRing(5.0)
    ring.push(Packet(b"x", 0.0, False))
    assert len(ring) == 0 and ring.nbytes == 0
    ring.push(Packet(b"k", 0.1, True))
    assert len(ring) == 1 and ring.nbytes == 1


def test_nbytes_tracks_what_is_held():
    ring = PacketRing(2.0)
    for p in stream(30):
        ring.push(p)
    assert ring.nbytes == sum(len(p.data) for p in ring.since(-1))
