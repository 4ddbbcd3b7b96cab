"""`notifier test-rule … --locale L | --all-locales [--templates DIR]`: rendered messages printed for review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notifier.cli import main
from notifier.i18n import SUPPORTED
from notifier.models.codec import event_to_dict
from tests.support.i18n import SHIPPED_RULES, failed_publish

Capture = pytest.CaptureFixture[str]


def event_file(tmp_path: Path, locale: str = "de-DE") -> Path:
    """A recorded failed publish of a job in `locale`, as `notifier watch` prints events."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event_to_dict(failed_publish(locale).event), ensure_ascii=False), encoding="utf-8")
    return path


def run_test_rule(tmp_path: Path, *options: str) -> int:
    return main(["test-rule", str(SHIPPED_RULES), "--event", str(event_file(tmp_path)), *options])


def titles(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.startswith("  [")]


def test_without_a_locale_the_message_is_in_the_job_locale(tmp_path: Path, capsys: Capture) -> None:
    """By default test-rule shows what would be sent: the job's own locale."""
    assert run_test_rule(tmp_path) == 0
    assert titles(capsys.readouterr().out) == ["[de-DE] Veröffentlichungsauftrag „Spring catalog“ ist fehlgeschlagen"]


def test_locale_option_renders_the_message_in_that_locale(tmp_path: Path, capsys: Capture) -> None:
    """--locale ja-JP prints the Japanese title and the Japanese text below it."""
    assert run_test_rule(tmp_path, "--locale", "ja-JP") == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert titles(out) == ["[ja-JP] 公開ジョブ「Spring catalog」が失敗しました"]
    assert "    3 件のファイルでエラーが発生しました。" in out.splitlines()
    assert "    この通知はルール「failed-publish」に基づき dmc-notifier から送信されました。" in out.splitlines()


def test_all_locales_prints_one_message_per_catalog(tmp_path: Path, capsys: Capture) -> None:
    """--all-locales prints the message once per supported locale, in order, each one different."""
    assert run_test_rule(tmp_path, "--all-locales") == 0
    shown = titles(capsys.readouterr().out)
    assert [line.split("]")[0][1:] for line in shown] == list(SUPPORTED)
    assert len({line.split("] ", 1)[1] for line in shown}) == len(SUPPORTED)


@pytest.mark.parametrize(
    ("asked", "shown", "note"),
    [
        ("ja-JP", "ja-JP", None),
        ("ja", "ja-JP", "'ja' has no catalog of its own: it is worded and formatted as ja-JP, as a job would be"),
        ("nb-NO", "sv-SE", "'nb-NO' has no catalog of its own: it is worded and formatted as sv-SE, as a job would be"),
        ("zh-HK", "zh-TW", "'zh-HK' is worded with the zh-TW catalog and formatted as zh-HK, as a job would be"),
        ("en-GB", "en-US", "'en-GB' is worded with the en-US catalog and formatted as en-GB, as a job would be"),
        (
            "xx-YY",
            "de-DE",
            "there is no catalog for 'xx-YY': a job in that locale is written in its company's locale, else en-US "
            "(each message below shows which)",
        ),
    ],
)
def test_locale_option_says_truthfully_how_the_message_is_written(
    tmp_path: Path, capsys: Capture, asked: str, shown: str, note: str | None
) -> None:
    """--locale renders as a job in that locale would be (a locale we cannot serve falls to the company's,
    de-DE here), and stderr says which catalog words it and which locale formats it."""
    path = tmp_path / "event.json"
    event = event_to_dict(failed_publish("de-DE").event)
    event["company"]["locale"] = "de-DE"
    path.write_text(json.dumps(event, ensure_ascii=False), encoding="utf-8")
    assert main(["test-rule", str(SHIPPED_RULES), "--event", str(path), "--locale", asked]) == 0
    captured = capsys.readouterr()
    assert titles(captured.out)[0].startswith(f"[{shown}] ")
    assert captured.err == (f"note: {note}\n" if note else "")


def test_templates_option_renders_with_the_overrides(tmp_path: Path, capsys: Capture) -> None:
    """--templates shows the user's templates, falling back per part, with a note when one fails."""
    templates = tmp_path / "templates"
    (templates / "ja-JP").mkdir(parents=True)
    (templates / "ja-JP" / "title.j2").write_text("【DMC】{{ headline }}", encoding="utf-8")
    (templates / "summary.j2").write_text("{{ log.file_error_count / 0 }}", encoding="utf-8")
    assert run_test_rule(tmp_path, "--locale", "ja-JP", "--templates", str(templates)) == 0
    out = capsys.readouterr().out
    assert titles(out) == ["[ja-JP] 【DMC】公開ジョブ「Spring catalog」が失敗しました"]
    assert f"    ! template failed, fallback used: {templates}/summary.j2:1: ZeroDivisionError" in out


def test_broken_templates_fail_the_command_as_file_line(tmp_path: Path, capsys: Capture) -> None:
    """A template that does not compile is reported as file:line, and nothing is evaluated."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "text.j2").write_text("ok\n{% for %}", encoding="utf-8")
    assert run_test_rule(tmp_path, "--templates", str(templates)) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{templates}/text.j2:2: ")
    assert titles(captured.out) == []
