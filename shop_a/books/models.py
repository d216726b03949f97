from django.db import models

from federated_fk.fields import FederatedForeignKey, FederatedRelation
from federated_fk.models import GenericContentType


class Reference(models.Model):
    """A pointer at any book or audiobook, here or in another shop."""

    content_type = models.ForeignKey(GenericContentType, models.CASCADE)
    object_id = models.CharField(max_length=64)
    # A book deleted in its shop takes its reference with it (the follower
    # applies this when shop_b's change feed reports the deletion).
    content_object = FederatedForeignKey(
        "content_type", "object_id", on_remote_delete=models.CASCADE
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id"], name="one_reference_per_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.content_type} {self.object_id}"


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey("authors.Author", models.PROTECT)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    references = FederatedRelation(Reference, related_query_name="book")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title
