from django.db import models


class Audiobook(models.Model):
    """A model only shop_b has."""

    title = models.CharField(max_length=200)
    author = models.ForeignKey("authors.Author", models.PROTECT)
    narrator = models.CharField(max_length=200)
    duration_minutes = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title
