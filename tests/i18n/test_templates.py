"""Default templates: every event kind and every shipped rule renders a whole, escaped message in every locale."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

import pytest

from notifier.channels.slack import blocks
from notifier.i18n import DEFAULT, SUPPORTED
from notifier.models import EVENT_KINDS, Event, JobLogDetail, Message
from tests.support.i18n import (
    HEADLINES,
    PROJECT,
    RENDERER,
    T0,
    TRANSLATED,
    company,
    decision,
    failed_publish,
    headline_cases,
    job,
    render,
    shipped_decisions,
)

TEMPLATES = PROJECT / "notifier" / "templates"
LEFTOVERS = ("None", "%(", "{{", "{%", "Undefined")
# What the shipped rules decide for the scripted story in support.shipped_decisions, and the English titles.
SHIPPED = [
    ("long-running-job", "firing", "Job “Spring catalog” has been running for 3\u00a0hours"),
    ("stalled-progress", "firing", "Job “Spring catalog” has made no progress for 20\u00a0minutes"),
    ("stalled-progress", "resolved", "Resolved: Job “Spring catalog” is progressing again"),
    ("failed-publish", "firing", "Publish job “Spring catalog” failed"),
    ("long-running-job", "resolved", "Resolved: Job “Spring catalog” is no longer running"),
    ("job-warnings", "firing", "Job “Spring catalog” finished with 2 warnings"),
    ("publish-completed", "firing", "Publish job “Summer” completed"),
    ("ips-unreachable", "firing", "The IPS API is unreachable for company Planetary"),
    ("ips-unreachable", "resolved", "Resolved: The IPS API is reachable again for company Planetary"),
    (
        "missed-schedule",
        "firing",
        "Scheduled job “Spring catalog” did not run at Mar 14, 2026, 2:00\u202fAM Central European Standard Time",
    ),
    ("schedule-failed", "firing", "Scheduled job “Spring catalog” cannot run: its trigger is in state Error"),
    ("missed-schedule", "resolved", "Resolved: Scheduled job “Spring catalog” can run again"),
    ("schedule-failed", "resolved", "Resolved: Scheduled job “Spring catalog” can run again"),
]


def parts(message: Message) -> tuple[str, ...]:
    return (message.title, message.summary or "", message.text, message.html or "")


def test_cases_cover_every_event_kind() -> None:
    """The cases below include an event of every kind the tracker emits."""
    assert {d.event.kind for d in headline_cases(DEFAULT).values()} == set(EVENT_KINDS)


@pytest.mark.parametrize("locale", SUPPORTED)
@pytest.mark.parametrize("case", HEADLINES)
def test_every_event_kind_renders_every_part(locale: str, case: str) -> None:
    """Title, summary, text and HTML come out whole: text and HTML lead with the title, nothing left unformatted."""
    rendered = RENDERER.render(headline_cases(locale)[case])
    message = rendered.notification.message
    assert rendered.problems == ()
    assert message.locale == locale
    assert message.text.startswith(message.title + "\n")
    assert f'<html lang="{locale}">' in (message.html or "")
    assert f">{html.escape(message.title, quote=False)}</h2>" in (message.html or "")
    assert [p for p in parts(message) for leftover in LEFTOVERS if leftover in p] == []


@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_shipped_rule_fires_and_resolves_with_a_message(locale: str) -> None:
    """Each shipped rule's firing and resolution, as the engine decides them, renders cleanly in the locale."""
    decisions = shipped_decisions(locale)
    rendered = [RENDERER.render(d) for d in decisions]
    assert [(d.rule.name, d.status) for d in decisions] == [(rule, status) for rule, status, _ in SHIPPED]
    assert [r.problems for r in rendered if r.problems] == []
    assert {r.notification.message.locale for r in rendered} == {locale}


def test_shipped_rules_read_as_intended_in_english() -> None:
    """The English titles say what each shipped rule is about, resolutions included."""
    titles = [render(d).title for d in shipped_decisions(DEFAULT)]
    assert titles == [title for _, _, title in SHIPPED]


@pytest.mark.parametrize("locale", TRANSLATED)
def test_shipped_rule_titles_are_translated(locale: str) -> None:
    """No shipped rule falls back to its English title in another locale."""
    titles = [render(d).title for d in shipped_decisions(locale)]
    assert [t for t, (_, _, english) in zip(titles, SHIPPED, strict=True) if t == english] == []


