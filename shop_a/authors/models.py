from django.db import models


class Author(models.Model):
    """An author: a table synchronized into every shop (project "shared")."""

    name = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.name
