from django.db import models


class AuthorManager(models.Manager):
    def get_by_natural_key(self, name: str) -> "Author":
        return self.get(name=name)


class Author(models.Model):
    """A table synchronized into every service: project "shared"; it has natural keys."""

    name = models.CharField(max_length=100, unique=True)

    objects = AuthorManager()

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.name,)
