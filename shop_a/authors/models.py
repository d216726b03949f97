from django.db import models


class AuthorManager(models.Manager):
    def get_by_natural_key(self, name: str) -> "Author":
        return self.get(name=name)


class Author(models.Model):
    """An author: a table synchronized into every shop (project "shared").

    Its natural key is its name, so fixtures move between databases whose ids differ.
    """

    name = models.CharField(max_length=200, unique=True)

    objects = AuthorManager()

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.name,)
