"""Models of the remote service the integration tests run as a subgraph."""

import uuid

from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    published = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.title


class Audiobook(models.Model):
    title = models.CharField(max_length=200)
    narrator = models.CharField(max_length=200)
    duration_minutes = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.title


class Gadget(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Edition(models.Model):
    """A field of every kind the subgraph types: scalars, choices, references, a list."""

    class Binding(models.TextChoices):
        HARDCOVER = "hardcover", "Hardcover"
        PAPERBACK = "paperback", "Paperback"

    price = models.DecimalField(max_digits=8, decimal_places=2)
    published_on = models.DateField()
    printed_at = models.DateTimeField()
    opens_at = models.TimeField(null=True, blank=True)
    code = models.UUIDField()
    in_print = models.BooleanField()
    extra = models.JSONField(null=True, blank=True)
    binding = models.CharField(max_length=20, choices=Binding.choices)
    subtitle = models.TextField(blank=True)
    weight = models.FloatField(null=True, blank=True)
    pages = models.PositiveIntegerField()
    book = models.ForeignKey(Book, models.SET_NULL, null=True, blank=True, related_name="editions")
    author = models.ForeignKey("sharedapp.Author", models.PROTECT, related_name="editions")
    related = models.ManyToManyField(Book, blank=True, related_name="related_editions")

    def __str__(self) -> str:
        return f"Edition {self.pk}"


def gadget_id(number: int) -> uuid.UUID:
    """The id of the seeded gadget ``number``: the same in every run."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"gadget/{number}")
