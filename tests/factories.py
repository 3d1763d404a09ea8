"""factory_boy factories and the persona builder used across the suite."""

from __future__ import annotations

from dataclasses import dataclass

import factory
from django.contrib.auth import get_user_model

from coding.models import Assignment, ConditionKey, Item, Membership, Rubric, Score, Study
from coding.rubric_data import ALIGNMENT_RUBRIC
from coding.services import rubric_create_from_data

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


def alignment_rubric() -> Rubric:
    """The shipped D1-D8 rubric (created by the data migration; made here if absent)."""
    rubric = Rubric.objects.filter(name=ALIGNMENT_RUBRIC["name"], version=1).first()
    return rubric or rubric_create_from_data(data=ALIGNMENT_RUBRIC, version=1)


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study

    name = factory.Sequence(lambda n: f"Study {n}")
    rubric = factory.LazyFunction(alignment_rubric)
    coders_per_item = 2
    seed = 12345


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    study = factory.SubFactory(StudyFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.CODER


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    study = factory.SubFactory(StudyFactory)
    external_id = factory.Sequence(lambda n: f"ext-{n}")
    content = factory.LazyFunction(
        lambda: {
            "messages": [
                {"role": "user", "content": "Plan a three-day trip."},
                {"role": "assistant", "content": "Which city, and what do you enjoy?"},
            ]
        }
    )
    content_sha256 = factory.Faker("sha256")


class ConditionKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConditionKey

    item = factory.SubFactory(ItemFactory)
    model = "gpt-4o"
    scaffold = "C1"
    prompt = factory.Sequence(lambda n: f"P{n:02d}")
    specification = "under"
    replicate = 1


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    item = factory.SubFactory(ItemFactory)
    coder = factory.SubFactory(UserFactory)
    position = factory.Sequence(lambda n: n)


class ScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Score

    assignment = factory.SubFactory(AssignmentFactory)
    value = 1
    rationale = "Partly present."
    rubric_version = 1


@dataclass
class Personas:
    """One study with every role, plus an outsider and the lead of another study."""

    study: Study
    coder_a: User
    coder_b: User
    adjudicator: User
    lead: User
    outsider: User
    other_lead: User
    other_study: Study


def make_personas() -> Personas:
    study = StudyFactory(name="Persona study")
    users = {}
    for name, role in [
        ("coder_a", Membership.Role.CODER),
        ("coder_b", Membership.Role.CODER),
        ("adjudicator", Membership.Role.ADJUDICATOR),
        ("lead", Membership.Role.LEAD),
    ]:
        users[name] = UserFactory(username=name)
        MembershipFactory(study=study, user=users[name], role=role)
    outsider = UserFactory(username="outsider")
    other_study = StudyFactory(name="Another lead's study")
    other_lead = UserFactory(username="other_lead")
    MembershipFactory(study=other_study, user=other_lead, role=Membership.Role.LEAD)
    return Personas(
        study=study, outsider=outsider, other_lead=other_lead, other_study=other_study, **users
    )


def add_operator(personas: Personas, username: str = "operator") -> User:
    """A generation operator of the personas' study (runs generation, not blind)."""
    operator = UserFactory(username=username)
    MembershipFactory(study=personas.study, user=operator, role=Membership.Role.OPERATOR)
    return operator


def make_admin(username: str = "admin") -> User:
    """Staff with every permission, member of no study."""
    admin = UserFactory(username=username)
    User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    admin.refresh_from_db()
    return admin
