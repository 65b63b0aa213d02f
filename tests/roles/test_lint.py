"""The roles and playbooks pass ansible-lint (production profile) and yamllint, and each
role's argument specs and README variables are those its defaults/main.yml declares."""

from __future__ import annotations

import subprocess

import pytest

from tests.roles import ansible, roledocs

TARGETS = ["roles", "playbooks", "tests/roles/molecule", ".ansible-lint", ".yamllint"]


def tool(name: str) -> str:
    path = ansible.BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not in the venv: pip install ansible-lint yamllint")
    return str(path)


def test_yamllint() -> None:
    done = subprocess.run(
        [tool("yamllint"), "--strict", *TARGETS],
        cwd=ansible.REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint_production_profile(tmp_path) -> None:
    env = ansible.env(tmp_path) | {"ANSIBLE_HOME": str(tmp_path / "ansible-home")}
    done = subprocess.run(
        [
            tool("ansible-lint"),
            "--profile=production",
            "--strict",
            "--nocolor",
            "roles",
            "playbooks",
        ],
        cwd=ansible.REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]


def test_argument_specs_and_readmes_follow_defaults() -> None:
    stale = roledocs.stale()
    assert not stale, f"run `python -m tests.roles.roledocs`: stale {[str(p) for p in stale]}"
