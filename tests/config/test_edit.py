"""edit.set_values: change values in place, keep everything else byte for byte, refuse bad ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartcam import config
from smartcam.config import edit
from smartcam.config.docs import render_example
from smartcam.config.values import HostPort

ORIGINAL = """\
# my camera, set up by hand
; second comment style

[camera]
# the door
name = door\t
fps=10

[motion]
min_area = 1
# last words
"""


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "smartcam.conf"
    path.write_text(ORIGINAL)
    return path


def test_changes_only_the_value_text(conf: Path) -> None:
    cfg = edit.set_values(conf, {"camera": {"fps": "12.5", "name": "porch"}})
    assert conf.read_text() == ORIGINAL.replace("door\t", "porch").replace("fps=10", "fps= 12.5")
    assert cfg.camera.fps == 12.5 and cfg.path == conf
    assert config.load(conf) == cfg


def test_adds_missing_keys_at_the_end_of_their_section_and_missing_sections_at_the_end(
    conf: Path,
) -> None:
    edit.set_values(
        conf,
        {"camera": {"pre_record": 2.0, "group": "yard"}, "web": {"listen": HostPort("::", 80)}},
    )
    expected = ORIGINAL.replace("fps=10\n", "fps=10\npre_record = 2\ngroup = yard\n")
    assert conf.read_text() == expected + "\n[web]\nlisten = [::]:80\n"
    cfg = config.load(conf)
    assert cfg.camera.pre_record == 2 and cfg.web.listen == HostPort("::", 80)


def test_crlf_bom_and_no_final_newline_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "smartcam.conf"
    path.write_bytes(b"\xef\xbb\xbf[camera]\r\nfps = 10\r\n# end")
    edit.set_values(path, {"camera": {"fps": "20", "seed": "3"}, "motion": {"subsample": "4"}})
    assert path.read_bytes() == (
        b"\xef\xbb\xbf[camera]\r\nfps = 20\r\nseed = 3\r\n# end\r\n"
        b"\r\n[motion]\r\nsubsample = 4\r\n"
    )


def test_fills_in_the_commented_out_line_of_the_example(tmp_path: Path) -> None:
    path = tmp_path / "smartcam.conf"
    path.write_text(render_example())
    edit.set_values(path, {"motion": {"min_area": "2"}, "camera": {"name": "door"}})
    text = path.read_text()
    assert "#min_area = 0.5\nmin_area = 2\n" in text
    assert "#name = frontdoor\nname = door\n" in text
    assert text.replace("min_area = 2\n", "").replace("name = door\n", "") == render_example()


def test_creates_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "new.conf"
    edit.set_values(path, {"camera": {"fps": "5"}})
    assert path.read_text() == "[camera]\nfps = 5\n"
    assert os.stat(path).st_mode & 0o777 == 0o600  # may hold passwords


def test_keeps_the_file_mode(conf: Path) -> None:
    conf.chmod(0o640)
    edit.set_values(conf, {"camera": {"fps": "5"}})
    assert conf.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in conf.parent.iterdir()] == [conf.name]  # no temporary file left


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"camera": {"fps": "fast"}}, '[camera] fps = "fast": expected a number'),
        ({"camera": {"fps": 0}}, '[camera] fps = "0": expected a number from 1 to 120'),
        ({"camera": {"lores": "1280x720", "resolution": "640x480"}}, "larger than resolution"),
        ({"camera": {"pre_roll": "3"}}, 'did you mean "pre_record"'),
        ({"camra": {"fps": "3"}}, 'did you mean "camera"'),
        ({"camera": {"name": "x\ny = 1"}}, "on one line"),
        ({"camera": {"resolution": 5}}, "[camera] resolution: expected WIDTHxHEIGHT"),
    ],
)
def test_refuses_invalid_results_and_leaves_the_file_byte_identical(
    conf: Path, changes: dict, message: str
) -> None:
    before = conf.read_bytes()
    with pytest.raises(config.ConfigProblems, match=message.replace("[", r"\[")):
        edit.set_values(conf, changes)
    assert conf.read_bytes() == before
    assert [p.name for p in conf.parent.iterdir()] == [conf.name]
