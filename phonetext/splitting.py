"""Where text may be cut: between words first, else between syllables, never inside one.

Khmer writes no spaces between words, so word boundaries come from ICU's dictionary-based
line breaking; a cut that ICU does not offer still never falls inside a syllable cluster.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache

from phonetext.encoding import measure_sms

try:
    import icu
except ImportError:  # pragma: no cover - ICU is a dependency; without it cuts fall between syllables
    icu = None

COENG = "\u17d2"
ZWSP = "\u200b"
_JOINERS = frozenset("\u200c\u200d")
# Khmer signs that must stay on the line of what precedes them: ។ ៕ ៖ ៗ
_NO_BREAK_BEFORE = frozenset("\u17d4\u17d5\u17d6\u17d7")
_SPACES = " " + ZWSP


def can_break_before(text: str, i: int) -> bool:
    """Return True when a page may end just before text[i] without splitting a syllable."""
    if i <= 0 or i >= len(text):
        return True
    prev, cur = text[i - 1], text[i]
    if prev == COENG or prev in _JOINERS or cur in _JOINERS or cur in _NO_BREAK_BEFORE:
        return False
    # A combining mark (Khmer vowel signs, diacritics, COENG itself) belongs to what precedes it.
    return unicodedata.category(cur) not in ("Mn", "Mc", "Me")


@lru_cache(maxsize=2048)
def word_breaks(text: str) -> frozenset[int]:
    """Return the indexes before which a line may break between words (ICU line breaking)."""
    if icu is None:
        return frozenset(i for i in range(1, len(text)) if text[i - 1] in _SPACES)
    iterator = icu.BreakIterator.createLineInstance(icu.Locale("km"))
    iterator.setText(text)
    # ICU counts UTF-16 code units; map them back to Python's code point indexes.
    utf16_to_index: dict[int, int] = {}
    offset = 0
    for index, ch in enumerate(text):
        utf16_to_index[offset] = index
        offset += 2 if ord(ch) > 0xFFFF else 1
    return frozenset(utf16_to_index[b] for b in iterator if b in utf16_to_index and utf16_to_index[b] > 0)


def split_head(text: str, fits: Callable[[str], bool], words_only: bool = False) -> tuple[str, str]:
    """Split text into the longest head that fits and the rest.

    Prefers a break between words, else between syllables; a head of at least one
    syllable is always returned so that paging always moves on. With words_only, a text
    whose first word does not fit is not cut at all: ("", text).
    """
    if fits(text):
        return text, ""
    words = word_breaks(text)
    cuts = [i for i in range(1, len(text)) if can_break_before(text, i)]
    # A longer head never fits better (units only grow), so the longest fitting cut is found
    # by bisection: a screen is rendered on every hop.
    low, high = 0, len(cuts)
    while low < high:
        middle = (low + high) // 2
        if fits(text[: cuts[middle]].rstrip(_SPACES)):
            low = middle + 1
        else:
            high = middle
    fitting = cuts[:low]
    best_syllable = fitting[-1] if fitting else 0
    best_word = next(
        (i for i in reversed(fitting) if i in words or text[i - 1] in _SPACES or text[i] in _SPACES),
        0,
    )
    if words_only and not best_word:
        return "", text
    cut = best_word or best_syllable
    if cut == 0:
        cut = 1
        while cut < len(text) and not can_break_before(text, cut):
            cut += 1
    return text[:cut].rstrip(_SPACES), text[cut:].lstrip(_SPACES)


def split_tail(text: str, fits: Callable[[str], bool]) -> tuple[str, str]:
    """Split text into a head and the longest tail that fits, cut only between words.

    Returns (text, "") when no tail that begins a word fits.
    """
    if fits(text):
        return "", text
    words = word_breaks(text)
    cuts = [
        i
        for i in range(1, len(text))
        if (i in words or text[i - 1] in _SPACES) and text[i] not in _SPACES and can_break_before(text, i)
    ]
    # A shorter tail never fits worse, so the first cut whose tail fits is found by bisection.
    low, high = 0, len(cuts)
    while low < high:
        middle = (low + high) // 2
        if fits(text[cuts[middle] :]):
            high = middle
        else:
            low = middle + 1
    if low == len(cuts):
        return text, ""
    cut = cuts[low]
    return text[:cut].rstrip(_SPACES), text[cut:]


# Where a sentence ends: Latin punctuation, and Khmer's khan (។) and bariyosan (៕).
_SENTENCE_ENDS = (".", "!", "?", "\u17d4", "\u17d5")
# A better break is "near" when it keeps at least this share of what could fit.
_NEAR = 0.5


def split_sms(text: str, max_segments: int) -> list[str]:
    """Cut text into messages of at most max_segments segments each, where a reader expects it.

    At a line break, else at the end of a sentence, else between words (Khmer: ICU word
    boundaries), whenever such a break keeps at least half of what would fit.
    """

    def fits(part: str) -> bool:
        return measure_sms(part).segments <= max_segments

    parts: list[str] = []
    rest = text
    while rest:
        head, tail = split_head(rest, fits)
        if tail:
            head = _better_cut(head)
            tail = rest[len(head) :]
        parts.append(head.rstrip())
        rest = tail.lstrip(" \n" + ZWSP)
    return [part for part in parts if part]


def _better_cut(head: str) -> str:
    """Shorten a head that fits to end at a line break or a sentence's end, when one is near."""
    floor = int(len(head) * _NEAR)
    line = head.rfind("\n")
    if line >= floor and line > 0:
        return head[:line]
    ends = [head.rfind(mark + " ") for mark in _SENTENCE_ENDS] + [
        head.rfind(mark) for mark in ("\u17d4", "\u17d5")
    ]
    sentence = max(ends)
    if sentence >= floor and sentence > 0:
        return head[: sentence + 1]
    return head
