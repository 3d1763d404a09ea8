"""Text normalised for matching, with a map back to the original offsets.

Matching happens on a folded copy of the text: compatibility forms unfolded (NFKD, so
full-width ``ＧＰＴ`` and ligatures become plain letters), accents dropped, format
characters removed (zero-width spaces and joiners, soft hyphens, byte-order marks, bidi
controls), look-alike letters mapped (``confusables``), dashes and spaces unified, and
case folded. Redactions are then made in the ORIGINAL text through ``starts``, so
coders see the text exactly as written outside each redaction.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .confusables import confusable_map

_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'"}


@dataclass(frozen=True)
class Normalised:
    """``text`` is the folded text; ``starts[i]`` is the original offset of ``text[i]``."""

    original: str
    text: str
    starts: list[int] | range

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) covering normalised [start, end) (end > start)."""
        first = self.starts[start]
        # Everything up to the original character that produced the next folded one:
        # removed characters (e.g. a soft hyphen inside a name) go with the redaction.
        last = self.starts[end - 1] + 1
        return first, last


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cf":  # format characters: ZWSP, ZWJ, soft hyphen, BOM, bidi marks
        return ""
    if category == "Zs" or char in "\t":
        return " "
    if category == "Pd":
        return "-"
    if char in _QUOTES:
        return "'"
    table = confusable_map()
    if char in table:  # before NFKD, which turns e.g. lunate sigma "Ϲ" into "Σ"
        return table[char]
    out = []
    for part in unicodedata.normalize("NFKD", char):
        if unicodedata.category(part) in ("Mn", "Me"):
            continue  # combining accents: "Cláude" reads as "claude"
        # Look-alikes are case-specific (Greek capital Eta looks like H, small eta does
        # not), so map before folding the case, then once more after it.
        part = table.get(part, part)
        for folded in part.casefold():
            out.append(table.get(folded, folded))
    return "".join(out)


def normalise(text: str) -> Normalised:
    """Fold ``text`` for matching (see the module docstring)."""
    if text.isascii():
        # The common case: ASCII folds by lower-casing alone, one character to one.
        return Normalised(original=text, text=text.lower(), starts=range(len(text)))
    pieces: list[str] = []
    starts: list[int] = []
    for index, char in enumerate(text):
        folded = char.lower() if char.isascii() else _fold_char(char)
        if folded:
            pieces.append(folded)
            starts.extend([index] * len(folded))
    return Normalised(original=text, text="".join(pieces), starts=starts)


def fold(text: str) -> str:
    """Just the folded text (for names, phrases and hidden prompts)."""
    return normalise(text).text
