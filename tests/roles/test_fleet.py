"""A fleet update: playbooks/site.yml moves three cameras from one build to the next, one at a time,
and the first camera that fails its health gate stops the rollout.

Three machines boot from the image (build 0.1.0 inside), each in a network namespace of its own,
reached over SSH; the health gate asks each one's nginx from this side of its link.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.roles import ansible, package
from tests.roles.conftest import FILES, role_vars
from tests.roles.machine import Machine

pytestmark = pytest.mark.slow
NAMES = ("cam-a", "cam-b", "cam-c")


def health(m: Machine) -> dict:
    with urllib.request.urlopen(f"http://{m.address}/api/v1/health", timeout=5) as r:
        return json.load(r)


def build_on(m: Machine) -> str:
    text = m.ssh("cat /etc/smartcam_build").stdout
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)["version"]


@pytest.fixture
def fleet(scratch: Path, image: list[str]):
    machines = [Machine(name, 21 + i, scratch, image) for i, name in enumerate(NAMES)]
    try:
        for m in machines:
            m.up((FILES / "smartcam.conf").read_text())
        yield machines
    finally:
        for m in machines:
            m.destroy()


@pytest.mark.timeout(900)
def test_rollout_goes_one_camera_at_a_time_and_stops_at_the_first_unhealthy(
    scratch: Path, fleet: list[Machine], wheelhouse: Path
) -> None:
    inventory = scratch / "fleet.ini"
    inventory.write_text("[smartcams]\n" + "\n".join(m.inventory_line() for m in fleet) + "\n")
    assert {build_on(m) for m in fleet} == {"0.1.0"}

    # 0.1.0 -> 0.1.1 everywhere, a camera at a time, each healthy before the next.
    build2 = package.build(scratch / "dist2", "0.1.1")
    values = ansible.write_vars(scratch, "fleet-2", role_vars(build2, wheelhouse))
    done = ansible.playbook(scratch, str(inventory), "site.yml", "-e", f"@{values}")
    assert done.stdout.count("PLAY [Update the smartcams") == len(fleet)  # one batch per camera
    gates = [line for line in done.stdout.splitlines() if "is healthy with smartcam 0.1.1" in line]
    assert [g.split('"')[3].split()[0] for g in gates] == list(NAMES)
    assert all(r["failed"] == 0 for r in ansible.recap(done.stdout).values())
    assert [health(m)["version"] for m in fleet] == ["0.1.1"] * 3
    assert all(health(m)["ok"] for m in fleet)

    # 0.1.1 -> 0.1.2, but cam-b's camera will not come back (its video file is missing):
    # its gate fails, the rollout stops, cam-c keeps 0.1.1.
    fleet[1].ssh(
        "sed -i 's|^source = synthetic$|source = file:/nonexistent/clip.mp4|' "
        "/boot/firmware/smartcam.conf"
    )
    build3 = package.build(scratch / "dist3", "0.1.2")
    values = ansible.write_vars(
        scratch,
        "fleet-3",
        role_vars(build3, wheelhouse, smartcam_site_health_retries=8, smartcam_site_health_delay=1),
    )
    done = ansible.playbook(scratch, str(inventory), "site.yml", "-e", f"@{values}", check=False)
    assert done.returncode != 0, "the rollout went on past an unhealthy camera"
    recap = ansible.recap(done.stdout)
    assert recap["cam-a"]["failed"] == 0 and recap["cam-b"]["failed"] == 1
    assert "cam-c" not in recap or recap["cam-c"]["ok"] == 0
    assert [build_on(m) for m in fleet] == ["0.1.2", "0.1.2", "0.1.1"]
    assert health(fleet[0])["ok"] and health(fleet[0])["version"] == "0.1.2"
    assert not health(fleet[1])["ok"]
    assert health(fleet[2])["ok"] and health(fleet[2])["version"] == "0.1.1"
