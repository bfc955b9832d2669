import json
import unicodedata

import pytest

from phonetext.encoding import Budget, measure_sms
from phonetext.splitting import COENG, can_break_before, split_head, split_sms, word_breaks
from registry.catalogue import DATA_DIR


def khmer_texts() -> list[str]:
    texts = []
    for path in sorted(DATA_DIR.glob("programmes-*.json")):
        for programme in json.loads(path.read_text(encoding="utf-8"))["programmes"]:
            texts += [programme[f]["km"] for f in ("summary", "eligibility", "benefits", "how_to_apply")]
    return texts


def assert_clean_cut(whole: str, head: str, tail: str) -> None:
    cut = len(head)
    # What was cut away is only spacing; the two halves rebuild the text.
    assert whole.startswith(head)
    assert whole.endswith(tail)
    between = whole[cut : len(whole) - len(tail)]
    assert between.strip(" \u200b") == ""
    if head and tail:
        assert head[-1] != COENG, "cut right after a COENG"
        assert unicodedata.category(tail[0]) not in ("Mn", "Mc"), "cut before a combining mark"


def test_never_breaks_after_coeng_or_before_a_vowel_sign() -> None:
    word = "ស្ត្រី"  # ស + COENG + ត + COENG + រ + vowel sign
    assert [i for i in range(1, len(word)) if can_break_before(word, i)] == []
    assert can_break_before("កក", 1)
    assert not can_break_before("ក។", 1)


@pytest.mark.parametrize("limit", [10, 17, 23, 31, 40, 57, 80])
def test_every_cut_of_real_khmer_text_falls_between_syllables(limit: int) -> None:
    budget = Budget(max_ucs2=limit)
    for text in khmer_texts():
        rest = text
        while rest:
            head, tail = split_head(rest, budget.fits)
            assert head, "no progress"
            assert_clean_cut(rest, head, tail)
            if len(rest) > 1 and tail:
                assert budget.fits(head) or len(head) <= 3
            rest = tail


def test_prefers_word_boundaries_from_the_dictionary() -> None:
    text = "កម្មវិធីនេះកំណត់គ្រួសារក្រីក្រ"
    breaks = word_breaks(text)
    assert text.index("នេះ") in breaks
    assert text.index("គ្រួសារ") in breaks
    head, tail = split_head(text, Budget(max_ucs2=14).fits)
    assert head == "កម្មវិធីនេះ"
    assert tail == "កំណត់គ្រួសារក្រីក្រ"


def test_prefers_spaces_in_latin_text() -> None:
    head, tail = split_head("Um subsídio mensal em dinheiro", Budget(max_ucs2=20).fits)
    assert head == "Um subsídio mensal"
    assert tail == "em dinheiro"


def test_text_that_fits_is_left_whole() -> None:
    assert split_head("short", Budget().fits) == ("short", "")


def test_word_breaks_map_utf16_offsets_back_to_code_points() -> None:
    text = "😀 ក ខ"
    assert word_breaks(text) == {2, 4}


def test_sms_is_cut_at_a_line_break_not_inside_a_line() -> None:
    lines = [f"Linha {i}: Como se inscrever no programa do distrito" for i in range(1, 9)]
    parts = split_sms("\n".join(lines), 1)
    assert len(parts) > 1
    for part in parts:
        assert measure_sms(part).segments == 1
        assert all(line in lines for line in part.split("\n")), part
    assert "\n".join(parts) == "\n".join(lines)


def test_sms_without_line_breaks_is_cut_at_the_end_of_a_sentence() -> None:
    sentences = [f"Frase numero {i} fala do programa e do balcao." for i in range(1, 12)]
    parts = split_sms(" ".join(sentences), 1)
    assert len(parts) > 1
    assert all(part.endswith(".") for part in parts)
    assert " ".join(parts) == " ".join(sentences)


def test_khmer_sms_is_cut_after_a_khan_when_one_is_near() -> None:
    sentence = "ប្រាក់ឧបត្ថម្ភប្រចាំខែសម្រាប់ជនមានពិការភាព ក្នុងគ្រួសារក្រីក្រ។"
    parts = split_sms(" ".join([sentence] * 4), 1)
    assert len(parts) > 1
    assert all(part.endswith("។") for part in parts[:-1])
