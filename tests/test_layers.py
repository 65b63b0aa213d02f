"""The house has one-way streets: a module imports only rooms below its own, and no circle.

Rooms, lowest first (docs/architecture.md draws them):
  base     errors, files, httpjson, sdnotify, timing   what every room stands on
  config   smartcam.conf: schema, parse, edit
  clips    the clip contract: names, sidecar, library          control  the camera's socket
  camera   the realtime process    storage  spool -> NAS, mount checks    apiclient
  coop     peers, mDNS, NAS notes, triggers      system   boot-time programs
  mqtt     a broker client and Home Assistant's discovery
  host     the camera's web server                master   the fleet's web server
  demo     a simulated fleet        cli      the `smartcam` command, the only one above host

Read from the source with ast (imports inside functions count too), so a hidden circle shows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "smartcam"
RANK = {
    "base": 0,
    "config": 1,
    "clips": 2, "control": 2,
    "camera": 3, "storage": 3, "apiclient": 3,
    "coop": 4, "system": 4, "mqtt": 4,
    "host": 5, "master": 5,
    "demo": 6,
    "cli": 7,
}
BASE = {"errors", "files", "httpjson", "sdnotify", "timing", "__init__"}
ONLY_FOR_CLI = {"host", "master"}  # whole programs: nothing but the command line starts them


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    top = parts[1]
    if top in BASE:
        return "base"
    return "cli" if top == "__main__" else top


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """The smartcam modules a file imports (a `from pkg import name` of a module names it)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("smartcam")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("smartcam"):
                continue
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return found


GRAPH = {name: imports(path) for name, path in MODULES.items()}


def test_every_module_lives_in_a_known_room():
    unknown = {name: room(name) for name in MODULES if room(name) not in RANK}
    assert not unknown, f"add these rooms to RANK (and docs/architecture.md): {unknown}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_down_the_house_only(name):
    mine = room(name)
    wrong = []
    for target in sorted(GRAPH[name]):
        theirs = room(target)
        if theirs in ONLY_FOR_CLI and mine not in ("cli", theirs):
            wrong.append(f"{target} ({theirs} is started only by the command line)")
        elif theirs != mine and RANK.get(theirs, 99) >= RANK.get(mine, -1):
            wrong.append(f"{target} ({theirs} is not below {mine})")
    below = sorted(r for r in RANK if RANK[r] < RANK.get(mine, -1))
    assert not wrong, f"{name} ({mine}) may import only {below} and its own room: {wrong}"


def test_no_module_imports_itself_in_a_circle():
    circles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt in GRAPH and not state.get(nxt):
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(GRAPH):
        if not state.get(start):
            visit(start, [start])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_command_line_names_modules_that_exist():
    from smartcam.cli import COMMANDS

    assert {module for module, _ in COMMANDS.values()} <= set(MODULES)
