"""Cut long screens into pages that fit, never inside a Khmer syllable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from phonetext.splitting import split_head


@dataclass(frozen=True)
class Footer:
    """The navigation lines a page ends with: one when it is the last, one when more follows."""

    last: str
    more: str


def paginate(
    body: Sequence[str],
    choices: Sequence[str],
    fits: Callable[[str], bool],
    footer: Footer,
    header: str = "",
) -> list[str]:
    """Pack body lines and choice lines into pages that fit, with header and footer on each.

    Body lines may be cut to fill a page; a choice line is cut only if it could never fit whole.
    """

    def page(lines: list[str], foot: str) -> str:
        return "\n".join(part for part in (header, *lines, foot) if part)

    pending = [(line, True) for line in body if line] + [(line, False) for line in choices if line]
    pages: list[str] = []
    while True:
        everything = [line for line, _ in pending]
        if fits(page(everything, footer.last)):
            pages.append(page(everything, footer.last))
            return pages
        taken: list[str] = []
        while pending and fits(page([*taken, pending[0][0]], footer.more)):
            taken.append(pending.pop(0)[0])
        if not pending:
            # Header and footer leave no room at all; the caller decides what to show instead.
            pages.append(page(taken, footer.last))
            return pages
        line, splittable = pending[0]
        if splittable or not taken:
            # On a page that has lines already, a line is only cut between words.
            head, tail = split_head(
                line, partial(_fits_after, fits, page, list(taken), footer.more), words_only=bool(taken)
            )
            if (head and fits(page([*taken, head], footer.more))) or not taken:
                taken.append(head)
                if tail:
                    pending[0] = (tail, splittable)
                else:
                    pending.pop(0)
        pages.append(page(taken, footer.more))


def _fits_after(
    fits: Callable[[str], bool],
    page: Callable[[list[str], str], str],
    taken: list[str],
    foot: str,
    text: str,
) -> bool:
    """Return True when text fits on a page after the lines already taken."""
    return fits(page([*taken, text], foot))
