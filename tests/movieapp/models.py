"""Movies and clips: a non-book app, local to the tests and served by the test subgraph."""

from django.db import models

from federated_fk.fields import FederatedForeignKey, FederatedRelation
from federated_fk.models import GenericContentType


class Showing(models.Model):
    """A pointer at any movie or clip, here or in another project."""

    content_type = models.ForeignKey(GenericContentType, models.CASCADE)
    object_id = models.CharField(max_length=64)
    content_object = FederatedForeignKey("content_type", "object_id")
    screen = models.PositiveIntegerField(default=1)


class Movie(models.Model):
    title = models.CharField(max_length=200)
    year = models.PositiveIntegerField()
    director = models.ForeignKey("sharedapp.Author", models.PROTECT, related_name="movies")
    showings = FederatedRelation(Showing)

    def __str__(self) -> str:
        return self.title


class Clip(models.Model):
    title = models.CharField(max_length=200)
    seconds = models.PositiveIntegerField()
    movie = models.ForeignKey(Movie, models.CASCADE, related_name="clips")
    showings = FederatedRelation(Showing)

    def __str__(self) -> str:
        return self.title
