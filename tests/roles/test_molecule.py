"""The appliance scenario under molecule: image, boot, converge, idempotence, verify.

tests/roles/molecule/appliance/ runs against one machine booted from the image the session
built through the chroot connection (conftest.image).
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.roles import ansible

pytestmark = pytest.mark.slow


@pytest.mark.timeout(900)
def test_appliance_scenario(scratch, image, build1, wheelhouse) -> None:
    env = ansible.env(scratch) | {
        "SMARTCAM_TEST_REPO": str(ansible.REPO),
        "SMARTCAM_TEST_SCRATCH": str(scratch),
        "SMARTCAM_TEST_LOWER": ":".join(image),
        "SMARTCAM_TEST_PACKAGE": str(build1),
        "SMARTCAM_TEST_WHEELHOUSE": str(wheelhouse),
        "MOLECULE_EPHEMERAL_DIRECTORY": str(scratch / "molecule"),
    }
    started = time.monotonic()
    done = subprocess.run(
        [str(ansible.BIN / "molecule"), "--debug", "test", "--scenario-name", "appliance"],
        cwd=ansible.REPO / "tests" / "roles",
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
    )
    log = scratch / "molecule-appliance.log"
    log.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, (
        f"molecule failed; log {log}:\n{(done.stdout + done.stderr)[-8000:]}"
    )
    print(f"appliance scenario: {time.monotonic() - started:.0f} s")
