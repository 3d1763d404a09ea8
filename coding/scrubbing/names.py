"""Regular expressions matching every common spelling of a model, endpoint or vendor name.

Patterns run on folded text (``normalize.fold``: lower case, look-alikes mapped), so
they only have to cover spellings that survive folding:

- separators: ``Borealis 70B``, ``borealis_70b``, ``borealis-70b``, ``borealis70b``,
  ``borealis.70b``;
- version suffixes: ``-instruct``, ``-chat``, ``-it``, ``-preview``, dates, ``v2`` ...;
- sizes and versions after the family token: ``Borealis 70B``, ``Borealis-3.1-8B``;
- the bare family token (``Borealis``) of a study's own models, unless it is a generic
  word (``gpt``, ``model``, ``mini`` ...) that would redact ordinary text;
- "i" and "l" for each other, because capital-I look-alikes fold to "l" (UTS #39).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .normalize import fold

SEP = r"[\s_.\-/]*"  # between tokens of a name: any separator, or none
_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)*[a-z]*")
# Words that follow a model name in releases and endpoint names.
SUFFIXES = (
    "instruct", "chat", "it", "preview", "base", "latest", "hf", "turbo", "pro", "mini",
    "nano", "large", "small", "medium", "flash", "lite", "exp", "experimental", "fake",
    "vision", "online", "sft", "dpo", "rlhf", "gguf", "awq", "gptq", "fp16", "bf16", "q4",
)  # fmt: skip
# Optional trailing parts: a size (70b, 8x7b, 1.5b), a version or a date after any
# separator; a suffix word, even unseparated; anything joined by "-", "_", "." or "/".
_TAIL = (
    r"(?:[\s_.\-/]{0,2}(?:\d+(?:\.\d+)*(?:x\d+)?[bkmt]|v?\d+(?:\.\d+)*[a-z]?)|"
    r"[_.\-/]?(?:" + "|".join(SUFFIXES) + r")|[_.\-/][a-z0-9]+)"
)
# Family tokens too generic to redact on their own (they still match with their suffixes).
GENERIC = {
    "gpt", "model", "models", "chat", "mini", "large", "small", "base", "instruct", "fake",
    "turbo", "pro", "flash", "the", "open", "api", "test", "demo", "llm", "ai", "bot", "lm",
    "assistant", "local", "server", "endpoint", "default", "new", "old", "my", "our", "team",
    "latest", "preview", "vision", "code", "coder", "nano", "lite", "medium", "plus",
}  # fmt: skip
MIN_FAMILY = 3


def tokens(name: str) -> list[str]:
    """Alphanumeric tokens of a folded name: letters apart, digit runs with their unit."""
    return _TOKEN.findall(fold(name))


def _letters(token: str) -> str:
    return "".join("[il]" if c in "il" else re.escape(c) for c in token)


def name_pattern(name: str, *, family: bool = True) -> str | None:
    """A pattern for all spellings of ``name`` (None if it has no usable token).

    ``family``: also match its first token alone with any tail (``Borealis``,
    ``Borealis 405B``), when that token is distinctive enough.
    """
    cleaned = re.sub(r"\([^)]*\)", " ", name)  # "Borealis 70B (fake)" -> "Borealis 70B"
    parts = tokens(cleaned)
    while len(parts) > 1 and parts[-1] in SUFFIXES:
        parts.pop()  # "borealis-70b-instruct": the suffix is optional anyway
    if not parts:
        return None
    if len("".join(parts)) < MIN_FAMILY:
        return None
    head = parts[0]
    if family and head.isalpha() and len(head) >= MIN_FAMILY and head not in GENERIC:
        # The family token plus anything name-like after it covers the full name too.
        body = _letters(head)
    else:
        body = SEP.join(_letters(t) for t in parts)
    return rf"{body}(?:{_TAIL})*"


def names_alternation(names: Iterable[str], *, family: bool = True) -> str | None:
    """One alternation (longest first) of the patterns of ``names``, or None."""
    patterns = {p for n in names if n and (p := name_pattern(str(n), family=family))}
    if not patterns:
        return None
    ordered = sorted(patterns, key=len, reverse=True)
    return "(?:" + "|".join(ordered) + ")"


def phrase_pattern(phrase: str) -> str | None:
    """A lead's phrase rule: its words in order, any punctuation or spacing between.

    Up to two one-letter words may sit between two words, because n-gram tokenisers
    drop them: the blinding check's "here what" stands for "here's what"."""
    words = re.findall(r"[a-z0-9]+", fold(phrase))
    if not words:
        return None
    return r"[\W_]+(?:[a-z0-9][\W_]+){0,2}".join(re.escape(w) for w in words)
