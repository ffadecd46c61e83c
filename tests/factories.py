"""factory_boy factories for the corpus model."""

import factory
from django.contrib.auth import get_user_model

from annotation import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    name = factory.Sequence(lambda n: f"Project {n}")


class EntityTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.EntityType

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Type{n}")


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Document

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"DOC{n:04d}_inc")
    text = "Adults aged 18 to 75 years\nHbA1c > 7% within 3 months"


class SentenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Sentence

    document = factory.SubFactory(DocumentFactory)
    project = factory.SelfAttribute("document.project")
    position = 0
    start = 0
    end = factory.LazyAttribute(lambda o: len(o.text))
    text = "HbA1c > 7% within 3 months"
