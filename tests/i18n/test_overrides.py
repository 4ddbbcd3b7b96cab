"""User templates: overridden per rule and per locale, checked as file:line at load, never costing a notification."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from jinja2 import DictLoader
from structlog.testing import capture_logs

from notifier.cli import main
from notifier.compose import render as render_module
from notifier.compose.composer import Composer
from notifier.compose.render import Renderer
from notifier.engine.evaluate import Decision, Engine
from notifier.engine.rules import load_rules
from notifier.i18n import SUPPORTED
from notifier.ingest.marks import PollDone
from notifier.models import Event
from notifier.runtime.clock import ManualClock
from notifier.store.records import PENDING
from notifier.store.sqlite.store import SqliteStore
from tests.support.i18n import T0, company, decision, failed_publish, job

Files = dict[str, str | bytes]


def templates(root: Path, files: Files) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def started_in(locale: str) -> Decision:
    """A decision of a rule other than failed-publish, so that rule's folder does not apply."""
    return decision(Event("job.started", T0, company(), job(locale)), name="job-starts")


LAYERED: Files = {
    "title.j2": "any: {{ headline }}",
    "ja-JP/title.j2": "ja: {{ headline }}",
    "failed-publish/title.j2": "rule: {{ headline }}",
    "failed-publish/ja-JP/title.j2": "rule+ja: {{ headline }}",
}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (lambda: failed_publish("ja-JP"), "rule+ja: 公開ジョブ「Spring catalog」が失敗しました"),
        (lambda: failed_publish("de-DE"), "rule: Veröffentlichungsauftrag „Spring catalog“ ist fehlgeschlagen"),
        (lambda: started_in("ja-JP"), "ja: ジョブ「Spring catalog」が開始されました"),
        (lambda: started_in("de-DE"), "any: Auftrag „Spring catalog“ wurde gestartet"),
    ],
)
def test_the_most_specific_override_wins(tmp_path: Path, case: Callable[[], Decision], expected: str) -> None:
    """<rule>/<locale>/ beats <rule>/, which beats <locale>/, which beats the top level; headlines stay built in."""
    renderer = Renderer(templates(tmp_path, LAYERED))
    assert renderer.check() == []
    assert renderer.render(case()).notification.message.title == expected


def test_an_override_can_use_the_catalogs(tmp_path: Path) -> None:
    """A user template's {% trans %} of a catalog message is translated like the built-in ones."""
    renderer = Renderer(templates(tmp_path, {"summary.j2": "{% trans %}Company{% endtrans %}: {{ company_name }}"}))
    message = renderer.render(failed_publish("ja-JP")).notification.message
    assert message.summary == "会社: Planetary"
    assert "\n会社: Planetary\n" in message.text


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"title.j2": "{% if %}"}, "title.j2:1: Expected an expression"),
        ({"text.j2": "line one\n{{ job.name | shout }}"}, "text.j2:2: No filter named 'shout'"),
        ({"subject.j2": "x"}, "subject.j2:1: unknown template part 'subject'"),
        ({"ja_JP/title.j2": "x"}, "ja_JP/title.j2:1: unknown locale folder 'ja_JP' (did you mean 'ja-JP'?)"),
        ({"rule/jp/title.j2": "x"}, "rule/jp/title.j2:1: unknown locale folder 'jp' (did you mean 'ja-JP'?)"),
        ({"rule/pt/title.j2": "x"}, "rule/pt/title.j2:1: unknown locale folder 'pt' (did you mean 'pt-BR'?)"),
        ({"rule/xx-XX/title.j2": "x"}, "rule/xx-XX/title.j2:1: unknown locale folder 'xx-XX'; locales: "),
        ({"a/b/c/title.j2": "x"}, "a/b/c/title.j2:1: too deep"),
        ({"html.j2": "<p>\n{% include 'footer.j2' %}</p>"}, "html.j2:2: template 'footer.j2' not found"),
        ({"title.j2": b"\xff\xfeT\x00"}, "title.j2:1: not UTF-8 text"),
    ],
)
def test_template_problems_are_file_line_errors(tmp_path: Path, files: Files, problem: str) -> None:
    """What would fail or never be used is reported at load time as `file:line: message`."""
    problems = Renderer(templates(tmp_path, files)).check()
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path}/{problem}")


RULES = frozenset({"failed-publish", "stalled-progress"})


