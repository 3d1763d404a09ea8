"""Per-process memo of frozen rubrics: their dimensions, levels and blank coding form.

A rubric is frozen when a study using it opens, and a frozen rubric is never edited
(edits make a new version: ``coding.services.rubrics.rubric_new_version``; the admin
refuses changes). So on the hot coding path its dimensions and levels, and the HTML of
its blank rubric form, can be built once per web process instead of on every request.
Unfrozen rubrics are always read fresh. Entries are keyed by rubric id and creation
time (ids can be reused after a rollback on SQLite) and bounded in number.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from .models import Dimension, Rubric

T = TypeVar("T")
MAX_ENTRIES = 256


class BoundedMemo:
    """A thread-safe, size-bounded (least recently used out) dict of computed values."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._data: OrderedDict[object, object] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get_or_build(self, key: object, build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[return-value]
        value = build()  # outside the lock: two threads may both build once; same result
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._max:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_dimensions = BoundedMemo()
_fragments = BoundedMemo()


def _key(rubric: Rubric) -> tuple[int, str]:
    return rubric.pk, rubric.created_at.isoformat() if rubric.created_at else ""


def _load_dimensions(rubric: Rubric) -> tuple[Dimension, ...]:
    return tuple(Dimension.objects.filter(rubric=rubric).prefetch_related("levels"))


def rubric_dimensions(rubric: Rubric) -> tuple[Dimension, ...]:
    """The rubric's dimensions in order, each with its levels prefetched (read-only)."""
    if not rubric.frozen:
        return _load_dimensions(rubric)
    return _dimensions.get_or_build(_key(rubric), lambda: _load_dimensions(rubric))


def frozen_fragment(rubric: Rubric, name: str, build: Callable[[], str]) -> str:
    """HTML built only from a rubric's fixed text (e.g. its blank form), memoised if frozen."""
    if not rubric.frozen:
        return build()
    return _fragments.get_or_build((*_key(rubric), name), build)


def clear() -> None:
    """Forget everything (tests that rewrite rubric rows behind the app's back)."""
    _dimensions.clear()
    _fragments.clear()
