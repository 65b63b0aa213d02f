"""The Finisher: a clip that cannot be finished for want of room is tried again, not left stuck."""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field

from smartcam.camera.finisher import Finisher
from tests.waiting import wait_for


@dataclass
class FlakyJob:
    """Fails with ENOSPC `fails` times, then finishes."""

    fails: int
    tries: list[float] = field(default_factory=list)
    video: str = "cam-a_20260101T000000Z_0123abcd.mp4"

    def finish(self, spool):
        self.tries.append(time.monotonic())
        if len(self.tries) <= self.fails:
            raise OSError(errno.ENOSPC, "No space left on device")
        return {"video": self.video}


def test_a_job_without_room_is_tried_again_with_growing_pauses():
    cards: list[dict] = []
    finisher = Finisher(None, cards.append, retry_first=0.05, retry_cap=1.0)
    job = FlakyJob(fails=3)
    try:
        finisher.submit(job)
        wait_for(lambda: cards, what="the clip finished after the spool emptied")
    finally:
        finisher.close()
    assert cards == [{"video": job.video}] and len(job.tries) == 4
    pauses = [b - a for a, b in zip(job.tries, job.tries[1:], strict=False)]
    assert pauses[0] >= 0.05 and pauses[1] >= 0.1 and pauses[2] >= 0.2  # 1, 2, 4 x the first


def test_other_jobs_go_on_while_one_waits_for_room():
    cards: list[dict] = []
    finisher = Finisher(None, cards.append, retry_first=30.0)
    try:
        finisher.submit(FlakyJob(fails=99, video="stuck.mp4"))
        finisher.submit(FlakyJob(fails=0, video="next.mp4"))
        wait_for(lambda: cards, what="the next clip")
        assert cards == [{"video": "next.mp4"}] and finisher.waiting == 1
    finally:
        finisher.close()  # one last try for the stuck one; it stays for the next start


def test_close_gives_a_waiting_job_one_last_try():
    cards: list[dict] = []
    finisher = Finisher(None, cards.append, retry_first=30.0)
    job = FlakyJob(fails=1)
    finisher.submit(job)
    wait_for(lambda: job.tries, what="the first try")
    finisher.close()
    assert cards == [{"video": job.video}] and len(job.tries) == 2