@pytest.mark.parametrize(
    ("folder", "hint"),
    [
        ("xx-XX", ""),
        ("pt", " (did you mean 'pt-BR'?)"),
        ("en-GB", " (did you mean 'en-US'?)"),
        ("zh-Hant", " (did you mean 'zh-TW'?)"),
        ("jp", " (did you mean 'ja-JP'?)"),
        ("failed-publsh", " (did you mean 'failed-publish'?)"),
        ("Stalled-Progress", " (did you mean 'stalled-progress'?)"),
        ("nightly-report", ""),
    ],
)
def test_a_folder_naming_neither_a_locale_nor_a_rule_is_reported_once(tmp_path: Path, folder: str, hint: str) -> None:
    """Given the rule names, an unknown top-level folder is one `folder:` problem with a "did you mean"."""
    root = templates(tmp_path, {f"{folder}/title.j2": "x", f"{folder}/text.j2": "y", f"{folder}/de-DE/title.j2": "z"})
    problems = Renderer(root).check(RULES)
    unused = f"{root / folder}: folder {folder!r} names neither a locale nor a rule, so its templates are never used"
    listing = f"; locales: {', '.join(SUPPORTED)}; rules: failed-publish, stalled-progress"
    assert problems == [unused + (hint or listing)]


def test_a_long_rule_list_is_cut_short_in_the_message(tmp_path: Path) -> None:
    """With many rules and no close match, the message names the first ten and how many there are."""
    rules = frozenset(f"rule-{n:02d}" for n in range(1, 13))
    [problem] = Renderer(templates(tmp_path, {"nightly-report/title.j2": "x"})).check(rules)
    first_ten = ", ".join(f"rule-{n:02d}" for n in range(1, 11))
    assert problem.endswith(f"; rules: {first_ten} … (12 rules)")


def test_locale_and_rule_folders_pass_when_the_rule_names_are_given(tmp_path: Path) -> None:
    """Folders of supported locales and of loaded rules, at either level, are no problem."""
    assert Renderer(templates(tmp_path, LAYERED)).check(RULES) == []


def test_without_rule_names_an_unknown_folder_is_taken_for_a_rule(tmp_path: Path) -> None:
    """Where the rules are not known (a reload, rules that fail to load), such a folder cannot be judged."""
    assert Renderer(templates(tmp_path, {"failed-publsh/title.j2": "x", "pt/title.j2": "y"})).check() == []


def test_with_no_rules_loaded_every_rule_folder_is_unused(tmp_path: Path) -> None:
    """An empty rule set means no rule folder can ever apply, and the message says why."""
    problems = Renderer(templates(tmp_path, {"failed-publish/title.j2": "x"})).check(frozenset())
    assert [p.split(": ")[0] for p in problems] == [str(tmp_path / "failed-publish")]
    assert problems[0].endswith("; rules: none are loaded")


def test_a_missing_templates_directory_is_a_problem(tmp_path: Path) -> None:
    """A `templates:` path that does not exist is reported rather than silently ignored."""
    assert Renderer(tmp_path / "nowhere").check() == [f"{tmp_path / 'nowhere'}: templates directory does not exist"]


def test_a_template_failing_at_render_time_is_replaced_by_the_built_in_one(tmp_path: Path) -> None:
    """A runtime error in a user part renders that part from the built-in template, logged with file:line."""
    root = templates(
        tmp_path, {"title.j2": "Custom: {{ headline }}", "text.j2": "{{ title }}\n\n{{ job.progress / 0 }}"}
    )
    expected = Renderer(templates(tmp_path / "title-only", {"title.j2": "Custom: {{ headline }}"}))
    with capture_logs() as logs:
        rendered = Renderer(root).render(failed_publish("de-DE"))
    message = rendered.notification.message
    assert message.title.startswith("Custom: ")
    assert message.text == expected.render(failed_publish("de-DE")).notification.message.text
    assert rendered.problems == (
        f"{root}/text.j2:3: ZeroDivisionError: division by zero (rendered text from the built-in template)",
    )
    assert [(e["event"], e["log_level"], e["template"], e["part"], e["rule"]) for e in logs] == [
        ("template failed while rendering", "error", f"{root}/text.j2:3", "text", "failed-publish")
    ]


def test_a_sandbox_violation_is_a_render_failure_too(tmp_path: Path) -> None:
    """Reaching for Python internals is refused by the sandbox, and the built-in part is sent instead."""
    root = templates(tmp_path, {"summary.j2": "{{ ''.__class__.__mro__[1].__subclasses__() }}"})
    with capture_logs():
        rendered = Renderer(root).render(failed_publish("en-US"))
    assert rendered.notification.message.summary == "The job stopped with a fatal error.\n3 files failed."
    assert "SecurityError" in rendered.problems[0]


