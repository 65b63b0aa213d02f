"""The value types on their own: text in, value out, and formatted back to the same value."""

from __future__ import annotations

import pytest

from smartcam.config import schema, values
from smartcam.config.values import HostPort, Invalid


@pytest.mark.parametrize(
    "vtype, text, value, formatted",
    [
        (
            schema.SETTINGS["camera"]["bitrate"].type,
            "4M",
            4_000_000,
            "4M",
        ),
        (values.scaled(1, 10**9, 1000, "kM", "x"), "1.5M", 1_500_000, "1500k"),
        (values.scaled(1, 10**9, 1000, "kM", "x"), "123", 123, "123"),
        (values.scaled(1, 2**40, 1024, "KMG", "bytes"), "2GiB", 2 * 2**30, "2G"),
        (values.scaled(1, 2**40, 1024, "KMG", "bytes"), "1536k", 1536 * 1024, "1536K"),
        (values.number(0, 100), "+.5", 0.5, "0.5"),
        (values.number(0, 100), "1e1", 10.0, "10"),
        (values.integer(-5, 5), "-5", -5, "-5"),
        (values.boolean, "ON", True, "true"),
        (values.size(32, 4096), "640X480", (640, 480), "640x480"),
        (values.text(), '" padded "', " padded ", '" padded "'),
        (values.text(), '""quoted""', '"quoted"', '""quoted""'),
        (values.address(), "[::1]:8080", HostPort("::1", 8080), "[::1]:8080"),
        (values.optional(values.address(False)), "", None, ""),
        (
            values.ssh_keys,
            "ssh-ed25519  AAAAC3Nz  me@host ;",
            ("ssh-ed25519 AAAAC3Nz me@host",),
            "ssh-ed25519 AAAAC3Nz me@host",
        ),
        (values.country, "de", "DE", "DE"),
    ],
)
def test_parse_and_format(
    vtype: values.ValueType, text: str, value: object, formatted: str
) -> None:
    assert vtype.parse(values.unquote(text)) == value
    assert vtype.format(value) == formatted
    assert vtype.parse(values.unquote(formatted)) == value


def test_unquote_removes_one_pair_after_stripping() -> None:
    assert values.unquote('  "a b"  ') == "a b"
    assert values.unquote('"') == '"'
    assert values.unquote('"a') == '"a'


def test_number_text_is_short_and_exact() -> None:
    assert values.number_text(5.0) == "5"
    assert values.number_text(0.1) == "0.1"
    assert float(values.number_text(1 / 3)) == 1 / 3


def test_control_characters_never_pass() -> None:
    for bad in ("a\nb", "a\rb", "a\x85b", "a\u2028b", "a\ud800b"):
        with pytest.raises(Invalid):
            values.text().parse(bad)


def test_huge_numbers_are_invalid_not_crashes() -> None:
    for vtype in (
        values.integer(0, 10),
        values.number(0, 10),
        values.scaled(0, 10, 1000, "k", "x"),
    ):
        with pytest.raises(Invalid):
            vtype.parse("9" * 5000)
    with pytest.raises(Invalid):
        values.number(0, 10).parse("1e999")


def test_timezone_database_when_present() -> None:
    zones = values._known_zones()
    if not zones:
        pytest.skip("no time zone database on this machine: only the shape is checked")
    assert values.timezone.parse("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(Invalid, match='did you mean "Europe/Berlin"'):
        values.timezone.parse("Europe/Berln")


def test_a_stock_hostname_gets_a_suffix_of_the_machine_id(tmp_path, monkeypatch):
    import socket

    from smartcam.config.names import hostname_name

    machine_id = tmp_path / "machine-id"
    machine_id.write_text("5f3a0c2e9b1d4e7f8a6b2c4d1e0f9a8b\n")
    monkeypatch.setattr(socket, "gethostname", lambda: "raspberrypi")
    assert hostname_name(machine_id) == "raspberrypi-9a8b"  # one per machine, not per fleet
    monkeypatch.setattr(socket, "gethostname", lambda: "Front-Door.lan")
    assert hostname_name(machine_id) == "front-door"  # a name someone chose is kept
    monkeypatch.setattr(socket, "gethostname", lambda: "raspberrypi")
    assert hostname_name(tmp_path / "none") == "raspberrypi"  # no machine id: as it is


def test_a_password_in_a_url_is_never_shown():
    assert values.without_password("rtsp://nvr:s3cret@cam.local:554/live") \
        == "rtsp://nvr:***@cam.local:554/live"
    assert values.without_password("rtsp://cam.local/live") == "rtsp://cam.local/live"
    assert values.without_password("rtsp://a:p@ss@cam:99999/x@y") == "rtsp://a:***@cam:99999/x@y"
    assert values.without_password("RTSP://[::1:554/a:b@c") == "RTSP://[::1:554/a:b@c"
