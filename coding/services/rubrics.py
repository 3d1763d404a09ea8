"""Rubric writes: create from JSON-shaped data, export, and new versions of frozen rubrics."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from alignweb.bounds import INT32, INT32_MAX, OutOfBounds, parse_int
from alignweb.text import text_problem
from coding.models import Dimension, Level, Rubric

from .errors import ServiceError

# Column sizes (coding/models.py) and the API serializer's limits for the text fields.
MAX_NAME, MAX_CODE, MAX_LABEL, MAX_TEXT = 200, 20, 100, 5000
MAX_DIMENSIONS, MAX_LEVELS = 100, 100


def _text(value: Any, where: str, limit: int, *, required: bool = False) -> None:
    """A text field of the rubric file: a string that fits its column and can be stored."""
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise ServiceError(f"{where} must be text.")
    if required and not value.strip():
        raise ServiceError(f"{where} is empty.")
    if len(value) > limit:
        raise ServiceError(f"{where} is {len(value):,} characters; the limit is {limit:,}.")
    problem = text_problem(value)
    if problem:
        raise ServiceError(f"{where} {problem}.")


def _number(value: Any, where: str, low: int, high: int) -> None:
    if value is None:
        return
    try:
        parse_int(value, low=low, high=high)
    except OutOfBounds as exc:
        raise ServiceError(f"{where}: {exc}")


def _validate(data: Any) -> None:
    """Every field of a rubric file, before anything is written (the API's serializer checks
    the same shape; the HTML import and edits come straight here)."""
    if not isinstance(data, dict):
        raise ServiceError("A rubric must be a JSON object.")
    _text(data.get("name"), "The rubric name", MAX_NAME, required=True)
    _text(data.get("description"), "The description", MAX_TEXT)
    _number(data.get("version"), "The version", 1, INT32_MAX)
    dims = data.get("dimensions")
    if not isinstance(dims, list) or not dims:
        raise ServiceError("The rubric needs at least one dimension.")
    if len(dims) > MAX_DIMENSIONS:
        raise ServiceError(f"At most {MAX_DIMENSIONS} dimensions.")
    codes = set()
    for i, dim in enumerate(dims, start=1):
        if not isinstance(dim, dict) or not isinstance(dim.get("code"), str):
            raise ServiceError(f"Dimension {i}: needs a code.")
        _text(dim["code"], f"Dimension {i}: the code", MAX_CODE, required=True)
        if dim["code"] in codes:
            raise ServiceError(f"Dimension {i}: duplicate code {dim['code']!r}.")
        codes.add(dim["code"])
        where = f"Dimension {dim['code']}"
        _text(dim.get("name"), f"{where}: the name", MAX_NAME)
        _text(dim.get("definition"), f"{where}: the definition", MAX_TEXT)
        _number(dim.get("order"), f"{where}: the order", 0, INT32_MAX)
        levels = dim.get("levels")
        if not isinstance(levels, list) or len(levels) < 2:
            raise ServiceError(f"{where}: needs at least two levels.")
        if len(levels) > MAX_LEVELS:
            raise ServiceError(f"{where}: at most {MAX_LEVELS} levels.")
        values = [lvl.get("value") if isinstance(lvl, dict) else None for lvl in levels]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ServiceError(f"{where}: level values must be integers.")
        if not all(INT32[0] <= v <= INT32[1] for v in values):
            raise ServiceError(f"{where}: level values must be from {INT32[0]} to {INT32[1]}.")
        if len(set(values)) != len(values):
            raise ServiceError(f"{where}: level values must be distinct.")
        for lvl in levels:
            _text(lvl.get("label"), f"{where}, level {lvl['value']}: the label", MAX_LABEL)
            _text(lvl.get("anchor"), f"{where}, level {lvl['value']}: the anchor", MAX_TEXT)


def rubric_create_from_data(
    *, data: dict, by=None, version: int | None = None, previous: Rubric | None = None
) -> Rubric:
    """Create a rubric with its dimensions and ordinal levels from JSON-shaped data."""
    _validate(data)
    with transaction.atomic():
        if version is None:
            latest = Rubric.objects.filter(name=data["name"]).order_by("-version").first()
            version = (latest.version + 1) if latest else int(data.get("version") or 1)
        rubric = Rubric.objects.create(
            name=data["name"].strip(),
            version=version,
            description=data.get("description", ""),
            created_by=by,
            previous=previous,
        )
        for index, dim in enumerate(data["dimensions"], start=1):
            dimension = Dimension.objects.create(
                rubric=rubric,
                code=str(dim["code"]).strip(),
                name=str(dim.get("name", dim["code"])).strip(),
                definition=dim.get("definition", ""),
                order=dim.get("order", index),
            )
            Level.objects.bulk_create(
                Level(
                    dimension=dimension,
                    value=lvl["value"],
                    label=str(lvl.get("label", lvl["value"])),
                    anchor=lvl.get("anchor", ""),
                )
                for lvl in dim["levels"]
            )
    return rubric


def rubric_export(*, rubric: Rubric) -> dict:
    """The rubric as JSON-shaped data that rubric_create_from_data accepts."""
    return {
        "name": rubric.name,
        "version": rubric.version,
        "description": rubric.description,
        "dimensions": [
            {
                "code": d.code,
                "name": d.name,
                "definition": d.definition,
                "order": d.order,
                "levels": [
                    {"value": lv.value, "label": lv.label, "anchor": lv.anchor}
                    for lv in d.levels.all()
                ],
            }
            for d in rubric.dimensions.prefetch_related("levels")
        ],
    }


def rubric_new_version(*, rubric: Rubric, data: dict, by=None) -> Rubric:
    """Editing a frozen rubric makes a new version; an unfrozen one is replaced in place."""
    if not rubric.frozen and not rubric.studies.exists():
        with transaction.atomic():
            _validate(data)
            rubric.dimensions.all().delete()
            name = rubric.name
            rubric.delete()
            return rubric_create_from_data(
                data={**data, "name": name}, by=by, version=rubric.version
            )
    return rubric_create_from_data(data={**data, "name": rubric.name}, by=by, previous=rubric)
