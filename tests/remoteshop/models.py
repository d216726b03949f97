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


def gadget_id(number: int) -> uuid.UUID:
    """The id of the seeded gadget ``number``: the same in every run."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"gadget/{number}")
