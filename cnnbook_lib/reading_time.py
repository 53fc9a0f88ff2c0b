"""The book's reading-time rule, computed from a built HTML page.

One rule times every page of a chapter (the badge at its top, the totals of the chapter's landing
page and the instructors' table all come from here):

* words of prose at :data:`WORDS_PER_MINUTE` (200) per minute,
* plus :data:`MINUTES_PER_EQUATION` (half a minute) per display equation,
* plus :data:`MINUTES_PER_FIGURE` (half a minute) per figure,
* plus a minute per :data:`CODE_LINES_PER_MINUTE` (ten) visible code lines,
* plus each interactive's stated time (its ``data-minutes``),

summed exactly and rounded **up** to whole minutes (a page never shows less than one minute).
What counts, read from the page's ``<article>`` (the theme's frame, sidebars and footer are
left out):

* *prose*: every visible word, headings, captions, tables and inline code included; an inline
  formula counts as one word;
* *display equation*: each ``<div class="math">`` (what ``$$``, ``{math}`` and ``{glue:math}``
  become);
* *figure*: each ``<figure>``, and each image outside a figure (a plot in a cell's output);
* *visible code line*: each non-blank line of visible preformatted text (a code cell's input, its
  printed output, a code block);
* *interactive*: an element marked ``data-cnnbook-static`` or ``data-cnnbook-interactive``; its
  ``data-minutes`` is its stated time, and nothing inside it counts otherwise.

Nothing folded counts: closed ``<details>`` boxes (cells folded with ``hide-input``, the "What
this page checked" box, dropdowns), toggled admonitions and solutions, the list of references, the page's
own path badge and tables of reading times, scripts and styles.

Exercises are timed apart: an exercises page takes the sum of its exercises' own estimates, each
stated at the start of the exercise (``*Medium, 25 minutes.*``); see :func:`exercise_estimates`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from html.parser import HTMLParser

WORDS_PER_MINUTE = 200
MINUTES_PER_EQUATION = Fraction(1, 2)
MINUTES_PER_FIGURE = Fraction(1, 2)
CODE_LINES_PER_MINUTE = 10

#: The rule in one sentence, for the pages that state it (the instructors' page).
RULE = (f"A page's reading time is its words of prose at {WORDS_PER_MINUTE} per minute, plus half a "
        f"minute per display equation and per figure, plus a minute per {CODE_LINES_PER_MINUTE} "
        "visible lines of code, plus the time each interactive states, rounded up to whole "
        "minutes. It is computed from the built page: folded boxes (hidden code, checks, "
        "solutions) and references do not count, an inline formula counts as one word, and a "
        "page never takes less than one minute. An exercises page takes the sum of its "
        "exercises' own estimates.")

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}
_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
           "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var"}
#: Elements whose content never counts.
SKIPPED_TAGS = {"script", "style", "noscript", "template", "nav", "button", "select", "textarea",
                "head", "title"}
#: Classes whose element never counts (folded or not read as prose).
SKIPPED_CLASSES = {"toggle", "dropdown", "solution", "headerlink", "toctree-wrapper",
                   "citation-list", "citation", "cnnbook-path", "cnnbook-path-line",
                   "cnnbook-path-table", "cnnbook-reading-times"}
INTERACTIVE_ATTRS = ("data-cnnbook-static", "data-cnnbook-interactive")
_WORD = re.compile(r"\S+")
_ALNUM = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Counts:
    """What one page holds, as the rule counts it."""

    words: int = 0
    equations: int = 0
    figures: int = 0
    code_lines: int = 0
    interactives: int = 0
    interactive_minutes: Fraction = Fraction(0)
    #: names of interactives that state no time (``data-minutes`` missing or not a number)
    unstated: tuple[str, ...] = ()

    @property
    def exact_minutes(self) -> Fraction:
        """The sum of the rule's terms, before rounding."""
        return (Fraction(self.words, WORDS_PER_MINUTE) + MINUTES_PER_EQUATION * self.equations
                + MINUTES_PER_FIGURE * self.figures + Fraction(self.code_lines, CODE_LINES_PER_MINUTE)
                + self.interactive_minutes)

    @property
    def minutes(self) -> int:
        """The reading time in whole minutes: rounded up, at least one."""
        return max(1, math.ceil(self.exact_minutes))


