"""The soak's judge on made-up evidence, then a short soak: one round of every fault."""

from __future__ import annotations

import json

import pytest

from smartcam.clips.names import ClipName
from tests.net import netns
from tests.soak import reconcile, stage
from tests.soak.faults import Window
from tests.soak.run import soak

T0 = 1_800_000_000.0


def card(camera: str, event: str, cause: str = "motion", origin: str | None = None,
         incidents: tuple[str, ...] = (), t: float = T0) -> dict:
    return {"camera": camera, "incident": (incidents or (event,))[0], "cause": cause,
            "origin": origin or camera, "incidents": list(incidents or (event,)),
            "trigger_time": "2027-01-15T08:00:00Z" if t == T0 else "2027-01-15T08:01:00Z"}


def stem(camera: str, event: str) -> str:
    return ClipName(camera, "20270115T080000Z", event).stem


def test_a_clip_that_started_and_never_arrived_is_lost_unless_a_log_accounts_for_it():
    started = {stem("cam-a", f"{n:08x}"): T0 for n in range(4)}
    nas = {stem("cam-a", "00000000"): card("cam-a", "00000000")}
    e = reconcile.Evidence(("cam-a",), started, nas, empty={stem("cam-a", "00000001")},
                           dropped={stem("cam-a", "00000002")})
    report = reconcile.reckon(e)
    assert report["lost"] == 1 and report["lost_clips"] == [stem("cam-a", "00000003")]
    assert (report["killed_before_first_fragment"], report["dropped_with_error"]) == (1, 1)


def test_a_peer_without_the_incident_missed_it_unless_a_fault_cut_one_of_them_off():
    nas = {
        stem("cam-a", "aaaa0001"): card("cam-a", "aaaa0001"),
        stem("cam-b", "bbbb0001"): card("cam-b", "bbbb0001", "peer", "cam-a", ("aaaa0001",)),
        # cam-b's own incident joined by a peer trigger counts as recorded for cam-c's
        stem("cam-c", "cccc0001"): card("cam-c", "cccc0001", incidents=("cccc0001", "x")),
    }
    e = reconcile.Evidence(("cam-a", "cam-b", "cam-c"), {}, nas)
    peers = reconcile.reckon(e)["peer_triggers"]
    # cam-a's incident: b has it, c does not; cam-c's: neither a nor b has it
    assert (peers["recorded"], peers["missed"]) == (1, 3)
    e.windows = [Window("kill_host", "cam-c", T0 - 10, T0 + 10)]
    peers = reconcile.reckon(e)["peer_triggers"]
    assert (peers["recorded"], peers["excused"], peers["missed"]) == (1, 3, 0)
    e.windows = [Window("nas_outage", None, T0 - 10, T0 + 10)]  # cuts nobody off
    assert reconcile.reckon(e)["peer_triggers"]["missed"] == 3


def test_a_clip_whose_bytes_differ_from_its_sidecar_is_corrupt(tmp_path):
    folder = tmp_path / "cam-a" / "2027-01-15"
    folder.mkdir(parents=True)
    s = stem("cam-a", "00000000")
    (folder / f"{s}.mp4").write_bytes(b"not what was recorded")
    sidecar = {"video": f"{s}.mp4", "size": 21, "sha256": "0" * 64, "frames": 1}
    (folder / f"{s}.json").write_text(json.dumps(sidecar))
    cards, corrupt = reconcile.nas_clips(tmp_path)
    assert s in cards and corrupt[s] == "sha256 differs from the sidecar's"
    sidecar["size"] = 5
    (folder / f"{s}.json").write_text(json.dumps(sidecar))
    assert "5" in reconcile.nas_clips(tmp_path)[1][s]


def test_the_logs_name_clips_killed_empty_and_clips_dropped():
    log = ("2027 smartcam.camera.spool WARNING cam-a_20270115T080000Z_00000001.mp4: killed "
           "before its first fragment; nothing to keep\n"
           "2027 smartcam.storage.budget ERROR DROPPED clip cam-a_20270115T080000Z_00000002 "
           "(5 bytes), never uploaded: the spool is full\n")
    assert reconcile.from_logs(log) == ({"cam-a_20270115T080000Z_00000001"},
                                        {"cam-a_20270115T080000Z_00000002"})


@pytest.mark.slow
def test_a_round_of_every_fault_loses_nothing_and_silences_nobody(tmp_path):
    if reason := netns.problem() or stage.problem():
        pytest.skip(reason)
    report = soak(tmp_path / "site", minutes=0)
    summary = json.dumps({k: v for k, v in report.items() if k != "fault_windows"}, indent=1)
    assert set(report["faults"]) == {"nas_outage", "kill_camera", "kill_host", "clock_steps",
                                     "squeeze_spool", "renumber"}, summary
    assert report["clips_on_nas"] > 10 and report["incidents"] >= 3, summary
    assert report["lost"] == 0 and report["corrupt"] == 0, summary
    assert report["dropped_with_error"] == 0 and report["rejected_with_error"] == 0, summary
    assert report["stuck_in_spool"] == 0 and report["bare_mount_point_bytes"] == 0, summary
    assert report["peer_triggers"]["missed"] == 0, summary
    assert report["peer_triggers"]["recorded"] > report["peer_triggers"]["excused"], summary
    killed = [w for w in report["fault_windows"] if w["kind"] == "kill_camera"]
    assert report["interrupted_recovered"] >= sum(w["detail"]["mid_clip"] for w in killed) - \
        report["killed_before_first_fragment"], summary
    assert abs(report["clock_skew_seen"]["cam-c"]) >= 9, "cam-c's clock was never stepped"
    assert report["garbage_peer"]["failing_on"] == ["cam-a", "cam-b"], summary
    assert all(v["frames"] > 0 for v in report["viewers"].values()), summary
    assert report["goals_met"], summary
