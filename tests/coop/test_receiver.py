"""Group triggers as they arrive: the receiver's checks, each with its answer."""

from __future__ import annotations

import json

import pytest

from smartcam.coop.receiver import BURST, MAX_LEASE, Receiver
from smartcam.coop.wire import HEADER, SKEW, sign
from smartcam.errors import CameraUnavailable, ControlError
from tests.coop.triggers import SECRET, FakeLink, message, signed
from tests.waiting import NOW, Clock


@pytest.fixture
def setup():
    clock, link = Clock(), FakeLink()
    return clock, link, Receiver("cam-b", "yard", SECRET, link, clock=clock)


# -- the receiver ------------------------------------------------------------------------------


def test_a_good_trigger_makes_the_camera_record_until_the_lease_ends(setup):
    clock, link, receiver = setup
    status, reply = receiver.handle_trigger(*signed(message(clock)))
    assert status == 200 and reply["accepted"] and reply["event"] == "0123456789ab"
    assert link.requests == [
        ("trigger", {"cause": "peer", "until": NOW + 12, "incident": "aabbccddeeff",
                     "origin": "cam-a"})
    ]


@pytest.mark.parametrize(
    "tamper, status",
    [
        (lambda body, head: (body, {}), 401),  # no signature
        (lambda body, head: (body, {HEADER: "sha256=" + "0" * 64}), 401),
        (lambda body, head: (body, {HEADER: sign(body, "another group's secret!")}), 401),
        (lambda body, head: (body.replace(b"cam-a", b"cam-x"), head), 401),  # altered after
        (lambda body, head: (body + b" ", head), 401),  # even whitespace breaks the HMAC
        (lambda body, head: (body, {HEADER.lower(): head[HEADER]}), 200),  # header case
        (lambda body, head: (body, {HEADER: head[HEADER].removeprefix("sha256=")}), 401),
    ],
)
def test_signatures(setup, tamper, status):
    clock, link, receiver = setup
    got, reply = receiver.handle_trigger(*tamper(*signed(message(clock))))
    assert got == status, reply
    assert bool(link.requests) == (status == 200)


@pytest.mark.parametrize(
    "offset, status",
    [(-60, 403), (-(SKEW + 0.5), 403), (SKEW + 0.5, 403), (-(SKEW - 1), 200), (SKEW - 1, 200)],
)
def test_clock_skew_over_30_seconds_is_rejected(setup, offset, status):
    clock, link, receiver = setup
    msg = message(clock, sent_at=clock() + offset, until=clock() + offset + 60)
    got, reply = receiver.handle_trigger(*signed(msg))
    assert got == status, reply
    assert bool(link.requests) == (status == 200)
    if status == 403:
        assert "sent_at" in reply["error"]


def test_a_replayed_nonce_is_rejected_for_the_whole_skew_window(setup):
    clock, link, receiver = setup
    body, headers = signed(message(clock, until=NOW + 120))
    assert receiver.handle_trigger(body, headers)[0] == 200
    for _ in range(3):
        clock.advance(SKEW / 3 - 0.1)
        status, reply = receiver.handle_trigger(body, headers)
        assert status == 409 and "replayed" in reply["error"]
    clock.advance(1)  # now the copy is also stale: the skew check takes over
    assert receiver.handle_trigger(body, headers)[0] == 403
    assert len(link.requests) == 1


@pytest.mark.parametrize(
    "changes, status, words",
    [
        ({"group": "garden"}, 403, "group"),
        ({"origin": "cam-b"}, 403, "itself"),
        ({"until": NOW - 1}, 400, "until"),
        ({"incident": "not hex!"}, 400, "incident"),
        ({"origin": "Cam A"}, 400, "origin"),
    ],
)
def test_other_groups_ourselves_and_nonsense_are_rejected(setup, changes, status, words):
    clock, link, receiver = setup
    got, reply = receiver.handle_trigger(*signed(message(clock, **changes)))
    assert got == status and words in reply["error"]
    assert link.requests == []


@pytest.mark.parametrize(
    "body, status",
    [(b"not json", 400), (b"[1, 2]", 400), (b'{"incident": "aabbccddeeff"}', 400),
     (b"x" * 5000, 413)],
)
def test_malformed_bodies_signed_with_the_secret_are_rejected(setup, body, status):
    _, link, receiver = setup
    assert receiver.handle_trigger(body, {HEADER: sign(body, SECRET)})[0] == status
    assert link.requests == []


