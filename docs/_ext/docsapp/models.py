"""A reference to books, for the documentation build's gateway schema."""

from django.db import models

from federated_fk.fields import FederatedForeignKey, FederatedManager
from federated_fk.models import GenericContentType


class Reference(models.Model):
    content_type = models.ForeignKey(GenericContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)
    content_object = FederatedForeignKey("content_type", "object_id")

    objects = FederatedManager()

    def __str__(self) -> str:
        return f"Reference to {self.content_object}"


class Book(models.Model):
    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title
