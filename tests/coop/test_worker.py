"""The cooperation worker: the port it announces, and its wiring with cooperation on and off."""

from __future__ import annotations

import json
import threading

import pytest

from smartcam.config import from_text
from smartcam.coop.worker import Cooperation, announced_port


@pytest.mark.parametrize(
    "web, peers, port",
    [("127.0.0.1:8080", "", 80), ("0.0.0.0:8081", "", 8081), ("127.0.0.1:8080", "port = 8443",
                                                                8443)],
)
def test_the_announced_port_is_where_peers_reach_our_api(web, peers, port):
    cfg = from_text(f"[web]\nlisten = {web}\n[peers]\n{peers}\n")
    assert announced_port(cfg) == port


class FakeLink:
    def __init__(self):
        self.listeners = []
        self.requests = []

    def request(self, cmd, **fields):
        self.requests.append((cmd, fields))
        return {}


def test_with_cooperation_off_it_answers_and_touches_nothing(tmp_path):
    cfg = from_text(f"[camera]\nname = cam-a\n[storage]\nnas = {tmp_path}\ntype = local\n")
    link = FakeLink()
    coop = Cooperation(cfg, link)
    body = json.loads(json.dumps(coop.as_json()))
    assert body["enabled"] is False and body["peers"] == []
    assert body["self"]["name"] == "cam-a"
    status, reply = coop.receiver.handle_trigger(b"{}", {})
    assert status == 404 and "enabled = false" in reply["error"]
    stop = threading.Event()
    stop.set()
    coop.run(stop)  # returns at once, touching nothing
    assert link.listeners == [] and link.requests == []
    assert not any(tmp_path.iterdir())


def test_static_peers_from_the_config_are_in_the_table(tmp_path):
    cfg = from_text(
        f"[camera]\nname = cam-a\ngroup = yard\n[storage]\nnas = {tmp_path}\ntype = local\n"
        "[peers]\nenabled = true\nsecret = 0123456789abcdef\nstatic = 192.0.2.7:8080, cam-z\n"
    )
    coop = Cooperation(cfg, FakeLink())
    rows = {r["name"]: r for r in coop.as_json()["peers"]}
    assert rows["192.0.2.7:8080"]["port"] == 8080 and rows["cam-z"]["port"] == 80
    assert rows["cam-z"]["sources"].keys() == {"static"} and rows["cam-z"]["group"] is None


def test_a_namesake_is_an_error_on_the_page(tmp_path):
    from smartcam.coop.table import Sighting

    cfg = from_text(f"[camera]\nname = cam-a\n[storage]\nnas = {tmp_path}\ntype = local\n"
                    "[peers]\nenabled = true\nsecret = 0123456789abcdef\n")
    coop = Cooperation(cfg, FakeLink())
    coop.table.see(Sighting("mdns", "cam-a", "default", ("192.0.2.99",), 80))
    (level, message), = coop.problems()
    assert level == "error" and "also named cam-a" in message and "192.0.2.99" in message