def test_templates_hold_no_prose_outside_trans_blocks() -> None:
    """Every word a reader sees comes from a {% trans %} block (hence from the catalogs), none is hard-coded."""
    prose = {}
    for path in sorted(TEMPLATES.rglob("*.j2")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*[-+]?%}", "", text, flags=re.S)
        text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}|<[^>]*>", "", text, flags=re.S)
        words = re.findall(r"[^\W\d_]+", text)
        if words:
            prose[path.name] = words
    assert prose == {}


def test_ips_log_lines_are_embedded_as_they_come_and_escaped_in_html() -> None:
    """Log lines from getJobLogDetails appear verbatim in the text, escaped in HTML, whatever their language."""
    lines = ("<script>alert(1)</script> & “quoted”", "ファイル「春.tif」を処理できませんでした")
    decision = failed_publish("ja-JP")
    event = replace(decision.event, details=tuple(JobLogDetail(log_message=line) for line in lines))
    message = render(replace(decision, event=event))
    assert [f"- {line}" in message.text for line in lines] == [True, True]
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt; &amp; “quoted”</li>" in (message.html or "")
    assert f"<li>{lines[1]}</li>" in (message.html or "")
    assert "<script>" not in (message.html or "")


def test_job_data_is_escaped_in_html_only() -> None:
    """A job name with markup is shown as typed in the title and text, and as text (not markup) in HTML."""
    decision = failed_publish("en-US")
    event = replace(decision.event, job=replace(decision.event.job, original_name="<b>Spring & Co</b>"))  # type: ignore[type-var]
    message = render(replace(decision, event=event))
    assert message.title == "Publish job “<b>Spring & Co</b>” failed"
    assert "&lt;b&gt;Spring &amp; Co&lt;/b&gt;" in (message.html or "")
    assert "<b>" not in (message.html or "")


def test_an_ended_job_leaves_out_its_last_active_state() -> None:
    """A failed job is not shown as Running at 80 %: state and progress belong to jobs still active."""
    ended = dict(render(failed_publish("en-US")).fields)
    running = dict(render(headline_cases("en-US")["stalled"]).fields)
    assert ("State" in ended, "Progress" in ended) == (False, False)
    assert (running["State"], running["Progress"]) == ("Running", "80%")


@pytest.mark.parametrize(
    ("locale", "total", "expected"),
    [
        ("en-US", 30, "… and 20 more lines in the job log"),
        ("en-US", 11, "… and 1 more line in the job log"),
        ("de-DE", 30, "… und 20 weitere Zeilen im Auftragsprotokoll"),
        ("ja-JP", 30, "…ジョブログには、ほかに 20 行あります"),
    ],
)
def test_a_long_log_says_how_many_lines_are_not_shown(locale: str, total: int, expected: str) -> None:
    """Ten log lines are shown; the text and HTML say how many more the job log holds."""
    decision = failed_publish(locale)
    lines = tuple(JobLogDetail(log_message=f"asset-{i}.tif: damaged") for i in range(min(total, 12)))
    log = replace(decision.event.log, detail_total_rows=total)  # type: ignore[type-var]
    message = render(replace(decision, event=replace(decision.event, log=log, details=lines)))
    assert message.text.count("\n- asset-") == 10
    assert expected in message.text
    assert expected in (message.html or "")


def test_slack_blocks_show_each_fact_once() -> None:
    """Slack gets the title as header, the summary, each field and each log line exactly once."""
    notification = RENDERER.render(failed_publish("ja-JP")).notification
    message = notification.message
    sent = blocks(notification)
    dumped = [json.dumps(block, ensure_ascii=False) for block in sent]
    assert message.title in dumped[0]
    assert [d for d in dumped[1:] if message.title in d] == []
    assert sent[1]["text"]["text"] == message.summary
    for label, _ in message.fields:
        assert sum(d.count(f"*{label}*") for d in dumped) == 1
    for line in notification.details:
        assert sum(d.count(line) for d in dumped) == 1


@pytest.mark.parametrize(
    ("rule_name", "stalled", "says_stalled"),
    [
        ("long-running-job", 30, False),  # moved 30 s ago: a pause between updates, not a stall
        ("long-running-job", 899, False),
        ("long-running-job", 900, True),  # the stall threshold of the shipped stalled-progress rule
        ("stalled-progress", 120, True),  # a stall rule says it at its own threshold (the demo's is 2 min)
    ],
)
def test_progress_is_said_to_stand_still_only_past_the_stall_threshold(
    rule_name: str, stalled: int, says_stalled: bool
) -> None:
    """A long-running job whose progress moved recently is not told "progress has stayed at 63 % since …"."""
    event = Event("job.active", T0, company(), replace(job("en-US"), progress=63), stalled_seconds=stalled)
    summary = render(decision(event, name=rule_name)).summary or ""
    assert ("Progress has stayed at 63%" in summary) is says_stalled
