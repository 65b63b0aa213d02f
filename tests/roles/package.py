"""Builds of the smartcam package for the role tests, and the wheels of its dependencies.

`build(out, version=None)` makes a wheel from this checkout (`pip wheel . --no-deps`), or from a
copy of it whose version is changed, so a fleet can be moved from one build to the next.
`wheelhouse()` downloads, once, the wheels of the dependencies Debian does not package (cached
under $SMARTCAM_CACHE/wheelhouse/<key>/), so the test machines install with --no-index.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from tests.roles.rootfs import cache_root

REPO = Path(__file__).resolve().parents[2]
# Dependencies the roles install from apt (smartcam_app's vars/Debian.yml); pip must not.
# PyAV is not among them off the Pi: Debian 12's python3-av 10 is older than smartcam needs.
FROM_APT = {"numpy", "bottle", "waitress"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def pip_dependencies() -> list[str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return sorted(d for d in deps if _name(d) not in FROM_APT)


def _quiet(cmd: list[str], **kw) -> None:
    """Run a pip command; its chatter is shown only when it fails."""
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")


# pip's platform tags of a Debian 12 arm64 machine (glibc 2.36), for wheelhouse("arm64").
PLATFORMS = {
    "arm64": ("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"),
}


def wheelhouse(platform: str | None = None) -> Path:
    """Wheels for this machine, or for another `platform` (PLATFORMS) with the same Python."""
    deps = pip_dependencies()
    parts = [sys.version.split()[0], *deps] + ([platform] if platform else [])
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
    target = cache_root().parent / "wheelhouse" / key
    py = f"{sys.version_info.major}{sys.version_info.minor}"
    cross = (
        [*(f"--platform={tag}" for tag in PLATFORMS[platform]), f"--python-version={py}"]
        if platform
        else []
    )
    if (target / ".complete").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    _quiet(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--dest",
            str(target),
            *cross,
            *deps,
        ]
    )
    for wheel in target.glob("numpy-*"):  # simplejpeg's; the machines have Debian's
        wheel.unlink()
    (target / ".complete").touch()
    return target


# Left out of the copy: the checkout's other top-level folders (./demo is `make demo`'s NAS, not
# smartcam/demo), and what tools leave anywhere.
_TOP = shutil.ignore_patterns(".git", ".venv", "build", "demo", "tests", "roles", "image")
_ANYWHERE = shutil.ignore_patterns(
    "*.egg-info", ".hypothesis", ".pytest_cache", ".ruff_cache", "__pycache__"
)


def _not_the_package(directory: str, names: list[str]) -> set[str]:
    top = _TOP(directory, names) if Path(directory) == REPO else set()
    return top | _ANYWHERE(directory, names)


def build(out: Path, version: str | None = None) -> Path:
    """A wheel of this checkout, or of a copy whose version is `version`; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # Built from a copy: setuptools writes build/ and *.egg-info where it builds.
        src = Path(tmp) / "src"
        shutil.copytree(REPO, src, ignore=_not_the_package)
        if version is not None:
            py = src / "pyproject.toml"
            py.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', py.read_text()))
            init = src / "smartcam" / "__init__.py"
            init.write_text(
                re.sub(r'(?m)^__version__ = ".*"$', f'__version__ = "{version}"', init.read_text())
            )
        build_dir = Path(tmp) / "wheel"
        _quiet(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--wheel-dir",
                str(build_dir),
                str(src),
            ],
            cwd=tmp,
        )
        (wheel,) = build_dir.glob("smartcam-*.whl")
        dest = out / wheel.name
        shutil.move(wheel, dest)
    return dest


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build" / "dist"))
    print(wheelhouse())
