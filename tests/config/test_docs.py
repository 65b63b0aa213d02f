"""The generated docs and example match the table (regenerate: python -m smartcam.config.docs)."""

from __future__ import annotations

from smartcam import config
from smartcam.config import docs
from smartcam.config.schema import SETTINGS


def test_generated_files_are_up_to_date() -> None:
    for path, text in docs.outputs().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} drifted from smartcam/config/schema.py: "
            "run `.venv/bin/python -m smartcam.config.docs` and commit the result"
        )
    assert docs.main(["--check"]) == 0


def test_example_is_the_defaults_and_documents_every_key() -> None:
    example = docs.render_example()
    assert config.from_text(example) == config.default()
    markdown = docs.render_markdown()
    for section, settings in SETTINGS.items():
        assert f"\n[{section}]\n" in example and f"## [{section}]" in markdown
        for name in settings:
            assert f"\n#{name} =" in example and f"| `{name}` |" in markdown


def test_example_opens_with_the_banner() -> None:
    head = docs.render_example()[:1500]
    for words in (
        "any text editor",
        "/boot/firmware/smartcam.conf",
        "every boot",
        "web page",
        "keeping your",
        "never run by a shell",
        "cloud-init",
    ):
        assert words in head.replace("\n# ", " ")


def test_drift_is_reported(tmp_path) -> None:
    assert docs.main(["--check", "--root", str(tmp_path)]) == 1
    assert docs.main(["--root", str(tmp_path)]) == 0
    assert docs.main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / "docs" / "config.md").write_text("stale")
    assert docs.main(["--check", "--root", str(tmp_path)]) == 1
