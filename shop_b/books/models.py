from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey("authors.Author", models.PROTECT)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    published = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title
