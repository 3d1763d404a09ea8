"""The registry shows all sixteen benchmarks of the reference audit, flags unverified
citations, and starts its version history.

The reference audit (arXiv 2605.04454) extends eleven benchmarks to a sixteen-benchmark
corpus. Fourteen entries have citations checked against their papers. "Common Ground"
has only a likely candidate, and the sixteenth could not be identified from the sources
available when this was written: both are kept, marked unverified, rather than left out.
Every entry gets version 1 in the history; ``revision`` numbers registry changes.
"""

from django.db import migrations

UNVERIFIED = {"Common Ground"}
SIXTEENTH = {
    "name": "Audited benchmark 16 (unidentified)",
    "citation": "",
    "url": "",
    "year": None,
    "description": "",
    "notes": "The reference audit (arXiv 2605.04454) codes sixteen benchmarks; this entry "
    "stands for the one that could not be identified from the sources available when the "
    "registry was seeded. Propose an edit with its name, citation and a description for "
    "coders once it is confirmed against the paper.",
}
FIELDS = (
    "name",
    "year",
    "claim_level",
    "url",
    "citation",
    "description",
    "notes",
    "citation_verified",
)


def forwards(apps, schema_editor):
    Benchmark = apps.get_model("audit", "Benchmark")
    BenchmarkVersion = apps.get_model("audit", "BenchmarkVersion")
    if not Benchmark.objects.filter(builtin=True).exists():
        return  # nothing seeded (0003 reversed); nothing to extend
    Benchmark.objects.update_or_create(
        name=SIXTEENTH["name"],
        defaults={k: v for k, v in SIXTEENTH.items() if k != "name"} | {"builtin": True},
    )
    for bench in Benchmark.objects.filter(builtin=True):
        verified = bool(bench.citation.strip()) and bench.name not in UNVERIFIED
        if bench.citation_verified != verified:
            Benchmark.objects.filter(pk=bench.pk).update(citation_verified=verified)
    revision = max(BenchmarkVersion.objects.values_list("revision", flat=True), default=0)
    for bench in Benchmark.objects.order_by("pk"):
        if BenchmarkVersion.objects.filter(benchmark=bench).exists():
            continue
        revision += 1
        BenchmarkVersion.objects.create(
            benchmark=bench,
            version=bench.version,
            revision=revision,
            fields={name: getattr(bench, name) for name in FIELDS},
            note="seeded" if bench.builtin else "entry before versioning",
            edited_by=bench.created_by,
        )


def backwards(apps, schema_editor):
    Benchmark = apps.get_model("audit", "Benchmark")
    Benchmark.objects.filter(name=SIXTEENTH["name"], builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_registry_versions")]

    operations = [migrations.RunPython(forwards, backwards)]
