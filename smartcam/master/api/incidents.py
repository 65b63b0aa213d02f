"""Incidents across cameras, their export, and the clips' files: `serve_clip` checks the user's
cameras on every media URL (clip -> camera -> user) and hands the file to nginx on the NAS
(X-Accel-Redirect) or, without nginx in front, serves it itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bottle import Bottle, HTTPResponse, request, response, static_file

from smartcam.clips.library import check_cause, check_day
from smartcam.clips.names import EVENT_ID, NAME, STEM
from smartcam.errors import SmartcamError
from smartcam.httpjson import fail, query
from smartcam.master.accounts import Session, User
from smartcam.master.api.base import client_address, guarded
from smartcam.master.export import export_zip
from smartcam.master.fleet import SKEW_WARN

ACCEL_BASE = "/_nas/"


def add_incidents_routes(app: Bottle, master: Any) -> None:
    accounts, fleet, index = master.accounts, master.fleet, master.index

    # -- incidents and clips ----------------------------------------------------------------

    @app.get("/api/incidents")
    @guarded(accounts)
    def incidents(session: Session) -> dict[str, Any]:
        camera = query("camera", NAME.pattern, "a camera name")
        group = query("group", NAME.pattern, "a group name")
        cause = query("cause", r"[a-z]{1,10}", "a cause")
        day = query("day", r"\d{4}-\d{2}-\d{2}", "a day as YYYY-MM-DD")
        before = query("before", r"\d{1,12}(\.\d{1,6})?", "a time in Unix seconds")
        limit = query("limit", r"\d{1,3}", "a number from 1 to 500")
        try:
            cause = check_cause(cause) if cause else None
            day = check_day(day) if day else None
        except SmartcamError as err:
            fail(400, str(err))
        found = index.timeline(session.user.cameras, camera, group, cause, day,
                               float(before) if before else None, int(limit or 50))
        return {"incidents": found}

    @app.get("/api/incidents/<incident>")
    @guarded(accounts)
    def incident(session: Session, incident: str) -> dict[str, Any]:
        if not EVENT_ID.fullmatch(incident):
            fail(404, "no such incident")
        clips = index.incident(incident, session.user.cameras)
        if not clips:
            fail(404, "no such incident")
        return describe_incident(incident, clips, fleet)

    @app.get("/api/incidents/<incident>/export.zip")
    @guarded(accounts)
    def export(session: Session, incident: str) -> Iterator[bytes]:
        if not EVENT_ID.fullmatch(incident):
            fail(404, "no such incident")
        clips = index.incident(incident, session.user.cameras)
        if not clips:
            fail(404, "no such incident")
        try:
            stream = export_zip(master.nas.path, describe_incident(incident, clips, fleet),
                                session.user.name)
        except OSError as err:
            fail(409, f"a file of this incident cannot be read on the NAS: {err.strerror}")
        accounts.audit(session.user.name, client_address(), "export",
                       f"incident {incident}, {len(clips)} clip(s)")
        response.content_type = "application/zip"
        response.set_header("Content-Disposition",
                            f'attachment; filename="smartcam-incident-{incident}.zip"')
        response.set_header("Cache-Control", "no-store")
        response.set_header("X-Accel-Buffering", "no")  # nginx passes it on as it is made
        return stream

    @app.get("/media/<stem>.<kind:re:mp4|jpg>")
    @guarded(accounts)
    def media(session: Session, stem: str, kind: str) -> HTTPResponse:
        return serve_clip(master, stem, kind, session.user)



def describe_incident(incident: str, clips: list[dict[str, Any]], fleet: Any) -> dict[str, Any]:
    """One incident for its page: the span, each clip's offset from the start (by its UTC
    start), the origin, and what makes the alignment doubtful."""
    start = min(c["start"] for c in clips)
    end = max(c["end"] for c in clips)
    warnings = []
    for camera in sorted({c["camera"] for c in clips}):
        status = fleet.status.get(camera)
        offset = status.clock_offset if status else None
        if offset is not None and abs(offset) > SKEW_WARN:
            warnings.append(f"{camera}'s clock is {offset:+.1f} s off the master's: its clip "
                            "may be shown that much early or late")
    if any(c["clock_synced"] is False for c in clips):
        warnings.append("some clips were recorded before their camera's clock was set: their "
                        "place on the scrubber may be wrong")
    origin = next((c["camera"] for c in clips if c["cause"] == "motion"), clips[0]["origin"])
    out = []
    for c in clips:
        out.append({
            **{k: c[k] for k in ("stem", "camera", "day", "group", "cause", "origin", "part",
                                 "pre_record", "interrupted", "motion_peak", "heatmap",
                                 "thumbnail", "size", "sha256")},
            "start": c["start"], "end": c["end"], "trigger": c["trigger"],
            "offset": round(c["start"] - start, 3), "duration": round(c["end"] - c["start"], 3),
            "video": f"/media/{c['stem']}.mp4",
            "image": f"/media/{c['stem']}.jpg" if c["thumbnail"] else None,
        })
    return {"incident": incident, "start": start, "end": end, "origin": origin,
            "cameras": sorted({c["camera"] for c in clips}), "clips": out,
            "warnings": warnings}


def serve_clip(master: Any, stem: str, kind: str, user: User) -> HTTPResponse:
    """A clip's video or thumbnail, if `user` may see its camera (else the same 404 as for
    none): through nginx on the NAS when it is in front, else served here."""
    index = master.index
    clip = index.clip(stem) if STEM.fullmatch(stem) else None
    if clip is None or not user.may_see(clip["camera"]):
        fail(404, "no such clip")  # the same answer for a clip you may not see
    if kind == "jpg" and not clip["thumbnail"]:
        fail(404, "this clip has no thumbnail")
    relative = f"{clip['camera']}/{clip['day']}/{stem}.{kind}"
    mimetype = "video/mp4" if kind == "mp4" else "image/jpeg"
    if request.get_header("X-Accel-Base") == ACCEL_BASE:
        return HTTPResponse("", headers={"Content-Type": mimetype,
                                         "X-Accel-Redirect": ACCEL_BASE + relative})
    out = static_file(relative, root=str(master.nas.path), mimetype=mimetype)
    if out.status_code >= 400:
        fail(404, "the clip's file is missing on the NAS")
    out.set_header("Cache-Control", "private, max-age=3600")
    return out
