"""Motion detection quality on the labelled evaluation set (tests/bench/evalset.py), side by side
with OpenCV's MOG2 and KNN in the same run.

Every method sees the same frames with the same times and decides the same way: a frame is
motion once the share of changed pixels reached [motion] min_area on min_frames frames in a
row (our detector does this itself; MOG2's and KNN's foreground masks, shadows not counted, go
through the same gate). Per clip and overall:
  precision, recall, f1        of the frames labelled motion, after the first LEARN second
                               (every method is still learning the scene then: as CDnet
                               scores from its "temporal ROI" on)
  macro_f1                     the mean of the F1 of "motion" and of "still" over the
                               classes the clip's label has (a clip with nobody in it
                               scores the still frames it got right, so it counts too);
                               overall: the mean over clips
  false_alarm_segments         runs of motion (joined when under 1 s apart, as motion-scan
                               does) that touch no labelled motion
  missed_events                labelled runs of motion with no motion answered in them
  first_correct_s              seconds from the start until the answer is right and stays
                               right for 2 s; after_light_change_s the same from each change
  cpu_ms_per_frame             one thread each; cost_vs_mog2 is ours / MOG2's
Held-out clips (evalset.HELD_OUT) are reported apart as well as in the whole.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np

from smartcam.camera.detector import MotionDetector, MotionSettings
from tests.bench import evalset
from tests.bench.evalset import Clip

JOIN = 1.0  # seconds: answers of motion closer than this are one segment
LEARN = 1.0  # seconds from the start not scored by F1 (segments and first_correct_s see them)
STEADY = 2.0  # seconds the answer must stay right to count as the first correct one

Method = Callable[[Clip, MotionSettings], np.ndarray]


def ours(clip: Clip, settings: MotionSettings) -> np.ndarray:
    height, width = clip.frames.shape[1:]
    detector = MotionDetector(settings, width, height, clip.fps)
    return np.array([detector.update(frame, float(t)).motion
                     for frame, t in zip(clip.frames, clip.times, strict=True)])


def subtractor(make: Callable[[], Any]) -> Method:
    """An OpenCV background subtractor behind our min_area / min_frames gate."""
    def method(clip: Clip, settings: MotionSettings) -> np.ndarray:
        model = make()
        share = np.array([np.count_nonzero(model.apply(frame) == 255) / frame.size * 100
                          for frame in clip.frames])
        return gate(share >= settings.min_area, settings.min_frames)
    return method


def gate(changed: np.ndarray, min_frames: int) -> np.ndarray:
    """Motion where `changed` held on min_frames frames in a row (counting this one)."""
    out, run = np.zeros(len(changed), bool), 0
    for i, hit in enumerate(changed):
        run = run + 1 if hit else 0
        out[i] = run >= min_frames
    return out


METHODS: dict[str, Method] = {
    "ours": ours,
    "mog2": subtractor(cv2.createBackgroundSubtractorMOG2),
    "knn": subtractor(cv2.createBackgroundSubtractorKNN),
}


# -- scoring -------------------------------------------------------------------------------------

def runs(flags: np.ndarray, times: np.ndarray, join: float = 0.0) -> list[tuple[int, int]]:
    """(first, last) frame of each run of True; runs under `join` seconds apart are one."""
    out: list[tuple[int, int]] = []
    for i in np.flatnonzero(flags):
        if out and (i == out[-1][1] + 1 or times[i] - times[out[-1][1]] < join):
            out[-1] = (out[-1][0], int(i))
        else:
            out.append((int(i), int(i)))
    return out


def f1(truth: np.ndarray, answer: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of the True class (1.0 each where it is in neither)."""
    hits = int(np.count_nonzero(truth & answer))
    said, real = int(np.count_nonzero(answer)), int(np.count_nonzero(truth))
    if said == 0 and real == 0:
        return 1.0, 1.0, 1.0
    precision = hits / said if said else 0.0
    recall = hits / real if real else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