def test_a_string_or_infinite_time_is_rejected(setup):
    clock, link, receiver = setup
    for bad in ('"soon"', "true", "1e999"):
        data = json.loads(message(clock).encode())
        body = json.dumps(data).replace(str(data["until"]), bad).encode()
        assert receiver.handle_trigger(body, {HEADER: sign(body, SECRET)})[0] == 400
    assert link.requests == []


def test_each_origin_is_rate_limited_on_its_own(setup):
    clock, link, receiver = setup
    results = [receiver.handle_trigger(*signed(message(clock, n)))[0] for n in range(BURST + 3)]
    assert results == [200] * BURST + [429] * 3
    other = message(clock, 100, origin="cam-c")
    assert receiver.handle_trigger(*signed(other))[0] == 200  # cam-c has its own bucket
    clock.advance(1.0)
    assert receiver.handle_trigger(*signed(message(clock, 200)))[0] == 200  # refilled
    assert len(link.requests) == BURST + 2
    stats = receiver.stats()
    assert (stats["accepted"], stats["rejected"]) == (BURST + 2, {"429": 3})


def test_a_rate_limited_trigger_does_not_use_up_its_nonce(setup):
    clock, link, receiver = setup
    for n in range(BURST):
        receiver.handle_trigger(*signed(message(clock, n)))
    late = signed(message(clock, 99))
    assert receiver.handle_trigger(*late)[0] == 429
    clock.advance(1.0)
    assert receiver.handle_trigger(*late)[0] == 200


@pytest.mark.parametrize("ahead", [-20.0, 20.0])
def test_a_clock_20_s_off_still_records_the_whole_lease_on_our_clock(setup, ahead):
    clock, link, receiver = setup
    origin_now = clock() + ahead  # the origin's clock is off by `ahead` seconds
    msg = message(clock, sent_at=origin_now, until=origin_now + 12)
    got, reply = receiver.handle_trigger(*signed(msg))
    assert got == 200, reply
    assert link.requests[0][1]["until"] == NOW + 12  # 12 s from now, on our clock
    assert receiver.stats()["clock_offsets"] == {"cam-a": ahead}


@pytest.mark.parametrize("header", ["sha256=é" + "0" * 63, "sha256=\udcff", "∞"])
def test_a_signature_header_that_is_not_ascii_is_a_plain_401(setup, header):
    clock, link, receiver = setup
    body, _ = signed(message(clock))
    got, reply = receiver.handle_trigger(body, {HEADER: header})
    assert got == 401 and link.requests == []


def test_a_far_lease_is_cut_to_the_most_a_trigger_may_ask(setup):
    clock, link, receiver = setup
    receiver.handle_trigger(*signed(message(clock, until=NOW + 86400)))
    assert link.requests[0][1]["until"] == NOW + MAX_LEASE


@pytest.mark.parametrize(
    "error, status", [(CameraUnavailable("down"), 503), (ControlError("spool failed"), 409)]
)
def test_camera_trouble_is_a_clear_answer(error, status):
    clock = Clock()
    receiver = Receiver("cam-b", "yard", SECRET, FakeLink(fail=error), clock=clock)
    got, reply = receiver.handle_trigger(*signed(message(clock)))
    assert got == status and reply["error"]


def test_cooperation_off_answers_404_and_records_nothing():
    clock, link = Clock(), FakeLink()
    receiver = Receiver("cam-b", "yard", "", link, enabled=False, clock=clock)
    body, headers = signed(message(clock), "")
    assert receiver.handle_trigger(body, headers)[0] == 404
    assert link.requests == []


def test_one_log_line_per_rejection(setup, caplog):
    clock, _, receiver = setup
    with caplog.at_level("WARNING", logger="smartcam.coop.receiver"):
        receiver.handle_trigger(b"{}", {}, remote="192.0.2.9")
    assert len(caplog.records) == 1
    assert "192.0.2.9" in caplog.text and "401" in caplog.text


# -- the origin's lease --------------------------------------------------------------------------
