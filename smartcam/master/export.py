"""Evidence export: one zip per incident, for handing to someone who has no smartcam.

Inside: every clip the user may see, with its thumbnail and sidecar (`clips/`), a manifest
(`manifest.json`: who exported what and when, and per clip the SHA-256 its camera computed
at upload beside the one the master found), `SHA256SUMS` for `sha256sum -c`, and `index.html`,
an offline page that replays all clips in sync from the zip's own files: the incident page's
own player (static/replay.js) inlined, with no server and no network.

The master reads every clip twice: once to check its sum before packing (a clip that does not
match is still packed, and the manifest and the page say so), once to pack it. The zip is
written to the response as it is made (stored, not compressed: H.264 does not shrink), so an
incident of many large clips never sits in memory: what is held is one chunk.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STATIC = Path(__file__).with_name("static")
CHUNK = 1 << 20


class _Sink(io.RawIOBase):
    """Where zipfile writes; the generator hands on what piled up (zipfile sees a stream it
    cannot seek, so it writes each entry's sizes after its data)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def files_of(nas: Path, clip: dict[str, Any]) -> list[tuple[str, Path]]:
    """(name in the zip, path on the NAS) of one clip's files; names come from the index."""
    folder = nas / clip["camera"] / clip["day"]
    out = [(f"clips/{clip['stem']}.mp4", folder / f"{clip['stem']}.mp4"),
           (f"clips/{clip['stem']}.json", folder / f"{clip['stem']}.json")]
    if clip.get("image"):
        out.append((f"clips/{clip['stem']}.jpg", folder / f"{clip['stem']}.jpg"))
    return out


def check(nas: Path, incident: dict[str, Any]) -> dict[str, Any]:
    """Every file's sum, and whether each clip is the one its camera uploaded."""
    sums: dict[str, str] = {}
    clips = []
    for clip in incident["clips"]:
        for name, path in files_of(nas, clip):
            sums[name] = sha256(path)
        found = sums[f"clips/{clip['stem']}.mp4"]
        clips.append({"camera": clip["camera"], "file": f"clips/{clip['stem']}.mp4",
                      "sha256_at_upload": clip["sha256"], "sha256_now": found,
                      "intact": found == clip["sha256"]})
    return {"sums": sums, "clips": clips}


def offline_page(incident: dict[str, Any], damaged: list[str]) -> str:
    data = {**incident, "clips": [{**c, "video": f"clips/{c['stem']}.mp4"}
                                  for c in incident["clips"]],
            "warnings": [*incident["warnings"],
                         *(f"{f} does not match the sum its camera computed: it was changed "
                           "or damaged after upload" for f in damaged)]}
    # </script> inside the data would end the script early
    blob = json.dumps(data).replace("</", "<\\/")
    player = (STATIC / "replay.js").read_text().replace("export function replay",
                                                        "function replay")
    css = (STATIC / "master.css").read_text()
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smartcam incident {incident['incident']}</title>
<style>
{css}
</style>
</head>
<body>
<header><h1>smartcam evidence export</h1></header>
<main>
<p class="muted">Every file's SHA-256 is in SHA256SUMS (check with: sha256sum -c SHA256SUMS)
and manifest.json.</p>
<div id="player"></div>
</main>
<script type="module">
{player}
replay({blob}, document.getElementById("player"));
</script>
</body>
</html>
"""


def export_zip(nas: Path, incident: dict[str, Any], exported_by: str) -> Iterator[bytes]:
    """The zip, chunk by chunk. Every file is read and checked here, before the first byte
    goes out (OSError if one is missing), so the answer is whole or an error."""
    checked = check(nas, incident)
    return _stream(nas, incident, exported_by, checked)


def _stream(nas: Path, incident: dict[str, Any], exported_by: str,
            checked: dict[str, Any]) -> Iterator[bytes]:
    damaged = [c["file"] for c in checked["clips"] if not c["intact"]]
    manifest = {
        "incident": incident["incident"], "exported_by": exported_by,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "start": incident["start"], "end": incident["end"], "origin": incident["origin"],
        "cameras": incident["cameras"], "clips": checked["clips"], "all_intact": not damaged,
        "files": checked["sums"],
    }
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1) + "\n")
        zf.writestr("SHA256SUMS", "".join(f"{s}  {n}\n" for n, s in checked["sums"].items()))
        zf.writestr("index.html", offline_page(incident, damaged))
        yield sink.take()
        for clip in incident["clips"]:
            for name, path in files_of(nas, clip):
                size = path.stat().st_size
                with open(path, "rb") as src, zf.open(name, "w",
                                                      force_zip64=size > 2**31) as dst:
                    while chunk := src.read(CHUNK):
                        dst.write(chunk)
                        yield sink.take()
    yield sink.take()
