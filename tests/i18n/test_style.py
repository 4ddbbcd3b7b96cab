"""House style of each catalog, as its readers expect it: typography, register and regional vocabulary.

These are the checks a reviewer would otherwise redo by eye for every new message: French spacing,
typographic quotes everywhere, one polite register in Japanese and Korean, and Taiwanese Chinese that is
neither simplified characters nor mainland vocabulary written in traditional ones.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Message as Entry

from tests.support.i18n import TRANSLATED, entries, forms, load_catalog, po_path, sources

NBSP, NNBSP = "\u00a0", "\u202f"
# Simplified characters whose traditional form differs; none may appear in zh-TW, their counterparts not in zh-CN.
SIMPLIFIED = (
    "业进连运错时间规则态发数据录这个们处无还经过设计与关门问题应该动开"
    "结线务败执类状严级传轮询条为变达对从会说启页单击显认确删误续滞长记"
)
TRADITIONAL = (
    "業進連運錯時間規則態發數據錄這個們處無還經過設計與關門問題應該動開"
    "結線務敗執類狀嚴級傳輪詢條為變達對從會說啟頁單擊顯認確刪誤續滯長記"
)
# Mainland terms that a zh-CN text converted character by character would leave in zh-TW (Taiwan term after →).
MAINLAND_TERMS = {
    "作業": "工作 (job)",
    "信息": "資訊/訊息",
    "文件": "檔案",
    "連接": "連線",
    "日誌": "記錄",
    "運行": "執行",
    "默認": "預設",
    "服務器": "伺服器",
    "網絡": "網路",
}
# Messages that are sentences (the rest are labels): their register must be the polite one.
SENTENCE = re.compile(
    r"^(Job “|Publish job “|Scheduled job “|The |Its trigger|It will|Progress has|%\(count\)s|Sent by|… and)"
)
JAPANESE_POLITE = re.compile(r"(ます|ました|です|ません)(。|（[^）]*）)?$")
KOREAN_FORMAL = re.compile(r"니다\.?$")


def translations(locale: str) -> list[tuple[Entry, str]]:
    po = load_catalog(po_path(locale), locale.replace("-", "_"))
    return [(entry, form) for entry in entries(po).values() for form in forms(entry)]


def sentences(locale: str) -> list[str]:
    return [form for entry, form in translations(locale) if SENTENCE.match(sources(entry)[0])]


@pytest.mark.parametrize("locale", TRANSLATED)
def test_quotes_and_apostrophes_are_typographic(locale: str) -> None:
    """No straight " or ' anywhere: each language's own quotation marks and the typographic apostrophe."""
    assert [form for _, form in translations(locale) if '"' in form or "'" in form] == []


def test_french_spacing_before_high_punctuation_and_inside_guillemets() -> None:
    """French puts a no-break space before : ; ! ? and inside « », never a breakable one."""
    bad = []
    for _, form in translations("fr-FR"):
        for match in re.finditer(r"[:;!?»]", form):
            if match.start() == 0 or form[match.start() - 1] not in (NBSP, NNBSP):
                bad.append(form)
        for match in re.finditer("«", form):
            if form[match.end() : match.end() + 1] not in (NBSP, NNBSP):
                bad.append(form)
    assert bad == []


def test_german_quotes_open_low_and_close_high() -> None:
    """German quotes a name as „Name“, not with English or French marks."""
    forms_ = [form for _, form in translations("de-DE") if "%(name)s" in form or "%(rule)s" in form]
    assert forms_
    assert [f for f in forms_ if not re.search(r"„%\((name|rule)\)s“", f) or "”" in f or "«" in f] == []


def test_japanese_sentences_keep_the_polite_register() -> None:
    """Every Japanese sentence ends in です/ます form: one register across all messages, never plain form."""
    assert [s for s in sentences("ja-JP") if not JAPANESE_POLITE.search(s)] == []


def test_korean_sentences_keep_the_formal_register() -> None:
    """Every Korean sentence ends in the 합니다 form, as system notifications in Korea are written."""
    assert [s for s in sentences("ko-KR") if not KOREAN_FORMAL.search(s)] == []


@pytest.mark.parametrize("locale", ["ja-JP", "zh-CN", "zh-TW"])
def test_cjk_label_lines_use_a_full_width_colon(locale: str) -> None:
    """Japanese and Chinese write "label：value" with the full-width colon, not an ASCII one."""
    line = next(form for entry, form in translations(locale) if sources(entry)[0] == "%(label)s: %(value)s")
    assert line == "%(label)s：%(value)s"


def test_taiwanese_chinese_uses_traditional_characters_only() -> None:
    """zh-TW holds no simplified character: it is written for Taiwan, not converted on the fly."""
    assert [form for _, form in translations("zh-TW") if set(form) & set(SIMPLIFIED)] == []


def test_taiwanese_chinese_uses_taiwan_vocabulary() -> None:
    """zh-TW says 工作, 檔案, 連線, 記錄 … where a converted mainland text would say 作業, 文件, 連接, 日誌."""
    found = [(form, term) for _, form in translations("zh-TW") for term in MAINLAND_TERMS if term in form]
    assert found == []


def test_mainland_chinese_uses_simplified_characters_only() -> None:
    """zh-CN holds no traditional character where the simplified one differs."""
    assert [form for _, form in translations("zh-CN") if set(form) & set(TRADITIONAL)] == []


def test_character_tables_pair_up() -> None:
    """The simplified and traditional tables above are aligned character by character and never overlap."""
    assert len(SIMPLIFIED) == len(TRADITIONAL)
    assert not set(SIMPLIFIED) & set(TRADITIONAL)


def _words(text: str) -> set[str]:
    """Latin words of three letters or more, and every pair of adjacent CJK characters (their smallest words)."""
    latin = {w.casefold() for w in re.findall(r"[^\W\d_]{3,}", text) if not _cjk(w)}
    cjk = "".join(ch if _cjk(ch) else " " for ch in text)
    return latin | {run[i : i + 2] for run in cjk.split() for i in range(len(run) - 1)}


def _cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_submitter_label_does_not_read_like_the_sender_of_the_alert(locale: str) -> None:
    """ "Submitted by" (who started the job) shares no word with the footer "Sent by dmc-notifier …", or readers
    take the job's user for the one who sent them the alert (es "Enviado por", ja "送信者" did)."""
    strings = {sources(entry)[0]: forms(entry)[0] for entry, _ in translations(locale)}
    label, footer = strings["Submitted by"], strings["Sent by dmc-notifier for rule “%(rule)s”."]
    shared = _words(label.split()[0] if not _cjk(label) else label) & _words(footer)
    assert shared == set(), (label, footer)
