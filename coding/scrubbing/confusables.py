"""Look-alike letters mapped to the ASCII letter or digit they imitate.

The table comes from Unicode's confusables data (UTS #39, confusables.txt) as shipped
by the maintained ``confusable-homoglyphs`` package (MIT): every non-ASCII character
whose listed homoglyphs include a single ASCII letter or digit maps to it, so Cyrillic
``а`` and Greek ``ο`` read as Latin ``a`` and ``o``. ASCII characters are never mapped
(``l``/``1``/``I`` stay distinct), so ordinary English text is untouched.

``SUPPLEMENT`` is a small hand-written table for look-alikes the data leaves out or maps
to non-ASCII forms; it also serves as the whole table if the package is missing, so
scrubbing degrades to fewer look-alikes instead of failing an import.
"""

from __future__ import annotations

import logging
import unicodedata
from functools import lru_cache

log = logging.getLogger(__name__)

# Cyrillic and Greek letters commonly used to disguise Latin names, checked by eye
# against the Unicode charts. Case-specific like the Unicode data (small Cyrillic "н"
# looks like a small capital H).
SUPPLEMENT: dict[str, str] = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
    "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "һ": "h", "ɡ": "g", "ı": "i",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ℓ": "l", "ɑ": "a", "ɩ": "i", "ʏ": "y",
}  # fmt: skip


def _capital_i(char: str, target: str) -> str:
    """UTS #39 skeletons send capital-I look-alikes (Greek Iota, Ukrainian I) to "l";
    disguised names use them for "I", so they fold to "i" here. Name patterns accept
    "i" and "l" for each other anyway, which covers the palochka and its kin."""
    name = unicodedata.name(char, "")
    if target == "l" and ("CAPITAL LETTER I" in name or name.endswith("UKRAINIAN I")):
        return "i"
    return target


@lru_cache(maxsize=1)
def confusable_map() -> dict[str, str]:
    """Non-ASCII character -> lower-case ASCII letter or digit it imitates."""
    table: dict[str, str] = {}
    try:
        # Imported here: the data file is ~1 MB of JSON, read only when text is not ASCII.
        from confusable_homoglyphs.confusables import confusables_data
    except ImportError:  # pragma: no cover - the package is a dependency
        log.warning("confusable-homoglyphs is not installed; using the built-in table only")
        confusables_data = {}
    for char, entries in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for entry in entries:
            target = entry.get("c", "")
            if len(target) == 1 and target.isascii() and target.isalnum():
                table[char] = _capital_i(char, target.lower())
                break
    table.update(SUPPLEMENT)
    return table
