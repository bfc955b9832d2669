"""Cut long screens into pages that fit, never inside a Khmer syllable, keeping menus readable.

A menu page always shows at least two options (all of them when there are fewer), and the
question stays on the page of its first options: text that does not fit beside them goes on
pages of its own before it. Every page with options leaves room for a re-prompt's reason in
place of its text, so a wrong key never hides an option the person saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from phonetext.splitting import split_head, split_tail

Fits = Callable[[str], bool]


@dataclass(frozen=True)
class Footer:
    """The navigation lines a page ends with: one when it is the last, one when more follows."""

    last: str
    more: str

    def bare(self) -> Footer:
        """Only the key that turns the page: back and home still work, unseen, where room is short."""
        return Footer("", self.more.split("\n")[0] if self.more else "")


@dataclass(frozen=True)
class Page:
    """One screen: its text lines, its option lines and its navigation."""

    body: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    foot: str = ""

    @property
    def text(self) -> str:
        """The page as the phone shows it."""
        return "\n".join(part for part in (*self.body, *self.choices, self.foot) if part)

    def with_reason(self, reason: str, fits: Fits) -> Page:
        """Show a reason on this page, keeping every option and as much of its text as fits."""
        for body in ((reason, *self.body), (reason, *self.body[-1:])):
            page = replace(self, body=body)
            if fits(page.text):
                return page
        if not self.choices:
            # A page of text: the reason, then the start of the text, cut between words; a
            # reason with no text beside it would leave the person nothing to read.
            head, _ = split_head(
                "\n".join(self.body), lambda s: fits(replace(self, body=(reason, s)).text), words_only=True
            )
            return replace(self, body=(reason, head)) if head else self
        # A menu: the reason in place of its text, shortened to its first sentence or words if
        # need be; the options matter more than the reason, and more than the text.
        short, _ = _sentence_head(reason, lambda s: fits(replace(self, body=(s,)).text))
        if short:
            return replace(self, body=(short,))
        head, _ = split_head(reason, lambda s: fits(replace(self, body=(s,)).text), words_only=True)
        if head:
            return replace(self, body=(head,))
        return self


def lay_out(
    body: Sequence[str],
    choices: Sequence[str],
    fits: Fits,
    footer: Footer,
    keep_lines: bool = False,
    reason: str = "",
) -> list[Page]:
    """Lay body lines and option lines out on pages that fit, with navigation on each.

    Body lines may be cut to fill a page, unless keep_lines (a summary: a line moves to the next
    page whole); an option line is never cut. Pages with options also fit with reason in place
    of their text.
    """
    lines = [line for line in body if line]
    options = [line for line in choices if line]
    whole = Page(tuple(lines), tuple(options), footer.last)
    if not options:
        return text_pages(lines, fits, footer, keep_lines) if lines else [whole]
    if _menu_fits(whole, fits, reason):
        return [whole]
    pages = _menu_pages(lines, options, fits, footer, keep_lines, reason)
    if reason and not all(fits(page.text) for page in pages):
        # A budget too tight to keep room for a reason: fit the pages, the reason gives way.
        return _menu_pages(lines, options, fits, footer, keep_lines, "")
    return pages


def paginate(
    body: Sequence[str], choices: Sequence[str], fits: Fits, footer: Footer, keep_lines: bool = False
) -> list[str]:
    """Return the text of each page lay_out makes."""
    return [page.text for page in lay_out(body, choices, fits, footer, keep_lines)]


def text_pages(lines: Sequence[str], fits: Fits, footer: Footer, keep_lines: bool = False) -> list[Page]:
    """Pack lines of text into pages; a line is cut between words when a page has others."""
    pending = [line for line in lines if line]
    pages: list[Page] = []
    while pending:
        if fits(Page(tuple(pending), (), footer.last).text):
            pages.append(Page(tuple(pending), (), footer.last))
            break
        taken: list[str] = []
        while pending and fits(Page((*taken, pending[0]), (), footer.more).text):
            taken.append(pending.pop(0))
        if pending and (not keep_lines or not taken):

            def fits_after(text: str, done: tuple[str, ...] = tuple(taken)) -> bool:
                return fits(Page((*done, text), (), footer.more).text)

            head, tail = split_head(pending[0], fits_after, words_only=bool(taken))
            if head:
                taken.append(head)
                if tail:
                    pending[0] = tail
                else:
                    pending.pop(0)
        if not taken:
            # Not even a syllable fits beside the footer: show the line and let the check catch it.
            taken.append(pending.pop(0))
        pages.append(Page(tuple(taken), (), footer.more if pending else footer.last))
    return pages


def _menu_fits(page: Page, fits: Fits, reason: str) -> bool:
    """A page with options must fit as it is, and with the reason in place of its text."""
    return fits(page.text) and (not reason or fits(replace(page, body=(reason,)).text))


_SENTENCE_END = re.compile(r"[.?!:\u17d4\u17d5\u17d6][\s\u200b]*")


def _sentence_tail(text: str, fits: Fits) -> tuple[str, str]:
    """Split off the longest run of whole last sentences that fits, or return (text, "")."""
    for match in _SENTENCE_END.finditer(text):
        cut = match.end()
        if 0 < cut < len(text) and fits(text[cut:]):
            return text[:cut].rstrip(), text[cut:]
    return text, ""


def _sentence_head(text: str, fits: Fits) -> tuple[str, str]:
    """Split off the longest run of whole first sentences that fits, or return ("", text)."""
    best = ""
    for match in _SENTENCE_END.finditer(text):
        head = text[: match.end()].rstrip()
        if fits(head):
            best = head
    return best, text[len(best) :].lstrip() if best else text


def _most(fit: Callable[[int], bool], most: int) -> int:
    """Return the largest count from 0 to most for which fit holds (it holds for all below)."""
    count = 0
    while count < most and fit(count + 1):
        count += 1
    return count


def _menu_pages(
    lines: list[str], options: list[str], fits: Fits, footer: Footer, keep_lines: bool, reason: str
) -> list[Page]:
    """Pages of a menu too long for one screen: text first, then the question with its options.

    Each page first tries to keep room for the reason, then gives that room up (the reason is
    shortened when it comes), then shows only the page-turning key: a question is cut only
    when even that leaves no room for two options beside it, and then at a sentence end.
    """
    least = min(2, len(options))
    # From the roomiest layout to the barest: (footer, reason kept room for).
    levels = [(footer, reason), (footer, ""), (footer.bare(), "")]

    def page_of(body: Sequence[str], chosen: Sequence[str], total: int, level: tuple[Footer, str]) -> Page:
        foot = level[0].more if len(chosen) < total else level[0].last
        return Page(tuple(body), tuple(chosen), foot)

    def most(body: Sequence[str], left: Sequence[str], level: tuple[Footer, str]) -> int:
        return _most(
            lambda count: _menu_fits(page_of(body, left[:count], len(left), level), fits, level[1]), len(left)
        )

    def settle(body: Sequence[str], left: Sequence[str]) -> tuple[int, tuple[Footer, str]]:
        """The most options that fit beside body at the first level that shows at least two."""
        want = min(2, len(left))
        for level in levels:
            count = most(body, left, level)
            if count >= want:
                return count, level
        return most(body, left, levels[-1]), levels[-1]

    before, question = lines[:-1], lines[-1:]
    shown, level = settle(question, options)
    if shown < least and question:
        # Even the barest page has no room for the question and two options: its start goes on
        # the page before, cut at a sentence end if it has one, else between words.
        def beside(text: str) -> bool:
            return _menu_fits(page_of([text], options[:least], len(options), levels[-1]), fits, "")

        head, tail = _sentence_tail(question[0], beside)
        if not tail:
            head, tail = split_tail(question[0], beside)
        if tail:
            before += [head] if head else []
            question = [tail]
        shown, level = settle(question, options)
    if shown == 0:
        # A budget too tight for even one option beside the question: the question goes first.
        before, question = before + question, []
        shown, level = settle([], options)
    # Only a budget too tight for two options beside the question shows fewer.
    shown = max(shown, 1)
    if shown > 2 and len(options) - shown == 1:
        shown -= 1  # leave two for the last page rather than one alone
    first, rest = options[:shown], options[shown:]

    def fits_first(body: Sequence[str]) -> bool:
        return _menu_fits(page_of(body, first, len(options), level), fits, level[1])

    # Fill the question's page with the end of the text before it.
    body = list(question)
    while before:
        if fits_first([before[-1], *body]):
            body.insert(0, before.pop())
            continue
        if not keep_lines:
            head, tail = _sentence_tail(before[-1], lambda s: fits_first([s, *body]))
            if tail:
                body.insert(0, tail)
                before[-1] = head
        break
    pages = text_pages(before, fits, Footer(footer.more, footer.more), keep_lines) if before else []
    pages.append(page_of(body, first, len(options), level))
    while rest:
        count, level = settle((), rest)
        count = max(count, 1)
        if count > 2 and len(rest) - count == 1:
            count -= 1
        chunk, rest = rest[:count], rest[count:]
        page = page_of((), chunk, len(chunk) + len(rest), level)
        if len(chunk) == 1 and not rest:
            # A lone last option keeps its neighbour for company, so no menu page has only one.
            company = replace(page, choices=(pages[-1].choices[-1], *chunk))
            page = company if fits(company.text) else page
        pages.append(page)
    return pages
