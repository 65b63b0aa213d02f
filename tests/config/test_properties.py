"""Properties: any input loads or raises ConfigError; as_text and set_values round-trip."""

from __future__ import annotations

import re
import string
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcam import config
from smartcam.config import docs, edit, parse
from smartcam.config.checks import SPOOL_SHARE
from smartcam.config.schema import SCENES, SETTINGS
from smartcam.config.values import HostPort
from smartcam.errors import ConfigError

# database=None: no .hypothesis/ directory in the work tree; deadline=None: the first time zone
# check reads the tz database, which would look like a slow example.
FAST = settings(max_examples=150, deadline=None, database=None)
SLOW = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def even(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo // 2, hi // 2).map(lambda n: n * 2)


names = st.from_regex(r"[a-z0-9][a-z0-9-]{0,31}", fullmatch=True)
words = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=40)
hosts = st.sampled_from(["cam2.local", "10.0.0.7", "nas", "fe80::1", "a-b.example.org"])
address = st.builds(HostPort, hosts, st.integers(1, 65535))
loose_address = st.builds(HostPort, hosts, st.none() | st.integers(1, 65535))
point = st.tuples(floats(0, 100), floats(0, 100))
paths = st.sampled_from(["/run/x.sock", "/var/spool/smartcam", "/tmp/a b/c", "/mnt/nas"]).map(Path)