def _number(text: str | None) -> Fraction | None:
    try:
        value = Fraction(str(text).strip())
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value if value >= 0 else None


class _Counter(HTMLParser):
    def __init__(self, scoped: bool):
        super().__init__(convert_charrefs=True)
        # each open element: (tag, counts here?, inside a figure?, inside <pre>?)
        self.stack: list[tuple[str, bool, bool, bool]] = []
        self.scoped = scoped          # count only inside <article>
        self.text: list[str] = []
        self.words = self.equations = self.figures = self.code_lines = self.interactives = 0
        self.inline_math = 0
        self.interactive_minutes = Fraction(0)
        self.unstated: list[str] = []
        self.pre_text: list[str] = []

    # the state of the innermost open element
    def _state(self) -> tuple[bool, bool, bool]:
        if not self.stack:
            return (not self.scoped, False, False)
        _, counting, figure, pre = self.stack[-1]
        return counting, figure, pre

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        counting, figure, pre = self._state()
        classes = set((attrs.get("class") or "").split())
        if tag == "article":
            counting = True
        if counting:
            if tag in SKIPPED_TAGS or classes & SKIPPED_CLASSES or "hidden" in attrs \
                    or attrs.get("aria-hidden") == "true" or (tag == "details" and "open" not in attrs):
                counting = False
            elif any(a in attrs for a in INTERACTIVE_ATTRS):
                self.interactives += 1
                minutes = _number(attrs.get("data-minutes"))
                if minutes is None:
                    self.unstated.append(next(attrs[a] or "" for a in INTERACTIVE_ATTRS if a in attrs))
                else:
                    self.interactive_minutes += minutes
                counting = False
            elif "math" in classes and tag == "div":
                self.equations += 1
                counting = False
            elif "math" in classes:                     # an inline formula: one word
                self.inline_math += 1
                counting = False
            elif tag == "figure":
                self.figures += 1
                figure = True
            elif tag in ("img", "svg") and not figure:
                self.figures += 1
            if tag == "svg":                            # a drawing: no words
                counting = False
        if tag not in _INLINE:
            self.text.append(" ")
        if tag == "pre" and counting and not pre:
            pre = True
            self.pre_text = []
        if tag not in _VOID:
            self.stack.append((tag, counting, figure, pre))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.stack and self.stack[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if not any(t == tag for t, *_ in self.stack):
            return                                      # a stray end tag
        while self.stack:
            t, counting, _, pre = self.stack.pop()
            outer_pre = self.stack[-1][3] if self.stack else False
            if t == "pre" and pre and not outer_pre and counting:
                lines = "".join(self.pre_text).split("\n")
                self.code_lines += sum(1 for line in lines if line.strip())
            if t == tag:
                break
        if tag not in _INLINE:
            self.text.append(" ")

    def handle_data(self, data):
        counting, _, pre = self._state()
        if not counting:
            return
        if pre:
            self.pre_text.append(data)
        else:
            self.text.append(data)

    def counts(self) -> Counts:
        words = sum(1 for w in _WORD.findall("".join(self.text)) if _ALNUM.search(w))
        return Counts(words=words + self.inline_math, equations=self.equations, figures=self.figures,
                      code_lines=self.code_lines, interactives=self.interactives,
                      interactive_minutes=self.interactive_minutes, unstated=tuple(self.unstated))


def count(html: str) -> Counts:
    """Count a page's words, display equations, figures, visible code lines and interactives.

    Only the page's ``<article>`` counts when it has one (a built page of the book); a fragment
    without one counts whole.
    """
    parser = _Counter(scoped=bool(re.search(r"<article[\s>]", html)))
    parser.feed(html)
    parser.close()
    return parser.counts()


def reading_minutes(html: str) -> int:
    """The page's reading time in whole minutes, by the rule of this module."""
    return count(html).minutes


# ---------------------------------------------------------------------------------------------
# Exercises
# ---------------------------------------------------------------------------------------------

_ESTIMATE = re.compile(r"(\d+(?:\.\d+)?)(?:\s*[-–]\s*(\d+(?:\.\d+)?))?\s*(minutes?|min\b|hours?|h\b)",
                       re.I)


def parse_estimate(text: str) -> Fraction | None:
    """Minutes stated in ``text`` ("25 minutes", "10-15 minutes", "1 hour"); a range counts its
    upper end. None when the text states no time."""
    m = _ESTIMATE.search(text)
    if not m:
        return None
    value = Fraction(m[2] or m[1])
    return value * 60 if m[3].lower().startswith("h") else value


@dataclass
class Exercise:
    """One exercise of a page: its label (the element's ``id``) and its stated minutes."""

    label: str
    minutes: Fraction | None = None
    lead: str | None = None         # the text of its first emphasis, once read


class _ExerciseFinder(HTMLParser):
    """Each ``<div class="exercise">`` and the text of its first emphasis (``*Easy, 5 minutes.*``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, Exercise | None]] = []   # each open element, in which exercise
        self.found: list[Exercise] = []
        self.reading: Exercise | None = None                # the exercise whose lead is being read
        self.depth = 0                                      # stack depth of that lead's <em>
        self.buffer: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        ex = self.stack[-1][1] if self.stack else None
        if tag in ("div", "section", "aside") and "exercise" in (attrs.get("class") or "").split():
            ex = Exercise(attrs.get("id") or f"exercise {len(self.found) + 1}")
            self.found.append(ex)
        elif tag == "em" and ex is not None and ex.lead is None and self.reading is None:
            self.reading, self.depth, self.buffer = ex, len(self.stack), []
        if tag not in _VOID:
            self.stack.append((tag, ex))

    def handle_endtag(self, tag):
        if not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if self.reading is not None and len(self.stack) == self.depth:
                self.reading.lead = "".join(self.buffer).strip()
                self.reading.minutes = parse_estimate(self.reading.lead)
                self.reading = None
            if t == tag:
                break

    def handle_data(self, data):
        if self.reading is not None:
            self.buffer.append(data)


def exercise_estimates(html: str) -> list[Exercise]:
    """Every exercise of a built page with the time its opening emphasis states (None if none)."""
    finder = _ExerciseFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def exercises_minutes(html: str) -> int:
    """An exercises page's time: the sum of its exercises' stated estimates, rounded up."""
    total = sum((e.minutes for e in exercise_estimates(html) if e.minutes is not None), Fraction(0))
    return math.ceil(total)


# ---------------------------------------------------------------------------------------------
# Command line: python -m cnnbook_lib.reading_time _build/html/chapters/01/*.html
# ---------------------------------------------------------------------------------------------

def _path_of(html: str) -> str:
    m = re.search(r'class="cnnbook-path"[^>]*data-path="([^"]+)"', html)
    if not m:
        m = re.search(r'data-path="([^"]+)"[^>]*class="cnnbook-path"', html)
    return m[1] if m else "-"


def main(argv: list[str] | None = None) -> int:
    """Print, for each built page given, its path and the rule's terms (words, equations, figures,
    visible code lines, interactives' minutes) with its minutes; then each path's totals."""
    import argparse
    import pathlib

    parser = argparse.ArgumentParser(prog="python -m cnnbook_lib.reading_time",
                                     description="Reading times of built pages, term by term.")
    parser.add_argument("pages", nargs="+", type=pathlib.Path, help="built HTML pages")
    args = parser.parse_args(argv)
    totals: dict[str, list[int]] = {}
    print(f"{'page':<34}{'path':>10}{'words':>7}{'eqs':>5}{'figs':>5}{'code':>6}{'inter':>6}{'min':>5}")
    for page in args.pages:
        html = page.read_text(encoding="utf-8")
        path = _path_of(html)
        if path == "exercises":
            c, minutes = count(html), exercises_minutes(html)
        else:
            c = count(html)
            minutes = c.minutes
        t = totals.setdefault(path, [0, 0])
        t[0] += minutes
        t[1] += c.code_lines
        print(f"{page.stem[:33]:<34}{path:>10}{c.words:>7}{c.equations:>5}{c.figures:>5}"
              f"{c.code_lines:>6}{float(c.interactive_minutes):>6.1f}{minutes:>5}")
    for path, (minutes, lines) in sorted(totals.items()):
        print(f"total {path}: {minutes} min, {lines} visible code lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
