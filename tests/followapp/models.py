"""A reference that cascades when its remote target is deleted, and a log of signals."""

from django.db import models

from federated_fk.fields import FederatedForeignKey
from federated_fk.models import GenericContentType


class Mention(models.Model):
    """Deleted with its remote target (``on_remote_delete=CASCADE``)."""

    note = models.CharField(max_length=100, blank=True)
    content_type = models.ForeignKey(GenericContentType, models.CASCADE, null=True)
    object_id = models.CharField(max_length=64, null=True)
    target = FederatedForeignKey(on_remote_delete=models.CASCADE)


class ReceivedSignal(models.Model):
    """One signal received, written in the transaction of the follower's batch."""

    signal = models.CharField(max_length=10)
    project = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, blank=True)
    fields = models.CharField(max_length=200, blank=True)
