from django.db import models


class Author(models.Model):
    """A table synchronized into every service: project "shared"."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name
