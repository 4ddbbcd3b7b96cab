"""Plural forms: counted messages take the form each language uses for the count."""

from __future__ import annotations

from dataclasses import replace

import pytest

from notifier.i18n import SUPPORTED
from tests.support.i18n import failed_publish, render, warning_decision


def headline(locale: str, count: int) -> str:
    """The rendered headline with runs of spaces (French no-break spaces included) made one plain space."""
    return " ".join(render(warning_decision(locale, count)).title.split())


def files_failed(locale: str, count: int) -> str:
    """The summary line of a failed job saying how many files failed."""
    decision = failed_publish(locale)
    log = replace(decision.event.log, fatal_error=False, file_error_count=count)  # type: ignore[type-var]
    event = replace(decision.event, log=log)
    return render(replace(decision, event=event)).summary or ""


# The job.warning headline for 1 and for 3 warnings, no-break spaces written as plain ones.
WARNINGS = {
    "en-US": ("Job “Spring catalog” finished with 1 warning", "Job “Spring catalog” finished with 3 warnings"),
    "de-DE": (
        "Auftrag „Spring catalog“ wurde mit 1 Warnung beendet",
        "Auftrag „Spring catalog“ wurde mit 3 Warnungen beendet",
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
    "pt-BR": ("O trabalho “Spring catalog” terminou com 1 aviso", "O trabalho “Spring catalog” terminou com 3 avisos"),
    "nl-NL": (
        "Job ‘Spring catalog’ is beëindigd met 1 waarschuwing",
        "Job ‘Spring catalog’ is beëindigd met 3 waarschuwingen",
    ),
    "sv-SE": ("Jobbet ”Spring catalog” avslutades med 1 varning", "Jobbet ”Spring catalog” avslutades med 3 varningar"),
    "ja-JP": (
        "ジョブ「Spring catalog」が終了しました（警告 1 件）",
        "ジョブ「Spring catalog」が終了しました（警告 3 件）",
    ),
    "ko-KR": (
        "‘Spring catalog’ 작업이 경고 1건과 함께 종료되었습니다",
        "‘Spring catalog’ 작업이 경고 3건과 함께 종료되었습니다",
    ),
    "zh-CN": ("作业“Spring catalog”已结束，但有1个警告", "作业“Spring catalog”已结束，但有3个警告"),
    "zh-TW": ("工作「Spring catalog」已結束，但有 1 個警告", "工作「Spring catalog」已結束，但有 3 個警告"),
}

# The summary line of a failed job with 1 and with 3 failed files.
FILES_FAILED = {
    "en-US": ("1 file failed.", "3 files failed."),
    "de-DE": ("Bei 1 Datei ist ein Fehler aufgetreten.", "Bei 3 Dateien ist ein Fehler aufgetreten."),
    "fr-FR": ("1 fichier a échoué.", "3 fichiers ont échoué."),
    "es-ES": ("1 archivo ha fallado.", "3 archivos han fallado."),
    "it-IT": ("1 file non è stato elaborato.", "3 file non sono stati elaborati."),
    "pt-BR": ("1 arquivo falhou.", "3 arquivos falharam."),
    "nl-NL": ("1 bestand is mislukt.", "3 bestanden zijn mislukt."),
    "sv-SE": ("1 fil misslyckades.", "3 filer misslyckades."),
    "ja-JP": ("1 件のファイルでエラーが発生しました。", "3 件のファイルでエラーが発生しました。"),
    "ko-KR": ("파일 1개에서 오류가 발생했습니다.", "파일 3개에서 오류가 발생했습니다."),
    "zh-CN": ("1个文件处理失败。", "3个文件处理失败。"),
    "zh-TW": ("1 個檔案處理失敗。", "3 個檔案處理失敗。"),
}


def test_every_locale_has_expectations() -> None:
    """The tables below cover every supported locale."""
    assert sorted(WARNINGS) == sorted(FILES_FAILED) == sorted(SUPPORTED)


@pytest.mark.parametrize("locale", SUPPORTED)
def test_one_warning_takes_the_singular(locale: str) -> None:
    """A count of 1 renders the form the language uses for one."""
    assert headline(locale, 1) == WARNINGS[locale][0]


@pytest.mark.parametrize("locale", SUPPORTED)
def test_three_warnings_take_the_plural(locale: str) -> None:
    """A count of 3 renders the plural form (the only form in Japanese, Korean and Chinese)."""
    assert headline(locale, 3) == WARNINGS[locale][1]


@pytest.mark.parametrize("locale", SUPPORTED)
def test_one_failed_file_takes_the_singular(locale: str) -> None:
    """ "1 file failed": the failed-file count in the singular form of each language."""
    assert files_failed(locale, 1) == FILES_FAILED[locale][0]


@pytest.mark.parametrize("locale", SUPPORTED)
def test_three_failed_files_take_the_plural(locale: str) -> None:
    """ "3 files failed": the failed-file count in the plural form of each language."""
    assert files_failed(locale, 3) == FILES_FAILED[locale][1]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "1,234 files failed."),
        ("de-DE", "Bei 1.234 Dateien ist ein Fehler aufgetreten."),
        ("ja-JP", "1,234 件"),
    ],
)
def test_count_is_grouped_while_the_plural_follows_the_number(locale: str, expected: str) -> None:
    """The count is written with the locale's grouping, and the plural form is chosen from the number itself."""
    assert files_failed(locale, 1234).startswith(expected)


@pytest.mark.parametrize(
    ("locale", "title"),
    [
        ("fr-FR", "La tâche « Spring catalog » s’est terminée avec des avertissements"),
        ("en-US", "Job “Spring catalog” finished with warnings"),
    ],
)
def test_warning_without_a_count_says_so_without_a_number(locale: str, title: str) -> None:
    """A warning log that counts no warnings is announced without a misleading "0 warnings"."""
    assert headline(locale, 0) == title


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("en-US", 1234, "Job “Spring catalog” finished with 1,234 warnings"),
        ("de-DE", 1234, "Auftrag „Spring catalog“ wurde mit 1.234 Warnungen beendet"),
        ("fr-FR", 1234, "La tâche « Spring catalog » s’est terminée avec 1 234 avertissements"),
        ("fr-FR", 0, "La tâche « Spring catalog » s’est terminée avec des avertissements"),
        ("ja-JP", 12345, "ジョブ「Spring catalog」が終了しました（警告 12,345 件）"),
        ("es-MX", 12345, "El trabajo «Spring catalog» ha finalizado con 12,345 advertencias"),
        ("es-ES", 12345, "El trabajo «Spring catalog» ha finalizado con 12.345 advertencias"),
        ("en-US", 1, "Job “Spring catalog” finished with 1 warning"),
    ],
)
def test_warning_headline_groups_the_count_and_pluralizes_on_the_number(locale: str, count: int, expected: str) -> None:
    """The count in the headline is number-formatted in the job's own locale (es-MX groups as Mexico does) while the
    plural form follows the number itself."""
    assert headline(locale, count) == expected
