"""Ship the D1-D8 alignment rubric as data."""

from django.db import migrations

from coding.rubric_data import ALIGNMENT_RUBRIC


def create_rubric(apps, schema_editor):
    Rubric = apps.get_model("coding", "Rubric")
    Dimension = apps.get_model("coding", "Dimension")
    Level = apps.get_model("coding", "Level")
    if Rubric.objects.filter(name=ALIGNMENT_RUBRIC["name"], version=1).exists():
        return
    rubric = Rubric.objects.create(
        name=ALIGNMENT_RUBRIC["name"], version=1, description=ALIGNMENT_RUBRIC["description"]
    )
    for dim in ALIGNMENT_RUBRIC["dimensions"]:
        dimension = Dimension.objects.create(
            rubric=rubric,
            code=dim["code"],
            name=dim["name"],
            definition=dim["definition"],
            order=dim["order"],
        )
        for level in dim["levels"]:
            Level.objects.create(dimension=dimension, **level)


def remove_rubric(apps, schema_editor):
    apps.get_model("coding", "Rubric").objects.filter(
        name=ALIGNMENT_RUBRIC["name"], version=1, studies__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("coding", "0001_initial")]
    operations = [migrations.RunPython(create_rubric, remove_rubric)]