def test_even_a_failing_built_in_template_sends_a_minimal_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the built-in templates fail, the message still has a title and the facts, never an exception."""
    monkeypatch.setattr(render_module, "_package_loader", lambda: DictLoader({"headline.j2": "{{ 1 / 0 }}"}))
    with capture_logs():
        rendered = Renderer().render(failed_publish("de-DE"))
    message = rendered.notification.message
    assert message.title == "failed-publish Spring catalog"
    assert message.text.splitlines()[:3] == ["failed-publish Spring catalog", "", "Schweregrad: Kritisch"]
    assert (message.html, len(rendered.problems)) == (None, 5)


def test_templates_are_read_once_when_the_renderer_is_built(tmp_path: Path) -> None:
    """Editing a file under a running renderer changes nothing until the next load (start-up or SIGHUP)."""
    root = templates(tmp_path, {"title.j2": "before: {{ headline }}"})
    renderer = Renderer(root)
    (root / "title.j2").write_text("after: {{ headline }}", encoding="utf-8")
    assert renderer.render(failed_publish("en-US")).notification.message.title.startswith("before: ")


async def test_composing_commits_the_notification_when_a_user_template_fails(tmp_path: Path) -> None:
    """Through `Composer.process`, a failing user template still puts the notification in the outbox."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("- name: failed-publish\n  on: job.failed\n  notify: [{channel: ops}]\n", encoding="utf-8")
    renderer = Renderer(templates(tmp_path / "templates", {"title.j2": "{{ job.progress / 0 }}"}))
    store = await SqliteStore.open(tmp_path / "state.db")
    try:
        queue: asyncio.Queue[Event | PollDone] = asyncio.Queue()
        composer = Composer(queue, Engine(load_rules(rules, channels=None)), renderer, store, ManualClock(T0))
        with capture_logs():
            new = await composer.process([failed_publish("ja-JP").event])
        rows = await store.list_deliveries([PENDING])
    finally:
        await store.close()
    assert len(new) == 1
    assert [(r.channel, r.notification.message.title) for r in rows] == [
        ("ops", "公開ジョブ「Spring catalog」が失敗しました")
    ]


def test_notifier_check_reports_template_errors_as_file_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`notifier check` lists each broken template of the configured `templates:` directory and exits 1."""
    root = templates(tmp_path / "templates", {"de-DE/title.j2": "ok", "text.j2": "{{ title }}\n{% endif %}"})
    config = tmp_path / "notifier.yaml"
    config.write_text(
        'ips: {endpoint: "http://127.0.0.1:9/x", user: u@example.com, password: p}\n'
        'companies: [{handle: "47"}]\nstate: sqlite:///state.db\ntemplates: templates/\n'
        "channels: {console: {type: console}}\n",
        encoding="utf-8",
    )
    assert main(["check", "--config", str(config)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"{root}/text.j2:2: Encountered unknown tag 'endif'."]


def check_config(tmp_path: Path, rules: str, files: Files) -> tuple[Path, Path]:
    """A config whose `rules:` file holds `rules` and whose `templates:` directory holds `files`."""
    root = templates(tmp_path / "templates", files)
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    config = tmp_path / "notifier.yaml"
    config.write_text(
        'ips: {endpoint: "http://127.0.0.1:9/x", user: u@example.com, password: p}\n'
        'companies: [{handle: "47"}]\nstate: sqlite:///state.db\ntemplates: templates/\nrules: rules.yaml\n'
        "channels: {console: {type: console}}\n",
        encoding="utf-8",
    )
    return config, root


def test_notifier_check_reports_a_misspelt_rule_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`notifier check` knows the configured rules, so `failed-publsh/` is an error naming the rule meant."""
    rules = "- name: failed-publish\n  on: job.failed\n  notify: [{channel: console}]\n"
    config, root = check_config(tmp_path, rules, {"failed-publsh/title.j2": "x", "failed-publish/text.j2": "y"})
    assert main(["check", "--config", str(config)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        f"{root / 'failed-publsh'}: folder 'failed-publsh' names neither a locale nor a rule, so its templates"
        " are never used (did you mean 'failed-publish'?)"
    )


def test_notifier_check_judges_no_folder_while_rules_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With rules that do not load, only their errors are shown: every rule folder would look unknown."""
    config, _ = check_config(tmp_path, "- name: failed-publish\n  on: job.nope\n", {"failed-publish/title.j2": "x"})
    assert main(["check", "--config", str(config)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors
    assert all(line.startswith(str(tmp_path / "rules.yaml")) for line in errors)


def test_rendering_again_touches_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a locale's templates are compiled, rendering reads and probes nothing on disk (pure core)."""
    renderer = Renderer(templates(tmp_path, {"ja-JP/title.j2": "【DMC】{{ headline }}"}))
    first = renderer.render(failed_publish("ja-JP")).notification

    def no_disk(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"file system access while rendering: {args}")

    monkeypatch.setattr("builtins.open", no_disk)
    monkeypatch.setattr("os.stat", no_disk)
    assert renderer.render(failed_publish("ja-JP")).notification == first