def first_correct(clip: Clip, answer: np.ndarray, since: float) -> float | None:
    """Seconds from `since` until the answer is right and stays right for STEADY seconds."""
    right = answer == clip.motion
    start = int(np.searchsorted(clip.times, since))
    for i in range(start, len(right)):
        until = np.searchsorted(clip.times, clip.times[i] + STEADY)
        if until > len(right):  # fewer than STEADY seconds left: not shown to stay right
            return None
        if right[i:until].all():
            return round(float(clip.times[i]) - since, 2)
    return None


def score(clip: Clip, answer: np.ndarray) -> dict[str, Any]:
    scored = clip.times >= LEARN
    truth, said_now = clip.motion[scored], answer[scored]
    precision, recall, motion_f1 = f1(truth, said_now)
    classes = [motion_f1] if truth.any() else []
    classes += [f1(~truth, ~said_now)[2]] if not truth.all() else []
    events = runs(clip.motion, clip.times)
    said = runs(answer, clip.times, JOIN)
    return {
        "precision": round(precision, 3), "recall": round(recall, 3), "f1": round(motion_f1, 3),
        "macro_f1": round(statistics.fmean(classes), 3),
        "false_alarm_segments": sum(not clip.motion[a:b + 1].any() for a, b in said),
        "missed_events": sum(not answer[a:b + 1].any() for a, b in events),
        "first_correct_s": first_correct(clip, answer, 0.0),
        "after_light_change_s": [first_correct(clip, answer, t) for t in clip.light_changes],
    }


def summary(per_clip: dict[str, dict[str, Any]], names: list[str]) -> dict[str, Any]:
    rows = [per_clip[n] for n in names]
    return {"clips": len(rows),
            "macro_f1": round(statistics.fmean(r["macro_f1"] for r in rows), 3),
            "false_alarm_segments": sum(r["false_alarm_segments"] for r in rows),
            "missed_events": sum(r["missed_events"] for r in rows)}


# -- the run -------------------------------------------------------------------------------------

def evaluate(clips: list[Clip], settings: MotionSettings) -> Iterator[tuple[str, dict]]:
    """Per method: its scores per clip, its summaries and its CPU cost."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # ours runs on one core
    try:
        for name, method in METHODS.items():
            per_clip, cpu, frames = {}, 0.0, 0
            for clip in clips:
                started = time.process_time()
                answer = method(clip, settings)
                cpu += time.process_time() - started
                frames += len(clip.frames)
                per_clip[clip.name] = score(clip, answer)
            tuned = [c.name for c in clips if not c.held_out]
            held = [c.name for c in clips if c.held_out]
            yield name, {"overall": summary(per_clip, tuned + held),
                         "tuned_on": summary(per_clip, tuned),
                         "held_out": summary(per_clip, held),
                         "cpu_ms_per_frame": round(1000 * cpu / frames, 3),
                         "clips": per_clip}
    finally:
        cv2.setNumThreads(threads)


def run() -> dict[str, Any]:
    clips = evalset.clips()
    settings = MotionSettings()
    methods = dict(evaluate(clips, settings))
    return {
        "set": {c.name: {"frames": len(c.frames), "seconds": round(float(c.times[-1]), 1),
                         "motion_frames": int(c.motion.sum()), "held_out": c.held_out,
                         "provenance": c.provenance} for c in clips},
        "methods": methods,
        "ours_vs_mog2": {
            "macro_f1": round(methods["ours"]["overall"]["macro_f1"]
                              - methods["mog2"]["overall"]["macro_f1"], 3),
            "false_alarm_segments": (methods["ours"]["overall"]["false_alarm_segments"],
                                     methods["mog2"]["overall"]["false_alarm_segments"]),
            "cost": round(methods["ours"]["cpu_ms_per_frame"]
                          / methods["mog2"]["cpu_ms_per_frame"], 3),
        },
        "goal": "macro_f1 >= MOG2's, fewer false-alarm segments, no missed event, cost <= 0.1",
    }
