"""Verbatim echoes of hidden prompt text (system prompts, scaffold text) in a reply.

A reply that repeats its instructions tells coders which scaffold produced it. Any run
of ``n`` or more consecutive words (default 8) that also occurs in a hidden text is an
echo; overlapping runs merge into one. Words are compared after folding
(``normalize.fold``), so case, punctuation between words, look-alike letters and
invisible characters do not hide an echo.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .normalize import fold

WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
DEFAULT_N = 8


class EchoIndex:
    """The set of ``n``-word runs of the hidden texts; ``spans`` finds them in a text."""

    def __init__(self, hidden_texts: Iterable[str], n: int = DEFAULT_N):
        self.n = n
        self.grams: set[tuple[str, ...]] = set()
        for text in hidden_texts:
            words = WORD.findall(fold(text or ""))
            for i in range(len(words) - n + 1):
                self.grams.add(tuple(words[i : i + n]))
        self.first = {gram[0] for gram in self.grams}  # skips most positions cheaply

    def __bool__(self) -> bool:
        return bool(self.grams)

    def spans(self, folded: str) -> list[tuple[int, int]]:
        """[start, end) offsets in ``folded`` of each maximal echoed run of words."""
        if not self.grams:
            return []
        matches = list(WORD.finditer(folded))
        words = [m.group() for m in matches]
        n = self.n
        covered_until = -1  # index of the last word inside the current run
        runs: list[tuple[int, int]] = []
        first = self.first
        for i in range(len(words) - n + 1):
            if words[i] not in first or tuple(words[i : i + n]) not in self.grams:
                continue
            if runs and i <= covered_until + 1:
                runs[-1] = (runs[-1][0], i + n - 1)
            else:
                runs.append((i, i + n - 1))
            covered_until = i + n - 1
        return [(matches[a].start(), matches[b].end()) for a, b in runs]
