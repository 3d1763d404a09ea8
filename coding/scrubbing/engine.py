"""The scrubber: find every rule's matches in the folded text, widen self-identification
to its sentence, merge neighbouring redactions, and replace each in the original text by
one uniform marker.

The marker is the same whatever was removed (a name, a sentence, an echoed instruction),
so the shape of what is left carries nothing. Each marker counts once, under the rule
with the highest priority among the matches it covers (rule order, then echoes).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .echoes import EchoIndex
from .normalize import normalise
from .rules import NAME_HERE, Rule, self_id_rules

MARKER = "[redacted]"
MAX_SENTENCE = 400  # a longer "sentence" is really a paragraph: redact the clause instead
_SENTENCE_END = re.compile(r"[.!?]+['\")\]]*(?=\s|$)|\n")
_CLAUSE_END = re.compile(r"[.!?;:,]+['\")\]]*(?=\s|$)|\n|\s[\u2013\u2014-]\s")
# What may separate two redactions that then become one marker: "X (Y)", "X / Y", "X, Y".
_JOINABLE = re.compile(r"[^\w\n]{0,3}")
_MARKER_RE = re.compile(re.escape(MARKER))
ECHO_RULE = "prompt_echo"


@dataclass
class _Span:
    start: int
    end: int
    rank: int  # lower wins the count; markers already in the text have none
    rule: str | None


def _bounds(text: str, start: int, end: int, ends: re.Pattern[str]) -> tuple[int, int]:
    left = 0
    for match in ends.finditer(text, 0, start):
        left = match.end()
    while left < start and text[left].isspace():
        left += 1
    found = ends.search(text, end)
    # The end mark stays (a full stop, a line break): "Sure." and "I'm X, made by Y." both
    # become "[redacted]." whatever their length or shape.
    right = len(text) if found is None else found.start()
    while right > end and text[right - 1].isspace():
        right -= 1
    return left, right


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around [start, end) (its clause when the sentence is very long)."""
    left, right = _bounds(text, start, end, _SENTENCE_END)
    if right - left > MAX_SENTENCE:
        left, right = _bounds(text, start, end, _CLAUSE_END)
    return left, right


@dataclass
class Scrubber:
    """Applies ``rules`` (in priority order) and ``echo`` to text; ``counts`` accumulates."""

    rules: list[Rule]
    echo: EchoIndex | None = None
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        names = [r.pattern for r in self.rules if r.kind == "name" and r.pattern]
        rules = self_id_rules(names) + [r for r in self.rules if r.pattern]
        bounded, free = [], []
        for index, rule in enumerate(rules):
            if rule.bounded:
                bounded.append(f"(?P<r{index}>(?:{rule.pattern})(?![a-z0-9]))")
            else:
                free.append(f"(?P<r{index}>{rule.pattern})")
        self._rules = rules
        # Word-bounded rules share one pass whose first test rejects every position that
        # is not the start of a word: several times faster than a look-behind per rule.
        self._patterns = []
        if bounded:
            prefix = r"(?<![a-z0-9])(?=[a-z0-9])"
            self._patterns.append(re.compile(prefix + "(?:" + "|".join(bounded) + ")"))
        if free:  # a deployment's own patterns may start anywhere
            self._patterns.append(re.compile("|".join(free)))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, rule) in ``text`` of each redaction ``scrub`` would make."""
        return [(s.start, s.end, s.rule or "") for s in self._spans(text) if s.rule]

    def _spans(self, text: str) -> list[_Span]:
        norm = normalise(text)
        folded = norm.text
        found: list[_Span] = []
        for pattern in self._patterns:
            for match in pattern.finditer(folded):
                index = int((match.lastgroup or "r0")[1:])
                rule = self._rules[index]
                start, end = match.span()
                if rule.capital and not text[norm.starts[start]].isupper():
                    continue  # "google it" is a verb, "Google" the vendor
                name = rule.name
                if rule.kind == "name" and NAME_HERE.match(folded, end):
                    name = "self_identification"  # "Borealis here, ..."
                if rule.kind == "sentence" or name != rule.name:
                    start, end = sentence_bounds(folded, start, end)
                rank = 0 if name != rule.name else index  # self-identification ranks first
                found.append(_Span(*norm.original_span(start, end), rank, name))
        if self.echo:
            rank = len(self._rules)
            for start, end in self.echo.spans(folded):
                found.append(_Span(*norm.original_span(start, end), rank, ECHO_RULE))
        if not found:
            return []
        # Markers left by an earlier pass join their neighbours instead of piling up.
        for match in _MARKER_RE.finditer(text):
            found.append(_Span(match.start(), match.end(), 1 << 30, None))
        return self._merge(text, found)

    @staticmethod
    def _merge(text: str, spans: list[_Span]) -> list[_Span]:
        spans.sort(key=lambda s: (s.start, -s.end))
        merged: list[_Span] = []
        for span in spans:
            last = merged[-1] if merged else None
            if (
                last is not None
                and (last.rule or span.rule)
                and (span.start <= last.end or _JOINABLE.fullmatch(text, last.end, span.start))
            ):
                last.end = max(last.end, span.end)
                if span.rank < last.rank:
                    last.rank, last.rule = span.rank, span.rule
            else:
                merged.append(_Span(span.start, span.end, span.rank, span.rule))
        for span in merged:  # "X (Y)" became "[redacted])": take the bracket along
            inside = text[span.start : span.end]
            if inside.count("(") > inside.count(")") and text[span.end : span.end + 1] == ")":
                span.end += 1
        return merged

    def scrub(self, text: str) -> tuple[str, Counter]:
        """The text with every redaction replaced by ``MARKER``, and the count per rule."""
        spans = self._spans(text)
        found: Counter = Counter()
        if not spans:
            return text, found
        out, at = [], 0
        for span in spans:
            out.append(text[at : span.start])
            out.append(MARKER)
            at = span.end
            if span.rule:
                found[span.rule] += 1
        out.append(text[at:])
        self.counts.update(found)
        return "".join(out), found