@st.composite
def camera(draw: st.DrawFn) -> dict[str, Any]:
    w, h = draw(even(64, 4096)), draw(even(64, 4096))
    pre = draw(floats(0, 60))
    # The longest clip must fit the default spool (checks.py), whatever the other sections are.
    bits = SPOOL_SHARE * 256 * 2**20 * 8
    shortest = max(5, pre + 1)
    bitrate = min(draw(st.integers(100_000, 50_000_000)), int(bits / (shortest + pre + 1)))
    longest = min(3600, bits / bitrate - pre - 1)
    return {
        "name": draw(names),
        "group": draw(names),
        "source": draw(
            st.sampled_from(["picamera2", "synthetic", *(f"synthetic:{s}" for s in SCENES)])
            | words.filter(lambda w: w.strip() == w and w).map(lambda p: f"file:{p}")
        ),
        "resolution": (w, h),
        "lores": (draw(even(32, min(w, 1280))), draw(even(32, min(h, 1280)))),
        "fps": draw(floats(1, 120)),
        "bitrate": bitrate,
        "pre_record": pre,
        "post_record": draw(floats(0, 600)),
        "max_clip": draw(floats(shortest, longest)),
        "stall_timeout": draw(floats(0.5, 120)),
        "control_socket": draw(paths),
        "live_path": draw(paths),
        "live_fps": draw(floats(0.2, 30)),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


SECTIONS = {
    "camera": camera(),
    "motion": st.fixed_dictionaries(
        {
            "enabled": st.booleans(),
            "min_area": floats(0.01, 100),
            "noise_factor": floats(0.5, 20),
            "min_diff": st.integers(1, 255),
            "min_frames": st.integers(1, 100),
            "lightswitch": floats(1, 100),
            "background_time": floats(0.1, 600),
            "subsample": st.integers(1, 8),
            "despeckle": st.booleans(),
            "mask": st.lists(st.lists(point, min_size=3, max_size=6).map(tuple), max_size=3).map(
                tuple
            ),
        }
    ),
    "storage": st.fixed_dictionaries(
        {
            "spool": paths,
            "spool_size": st.integers(256 * 2**20, 64 * 2**30),  # holds any camera drawn
            "nas": paths,
            "type": st.just("cifs"),
            "share": st.sampled_from(["", "//nas.local/cams", "//10.0.0.2/Video Clips"]),
            "username": words,
            "password": words,
            "retention_days": st.integers(0, 36500),
            "min_free": floats(0, 90),
        }
    ),
    "peers": st.fixed_dictionaries(
        {
            "enabled": st.just(False),
            "secret": words,
            "static": st.lists(loose_address, max_size=3).map(tuple),
            "port": st.integers(0, 65535),
            "interfaces": st.lists(
                st.sampled_from(["eth0", "wlan0", "lo", "10.0.0.7"]), max_size=3
            ).map(tuple),
        }
    ),
    "web": st.fixed_dictionaries({
        "listen": address,
        "video_listen": address,
        "title": words,
        "hosts": st.lists(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True),
                          max_size=3).map(tuple),
        "password": st.just("") | st.text(st.sampled_from(string.ascii_letters + " #="),
                                          min_size=8, max_size=30).map(lambda p: f"x{p}x"),
    }),
    "system": st.fixed_dictionaries(
        {
            "hostname": st.from_regex(
                r"|[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?", fullmatch=True
            ),
            "timezone": st.sampled_from(["", "UTC"]),
            "wifi_ssid": st.just(""),
            "wifi_password": st.text(
                st.sampled_from(string.printable[:95]), min_size=8, max_size=63
            ),
            "wifi_country": st.sampled_from(["", "GB", "US"]),
            "ssh_authorized_keys": st.lists(
                st.from_regex(
                    r"ssh-ed25519 [A-Za-z0-9+/]{8,40}={0,2}( [a-z@.]{1,10})?", fullmatch=True
                ),
                max_size=2,
            ).map(tuple),
            "syslog_host": st.none() | loose_address,
        }
    ),
    "master": st.fixed_dictionaries(
        {
            "enabled": st.just(False),
            "listen": address,
            "url": st.none() | st.just("https://master.example:8443/cams"),
            "https_listen": address,
            "http_listen": st.none() | address,
            "certificate": st.just(None),
            "key": st.just(None),
            "state_dir": st.just(Path("/var/lib/smartcam-master")),
            "username": st.just("admin"),
            "password_hash": st.none() | st.just(
                "scrypt$15$8$3$0Z5EHfayQgAraSy/lc7DAw==$6u2f69LUS9Dwuo3bbyAl9jRZpmBiKX5uLwMd5zWCMnY="),
            "idle_timeout": st.sampled_from([60.0, 43200.0]),
            "webhook": st.none() | st.just("https://hooks.example/smartcam?x=1"),
            "webhook_secret": words,
            "smtp": st.none() | loose_address,
            "smtp_user": words,
            "smtp_password": words,
            "mail_from": st.just("cams@example.org"),
            "mail_to": st.sampled_from(["", "a@b.c", "a@b.c, d@e.f"]),
            "notify_limit": st.integers(1, 1000),
            "session_lifetime": st.sampled_from([300.0, 2592000.0]),
        }
    ),
    "mqtt": st.fixed_dictionaries(
        {
            "enabled": st.booleans(),
            "broker": loose_address,  # always set: enabled needs it
            "tls": st.just(True),  # ca_file needs it
            "ca_file": st.none() | paths,
            "username": words,
            "password_file": st.none() | paths,
            "topic_prefix": st.from_regex(r"[a-z0-9_-]{1,10}(/[a-z0-9]{1,5}){0,2}", fullmatch=True),
            "client_id": st.from_regex(r"[A-Za-z0-9_.-]{0,20}", fullmatch=True),
            "discovery": st.booleans(),
            "discovery_prefix": st.just("homeassistant"),
            "motion_off_delay": floats(0, 3600),
        }
    ),
    "rtsp": st.fixed_dictionaries(
        {
            "enabled": st.booleans(),
            "listen": address,
            "username": st.just("nvr"),  # the password needs it, and it the password
            "password": st.text(st.sampled_from(string.ascii_letters + "#=:"),
                                min_size=8, max_size=30).map(lambda p: f"x{p}x"),
        }
    ),
}
configs = st.fixed_dictionaries(SECTIONS).map(
    lambda sections: config.Config(
        **{
            name: type(getattr(config.default(), name))(**values)
            for name, values in sections.items()
        }
    )
)


