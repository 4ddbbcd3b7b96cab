"""Plural forms: the warning headline takes the form each language uses for the count."""

from __future__ import annotations

import pytest

from notifier.i18n import SUPPORTED
from tests.i18n.support import render, warning_decision


def headline(locale: str, count: int) -> str:
    """The rendered headline with runs of spaces (French no-break spaces included) made one plain space."""
    return " ".join(render(warning_decision(locale, count)).title.split())


# The job.warning headline for 1 and for 3 warnings, no-break spaces written as plain ones.
EXPECTED = {
    "en-US": ("Job Spring catalog finished with 1 warning", "Job Spring catalog finished with 3 warnings"),
    "de-DE": (
        "Auftrag „Spring catalog“ wurde mit 1 Warnung abgeschlossen",
        "Auftrag „Spring catalog“ wurde mit 3 Warnungen abgeschlossen",
    ),
    "fr-FR": (
        "La tâche « Spring catalog » s’est terminée avec 1 avertissement",
        "La tâche « Spring catalog » s’est terminée avec 3 avertissements",
    ),
    "es-ES": (
        "El trabajo «Spring catalog» ha finalizado con 1 advertencia",
        "El trabajo «Spring catalog» ha finalizado con 3 advertencias",
    ),
    "it-IT": (
        "Il processo “Spring catalog” è terminato con 1 avviso",
        "Il processo “Spring catalog” è terminato con 3 avvisi",
    ),
    "pt-BR": (
        "O trabalho “Spring catalog” foi concluído com 1 aviso",
        "O trabalho “Spring catalog” foi concluído com 3 avisos",
    ),
    "nl-NL": (
        "Job ‘Spring catalog’ is voltooid met 1 waarschuwing",
        "Job ‘Spring catalog’ is voltooid met 3 waarschuwingen",
    ),
    "sv-SE": (
        "Jobbet ”Spring catalog” har slutförts med 1 varning",
        "Jobbet ”Spring catalog” har slutförts med 3 varningar",
    ),
    "ja-JP": (
        "ジョブ「Spring catalog」が完了しました（警告 1 件）",
        "ジョブ「Spring catalog」が完了しました（警告 3 件）",
    ),
    "ko-KR": (
        "‘Spring catalog’ 작업이 경고 1건과 함께 완료되었습니다",
        "‘Spring catalog’ 작업이 경고 3건과 함께 완료되었습니다",
    ),
    "zh-CN": ("作业“Spring catalog”已完成，但有 1 个警告", "作业“Spring catalog”已完成，但有 3 个警告"),
    "zh-TW": ("作業「Spring catalog」已完成，但有 1 個警告", "作業「Spring catalog」已完成，但有 3 個警告"),
}


def test_every_locale_has_expectations() -> None:
    """The table below covers every supported locale."""
    assert sorted(EXPECTED) == sorted(SUPPORTED)


@pytest.mark.parametrize("locale", SUPPORTED)
def test_one_warning_takes_the_singular(locale: str) -> None:
    """A count of 1 renders the form the language uses for one."""
    assert headline(locale, 1) == EXPECTED[locale][0]


@pytest.mark.parametrize("locale", SUPPORTED)
def test_three_warnings_take_the_plural(locale: str) -> None:
    """A count of 3 renders the plural form (the only form in Japanese, Korean and Chinese)."""
    assert headline(locale, 3) == EXPECTED[locale][1]


@pytest.mark.parametrize(
    ("locale", "title"),
    [
        ("fr-FR", "La tâche « Spring catalog » s’est terminée avec 0 avertissement"),
        ("pt-BR", "O trabalho “Spring catalog” foi concluído com 0 aviso"),
        ("de-DE", "Auftrag „Spring catalog“ wurde mit 0 Warnungen abgeschlossen"),
        ("en-US", "Job Spring catalog finished with 0 warnings"),
    ],
)
def test_zero_is_singular_only_where_the_language_says_so(locale: str, title: str) -> None:
    """French and Brazilian Portuguese count 0 as singular (n > 1 is plural); German and English do not."""
    assert headline(locale, 0) == title
