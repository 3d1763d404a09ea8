"""Verbatim echoes of hidden prompt text (system prompts, scaffold text) in a reply.

A reply that repeats its instructions tells coders which scaffold produced it. Any run
of ``n`` or more consecutive words (default 8) that also occurs in a hidden text is an
echo; overlapping runs merge into one. Words are compared after folding
(``normalize.fold``), so case, punctuation between words, look-alike letters and
invisible characters do not hide an echo.

Speed (imports scrub every message): a reply is probed only at every ``stride``-th word,
with the ``k``-word runs of the hidden texts (``k = n - stride + 1``). Any echoed ``n``-word
run starting at word ``i`` covers the ``stride`` starts ``i .. i + stride - 1``, one of which
is a probe, and the ``k`` words there are a ``k``-run of the hidden text; so probing misses
nothing, and only around a hit are the ``stride`` candidate ``n``-word runs looked up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .normalize import fold

WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
DEFAULT_N = 8


def _runs(words: list[str], length: int):
    """Every run of ``length`` consecutive words, as tuples (built in C by zip)."""
    return zip(*(words[t:] for t in range(length)), strict=False)


class EchoIndex:
    """The set of ``n``-word runs of the hidden texts; ``spans`` finds them in a text."""

    def __init__(self, hidden_texts: Iterable[str], n: int = DEFAULT_N):
        self.n = n
        self.stride = max(1, n // 2)
        self.k = n - self.stride + 1
        self.grams: set[tuple[str, ...]] = set()
        self.probes: set[tuple[str, ...]] = set()
        for text in hidden_texts:
            words = WORD.findall(fold(text or ""))
            if len(words) >= n:
                self.grams.update(_runs(words, n))
                self.probes.update(_runs(words, self.k))

    def __bool__(self) -> bool:
        return bool(self.grams)

    def _starts(self, words: list[str]) -> list[int]:
        """Sorted indexes of the words that start an echoed ``n``-word run."""
        n, k, stride = self.n, self.k, self.stride
        # The k-word run at every stride-th word, built in C: zip(words[0::s], words[1::s],
        # ...) yields (words[j], ..., words[j + k - 1]) for j = 0, s, 2s, ...
        probed = zip(*(words[t::stride] for t in range(k)), strict=False)
        if self.probes.isdisjoint(probed):
            return []  # the common case: no k words in a row from a hidden text
        grams, probes = self.grams, self.probes
        last = len(words) - n  # the last possible start
        starts: list[int] = []
        for j in range(0, len(words) - k + 1, stride):
            if tuple(words[j : j + k]) not in probes:
                continue
            for i in range(max(0, j - n + k), min(j, last) + 1):
                if tuple(words[i : i + n]) in grams:
                    starts.append(i)  # probes ascend, so do their candidates
        return starts

    def spans(self, folded: str) -> list[tuple[int, int]]:
        """[start, end) offsets in ``folded`` of each maximal echoed run of words."""
        if not self.grams:
            return []
        starts = self._starts(WORD.findall(folded))
        if not starts:
            return []
        n = self.n
        runs: list[tuple[int, int]] = []  # first and last word index of each run
        for i in starts:
            if runs and i <= runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], i + n - 1)
            else:
                runs.append((i, i + n - 1))
        matches = list(WORD.finditer(folded))
        return [(matches[a].start(), matches[b].end()) for a, b in runs]
