"""Hand-written cases: each kind of mistake in smartcam.conf gives its own clear Problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcam import config
from smartcam.config import parse
from smartcam.config.values import HostPort
from smartcam.errors import ConfigError


def problems(text: str) -> list[str]:
    with pytest.raises(config.ConfigProblems) as info:
        config.from_text(text, "f.conf")
    assert str(info.value) == "\n".join(map(str, info.value.problems))
    return [str(p) for p in info.value.problems]


def test_defaults_and_attribute_access() -> None:
    cfg = config.default()
    assert cfg.path is None
    assert cfg.camera.pre_record == 5.0 and cfg.camera.resolution == (1280, 720)
    assert cfg.camera.bitrate == 4_000_000 and cfg.motion.mask == ()
    assert cfg.web.listen == HostPort("127.0.0.1", 8080)
    assert cfg.storage.spool_size == 256 * 2**20
    assert cfg.motion.as_dict()["min_area"] == 0.5
    assert config.from_text("") == cfg
    with pytest.raises(AttributeError):  # frozen
        cfg.camera.fps = 10  # type: ignore[misc]


def test_values_of_every_kind_parse() -> None:
    cfg = config.from_text(
        "\n".join(
            [
                "# comment",
                "; another",
                "[Camera]  # header comments are fine",
                'NAME = "front-door"',
                "source = synthetic:walkers",
                "resolution = 1920 x 1080",
                "bitrate = 800k",
                "fps = 12.5",
                "[motion]",
                "enabled = Off",
                "mask = 0,0 100,0 100,20 0,20; 70, 60 100,60 100,100 70,100;",
                "[storage]",
                "spool_size = 1G",
                "share = //nas.local/cams",
                "password = p#ss = word",
                "[peers]",
                "static = cam2.local, 10.0.0.7:8080, [fe80::1]:80",
                "[system]",
                "timezone = UTC",
                'wifi_ssid = " My Net "',
                "wifi_country = gb",
                "syslog_host = logs.lan",
                "[master]",
                "enabled = yes",
                "password_hash = scrypt$15$8$3$0Z5EHfayQgAraSy/lc7DAw==$"
                "6u2f69LUS9Dwuo3bbyAl9jRZpmBiKX5uLwMd5zWCMnY=",
            ]
        )
    )
    assert cfg.camera.name == "front-door" and cfg.camera.source == "synthetic:walkers"
    assert cfg.camera.resolution == (1920, 1080) and cfg.camera.bitrate == 800_000
    assert cfg.camera.fps == 12.5 and cfg.motion.enabled is False
    assert cfg.motion.mask[1] == ((70, 60), (100, 60), (100, 100), (70, 100))
    assert cfg.storage.spool_size == 2**30 and cfg.storage.password == "p#ss = word"
    assert cfg.peers.static == (
        HostPort("cam2.local"),
        HostPort("10.0.0.7", 8080),
        HostPort("fe80::1", 80),
    )
    assert cfg.system.wifi_ssid == " My Net " and cfg.system.wifi_country == "GB"
    assert cfg.system.syslog_host == HostPort("logs.lan")
    assert cfg.master.enabled and cfg.master.password_hash.startswith("scrypt$15$")


def test_bad_value_names_file_line_key_value_and_what_is_allowed() -> None:
    assert problems("[camera]\n\nfps = abc\n") == [
        'f.conf:3: [camera] fps = "abc": expected a number from 1 to 120'
    ]


@pytest.mark.parametrize(
    "key, value",
    [
        ("camera", "name = -cam"),
        ("camera", "name = Cam"),
        ("camera", "name = " + "a" * 33),
        ("camera", "name = con"),  # a folder on the NAS: Windows keeps these names
        ("camera", "name = lpt1"),
        ("camera", "source = webcam"),
        ("camera", "source = synthetic:dancers"),
        ("camera", "source = file:"),
        ("camera", "resolution = 1281x720"),
        ("camera", "resolution = 8192x720"),
        ("camera", "resolution = 1280"),
        ("camera", "fps = 0"),
        ("camera", "fps = nan"),
        ("camera", "fps = 1_0"),
        ("camera", "bitrate = 4G"),
        ("camera", "bitrate = 50k"),
        ("camera", "bitrate = 1.0000005M"),
        ("camera", "pre_record = 61"),
        ("camera", "seed = 1.5"),
        ("camera", "control_socket = run/x.sock"),
        ("motion", "enabled = maybe"),
        ("motion", "min_diff = 256"),
        ("motion", "mask = 0,0 100,0"),
        ("motion", "mask = 0,0 100,0 101,5"),
        ("motion", "mask = 0,0 100 100,5"),
        ("storage", "spool_size = 8M"),
        ("storage", "type = smb"),
        ("storage", "username = a\x00b"),
        ("peers", "static = host:0"),
        ("peers", "static = bad_host"),
        ("web", "listen = 127.0.0.1"),
        ("web", "listen = [zz]:80"),
        ("system", "timezone = not a zone"),
        ("system", "wifi_password = short"),
        ("system", "wifi_country = GBR"),
        ("system", "ssh_authorized_keys = hello"),
        ("system", "hostname = -x"),
        ("master", "username = a b"),
    ],
)
def test_bad_values_are_problems(key: str, value: str) -> None:
    (problem,) = problems(f"[{key}]\n{value}\n")
    assert problem.startswith(f"f.conf:2: [{key}] {value.split(' = ')[0]} = ")
    assert ": expected " in problem


def test_unknown_key_did_you_mean() -> None:
    assert problems("[camera]\npre_roll = 3\n") == [
        'f.conf:2: [camera] pre_roll: unknown key; did you mean "pre_record"?'
    ]


def test_unknown_key_of_another_section_says_where_it_belongs() -> None:
    assert problems("[camera]\nspool_size = 64M\n") == [
        "f.conf:2: [camera] spool_size: unknown key; it belongs in [storage]"
    ]


def test_unknown_section_did_you_mean_and_its_keys_are_not_reported_again() -> None:
    assert problems("[moton]\nmin_area = 1\nwhatever = 2\n") == [
        'f.conf:1: [moton]: unknown section; did you mean "motion"?'
    ]
    (problem,) = problems("[zzz]\n")
    assert "unknown section; sections are camera, motion" in problem


def test_renamed_key() -> None:
    assert problems("[camera]\nprerecord = 3\n") == [
        "f.conf:2: [camera] prerecord: `prerecord` was renamed to `pre_record`"
    ]


def test_duplicates_and_lines_that_are_not_settings() -> None:
    assert problems("[camera]\nfps = 10\nFPS = 12\n[motion]\n[camera]\njunk\n[]\n") == [
        "f.conf:3: [camera] fps: duplicate key; already set on line 2",
        "f.conf:5: [camera]: duplicate section; it already started on line 1",
        'f.conf:6: "junk": expected "key = value", a [section] header, '
        "or a comment starting # or ;",
        'f.conf:7: "[]": expected "key = value", a [section] header, or a comment starting # or ;',
    ]


def test_setting_before_any_section() -> None:
    assert problems("fps = 10\n") == [
        "f.conf:1: fps: setting before any [section]; put it under [camera]"
    ]


def test_all_problems_reported_together_in_line_order() -> None:
    found = problems("[camera]\nfps = 0\nlores = 9x9\n[motion]\nsubsample = 9\n")
    assert [p.split(":")[1] for p in found] == ["2", "3", "5"]


def test_cross_key_checks() -> None:
    assert problems("[camera]\nlores = 640x480\nresolution = 640x360\n") == [
        'f.conf:2: [camera] lores = "640x480": must not be larger than resolution = 640x360 '
        "in either direction"
    ]
    assert problems("[camera]\npre_record = 20\nmax_clip = 20\n") == [
        'f.conf:3: [camera] max_clip = "20": must be more than pre_record = 20'
    ]
    (share,) = problems("[storage]\ntype = nfs\nshare = //nas/cams\n")
    assert share.startswith('f.conf:3: [storage] share = "//nas/cams": expected server:/')
    assert config.from_text("[storage]\ntype = nfs\nshare = nas:/export/cams\n")
    # reported on the line that is there when the key itself is missing
    assert problems("[system]\nwifi_ssid = home\n") == [
        "f.conf:2: [system] wifi_country: needed when wifi_ssid is set"
    ]
    (bad_hash,) = problems("[master]\nenabled = true\npassword_hash = $argon2id$v=19$abc\n")
    assert bad_hash.startswith('f.conf:3: [master] password_hash = "********": expected empty, '
                               "or a hash printed by smartcam master --hash-password")


def test_a_spool_that_cannot_hold_the_longest_clip_is_refused_naming_the_keys() -> None:
    assert config.default()  # 4 Mbit/s, 300 s clips, a 256 MiB spool: one clip fits
    (found,) = problems("[camera]\nbitrate = 20M\nmax_clip = 600\n[storage]\nspool_size = 256M\n")
    assert found.startswith('f.conf:5: [storage] spool_size = "256M": is too small for one clip')
    for key in ("bitrate", "max_clip", "pre_record", "1445M", "1927M"):
        assert key in found
    # reported on a line of the camera's when spool_size is left at its default
    (found,) = problems("[camera]\nbitrate = 20M\nmax_clip = 600\n")
    assert found.startswith("f.conf:2: [storage] spool_size: is too small")


def test_cross_key_check_skipped_when_a_value_is_already_wrong() -> None:
    assert len(problems("[camera]\nlores = 640x480\nresolution = 64x\n")) == 1


def test_secrets_are_masked_in_problems_and_in_as_text() -> None:
    (problem,) = problems("[system]\nwifi_password = short\n")
    assert "short" not in problem and "********" in problem
    cfg = config.from_text("[storage]\npassword = hunter22\n")
    assert "hunter22" not in cfg.as_text() and "password = ********" in cfg.as_text()
    assert "password = hunter22" in cfg.as_text(mask_secrets=False)


def test_a_password_inside_an_rtsp_source_is_masked_and_the_rest_shown() -> None:
    cfg = config.from_text("[camera]\nsource = rtsp://admin:hunter22@192.0.2.7:554/live\n")
    assert "source = rtsp://admin:***@192.0.2.7:554/live\n" in cfg.as_text()
    assert "hunter22" in cfg.as_text(mask_secrets=False)
    (problem,) = problems("[camera]\nsource = rtsp://admin:hunter22@/live\n")  # no host
    assert "hunter22" not in problem and "rtsp://admin:***@" in problem


def test_crlf_and_bom_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "smartcam.conf"
    path.write_bytes(b"\xef\xbb\xbf[camera]\r\nfps = 15\r\n\r\n[motion]\r\nmin_area = 2\r\n")
    cfg = config.load(path)
    assert cfg.camera.fps == 15 and cfg.motion.min_area == 2 and cfg.path == path


def test_bad_encoding_is_a_problem_per_line(tmp_path: Path) -> None:
    path = tmp_path / "smartcam.conf"
    path.write_bytes(b"[camera]\nname = caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(info.value) == f"{path}:2: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    path.write_bytes("[camera]\n".encode("utf-16"))
    with pytest.raises(ConfigError, match="saved as UTF-16"):
        config.load(path)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(tmp_path / "nope.conf")
    assert str(info.value) == f"{tmp_path / 'nope.conf'}: file not found"
    assert info.value.exit_status == 78
    with pytest.raises(ConfigError, match="file not found"):
        config.load(env={"SMARTCAM_CONF": str(tmp_path / "nope.conf")})
    with pytest.raises(ConfigError, match="cannot read it"):
        config.load(tmp_path)


def test_load_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "firmware.conf", tmp_path / "boot.conf"
    monkeypatch.setattr(parse, "DEFAULT_PATHS", (first, second))
    assert config.load(env={}).path is None  # neither exists: defaults only
    second.write_text("[camera]\nfps = 2\n")
    assert config.load(env={}).camera.fps == 2
    first.write_text("[camera]\nfps = 1\n")
    assert config.load(env={}).camera.fps == 1
    env_file = tmp_path / "env.conf"
    env_file.write_text("[camera]\nfps = 3\n")
    assert config.load(env={"SMARTCAM_CONF": str(env_file)}).camera.fps == 3
    assert config.load(str(second), env={"SMARTCAM_CONF": str(env_file)}).camera.fps == 2


def test_load_or_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("[camera]\nfps = 0\nseed = x\n")
    with pytest.raises(SystemExit) as info:
        config.load_or_exit(bad)
    assert info.value.code == 78
    err = capsys.readouterr().err
    assert f"{bad}:2: [camera] fps" in err and f"{bad}:3: [camera] seed" in err
    assert "smartcam.conf.example" in err


def test_replace_validates_and_returns_a_new_config() -> None:
    cfg = config.from_text("[camera]\nfps = 10\n")
    new = cfg.replace("camera", fps=15, pre_record="7", resolution=(640, 480))
    assert (new.camera.fps, new.camera.pre_record, new.camera.resolution) == (15, 7, (640, 480))
    assert cfg.camera.fps == 10 and new.motion == cfg.motion
    with pytest.raises(config.ConfigProblems) as info:
        cfg.replace("camera", fps=500, prerol=1, lores=(2000, 2000), resolution=5)
    found = [str(p) for p in info.value.problems]
    assert found[0] == '<set>: [camera] fps = "500": expected a number from 1 to 120'
    assert any("prerol: unknown key" in p for p in found)
    assert any('resolution = "5"' in p for p in found)
    with pytest.raises(ConfigError, match="did you mean"):
        cfg.replace("camra", fps=1)
    with pytest.raises(ConfigError, match="must be more than pre_record"):
        cfg.replace("camera", pre_record=30, max_clip=30)


def test_as_text_round_trips() -> None:
    cfg = config.from_text('[motion]\nmask = 0,0 50.5,0 50,50\n[peers]\nsecret = " s "\n')
    assert config.from_text(cfg.as_text(mask_secrets=False)) == cfg
    assert config.from_text(config.default().as_text()) == config.default()


def test_suffixes_are_exact_decimals() -> None:
    assert config.from_text("[camera]\nbitrate = 1.1M\n").camera.bitrate == 1_100_000
    assert config.from_text("[storage]\nspool_size = 1.5G\n").storage.spool_size == 3 * 2**29


def test_a_bad_line_that_may_hold_a_secret_is_masked_and_long_lines_are_cut() -> None:
    found = problems("[system]\nwifi_password: hunter22\n" + "x" * 300 + "\n")
    assert found[0].startswith('f.conf:2: "wifi_password ********": expected "key = value"')
    assert "hunter22" not in "".join(found)
    assert '"' + "x" * 79 + '…": expected' in found[1]


def test_an_inline_comment_is_explained() -> None:
    (found,) = problems("[camera]\nfps = 15  # fifteen\n")
    assert "expected a number from 1 to 120" in found
    assert "put comments on a line of their own" in found
    (found,) = problems("[camera]\nfps = fifteen\n")
    assert "comments" not in found  # only when a comment is what broke the value
