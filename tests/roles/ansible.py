"""Running ansible-playbook and molecule from the role tests, with the venv's tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def env(scratch: Path) -> dict[str, str]:
    """The environment: venv tools first, no host key prompts, pipelined SSH, no colour."""
    out = dict(os.environ)
    out.update(
        {
            "PATH": f"{BIN}:{out.get('PATH', '')}",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_LOCAL_TEMP": str(scratch / "ansible-tmp"),
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "PY_COLORS": "0",
            "NO_COLOR": "1",
        }
    )
    return out


def write_vars(scratch: Path, name: str, values: dict) -> Path:
    path = scratch / f"{name}.json"
    path.write_text(json.dumps(values))
    return path


def playbook(
    scratch: Path,
    inventory: str,
    playbook: str,
    *extra: str,
    check: bool = True,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook from the repository root; its output is kept and shown on failure."""
    cmd = [
        str(BIN / "ansible-playbook"),
        "-i",
        inventory,
        str(REPO / "playbooks" / playbook),
        *extra,
    ]
    done = subprocess.run(
        cmd, cwd=REPO, env=env(scratch), capture_output=True, text=True, timeout=timeout
    )
    log = scratch / f"ansible-{playbook}-{len(list(scratch.glob('ansible-*.log')))}.log"
    log.write_text(done.stdout + done.stderr)
    if check and done.returncode:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({done.returncode}); log {log}:\n"
            + (done.stdout + done.stderr)[-6000:]
        )
    return done


def recap(output: str) -> dict[str, dict[str, int]]:
    """host -> {ok, changed, failed, ...} from a PLAY RECAP."""
    out = {}
    lines = output.split("PLAY RECAP", 1)[-1].splitlines()[1:]
    for line in lines:
        if ":" not in line:
            continue
        host, _, rest = line.partition(":")
        counts = dict(part.split("=") for part in rest.split() if "=" in part)
        out[host.strip()] = {k: int(v) for k, v in counts.items()}
    return out
