"""factory_boy factories for the service desk's rows."""

from __future__ import annotations

import factory
from django.contrib.auth.models import User

from regdesk.desks.models import Desk
from regdesk.desks.services import desk_create
from regdesk.directory.models import Agent, AgentMembership, Organisation, Person, PersonEmail


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


def make_desk(preset: str = "service-desk", *, slug: str | None = None, prefix: str = "SD") -> Desk:
    return desk_create(
        slug=slug or preset, name=preset.title(), ticket_prefix=prefix, preset=preset
    )


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Customer company {n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person
        skip_postgeneration_save = True

    full_name = factory.Faker("name")
    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    language = "en"

    @factory.post_generation
    def email(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            PersonEmail.objects.create(
                person=obj, address=extracted or f"{obj.user.username}@customer.example",
                is_primary=True,
            )  # fmt: skip


def make_agent(desk: Desk, *, username: str | None = None, **membership: object) -> User:
    user = UserFactory(username=username) if username else UserFactory()
    agent = Agent.objects.create(user=user, language="en")
    AgentMembership.objects.create(agent=agent, desk=desk, **membership)
    return user