@settings(max_examples=1, database=None)
@given(st.fixed_dictionaries(SECTIONS))
def test_strategies_cover_every_setting(example: dict[str, dict[str, Any]]) -> None:
    assert {s: set(v) for s, v in example.items()} == {s: set(v) for s, v in SETTINGS.items()}


def loads_or_config_error(text: str) -> None:
    try:
        config.from_text(text, "fuzz.conf")
    except ConfigError as err:
        assert err.problems  # type: ignore[attr-defined]
        assert all(str(p).startswith("fuzz.conf") for p in err.problems)  # type: ignore[attr-defined]


# pieces that make arbitrary text look like INI often enough to reach past the line reader
TOKENS = st.sampled_from(
    ["[", "]", "=", " = ", "#", ";", "\n", "\r\n", '"', " ", "\ufeff", ",", ":", "x"]
    + [f"[{s}]\n" for s in SETTINGS]
    + [k for settings in SETTINGS.values() for k in settings]
    + ["0", "5", "-1", "1e9", "4M", "1280x720", "0,0 50,0 50,50", "true", "::1", "/run/a"]
)
ini_like = st.lists(TOKENS | st.text(max_size=4), max_size=80).map("".join)


@FAST
@given(st.text(max_size=400) | ini_like)
def test_arbitrary_text_loads_or_raises_config_error(text: str) -> None:
    loads_or_config_error(text)


@FAST
@given(st.binary(max_size=400))
def test_arbitrary_bytes_load_or_raise_config_error(data: bytes) -> None:
    try:
        parse.from_bytes(data, "fuzz.conf")
    except ConfigError:
        pass


# the example with every key uncommented: a valid file with every key at its default
VALID = re.sub(r"^#(\w+ =)", r"\1", docs.render_example(), flags=re.MULTILINE).splitlines()


def test_the_file_to_mangle_is_valid() -> None:
    expected = config.default().replace("camera", name="frontdoor")  # an example, not default
    assert config.from_text("\n".join(VALID)) == expected


@FAST
@given(st.data())
def test_mangled_valid_files_load_or_raise_config_error(data: st.DataObject) -> None:
    lines = list(VALID)
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["cut", "insert", "dup", "drop", "value", "crlf"]))
        if op == "cut":
            j = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:j]
        elif op == "insert":
            j = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:j] + data.draw(st.text(max_size=5)) + lines[i][j:]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "drop":
            del lines[i]
        elif op == "value" and " = " in lines[i]:
            lines[i] = lines[i].split(" = ")[0] + " = " + data.draw(st.text(max_size=12))
        elif op == "crlf":
            lines[i] += "\r"
    loads_or_config_error("\n".join(lines))


@FAST
@given(configs)
def test_as_text_round_trips(cfg: config.Config) -> None:
    assert config.from_text(cfg.as_text(mask_secrets=False)) == cfg


@SLOW
@given(configs, configs, st.sets(st.sampled_from(list(SETTINGS)), min_size=1), st.booleans())
def test_set_values_then_load_gives_the_new_values(
    old: config.Config, new: config.Config, sections: set[str], from_example: bool
) -> None:
    # value text, as typed into the file or a form (a str is written as it is, unquoted)
    changes = {
        s: {k: SETTINGS[s][k].type.format(v) for k, v in getattr(new, s).as_dict().items()}
        for s in sections
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "smartcam.conf"
        text = docs.render_example() if from_example else old.as_text(mask_secrets=False)
        path.write_text(text)
        edit.set_values(path, changes)
        loaded = config.load(path)
        base = config.default() if from_example else old
        for s in SETTINGS:
            assert getattr(loaded, s) == getattr(new if s in sections else base, s)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)


@FAST
@given(
    st.sampled_from(list(SETTINGS)),
    st.dictionaries(st.sampled_from(["mask", "fps", "min_area", "bogus", "enabled"]), json_values),
)
def test_replace_with_any_json_returns_a_config_or_raises_config_error(
    section: str, values: dict[str, Any]
) -> None:
    """The camera's control socket hands `set` values straight from JSON to replace()."""
    try:
        config.default().replace(section, **values)
    except ConfigError:
        pass
