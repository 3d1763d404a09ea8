"""Rubric writes: create from JSON-shaped data, export, and new versions of frozen rubrics."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from coding.models import Dimension, Level, Rubric

from .errors import ServiceError


def _validate(data: Any) -> None:
    if not isinstance(data, dict):
        raise ServiceError("A rubric must be a JSON object.")
    if not str(data.get("name", "")).strip():
        raise ServiceError("The rubric needs a name.")
    dims = data.get("dimensions")
    if not isinstance(dims, list) or not dims:
        raise ServiceError("The rubric needs at least one dimension.")
    codes = set()
    for i, dim in enumerate(dims, start=1):
        if not isinstance(dim, dict) or not str(dim.get("code", "")).strip():
            raise ServiceError(f"Dimension {i}: needs a code.")
        if dim["code"] in codes:
            raise ServiceError(f"Dimension {i}: duplicate code {dim['code']!r}.")
        codes.add(dim["code"])
        levels = dim.get("levels")
        if not isinstance(levels, list) or len(levels) < 2:
            raise ServiceError(f"Dimension {dim['code']}: needs at least two levels.")
        values = [lvl.get("value") if isinstance(lvl, dict) else None for lvl in levels]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ServiceError(f"Dimension {dim['code']}: level values must be integers.")
        if len(set(values)) != len(values):
            raise ServiceError(f"Dimension {dim['code']}: level values must be distinct.")


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
