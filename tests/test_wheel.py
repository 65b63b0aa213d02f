"""The wheel that the roles and the SD image install holds every file the package reads."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.roles import package


def test_the_wheel_holds_every_file_of_the_package(tmp_path: Path) -> None:
    """Pages, scripts and styles are package data: one left out is a 404 on a real install
    (the master's pages were, while every test ran them from the checkout)."""
    source = package.REPO / "smartcam"
    files = {
        str(path.relative_to(package.REPO))
        for path in source.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(package.build(tmp_path)) as wheel:
        missing = files - set(wheel.namelist())
    assert not missing, sorted(missing)
