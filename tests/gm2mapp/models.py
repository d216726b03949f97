"""The models of django-gm2m's documentation, with FederatedManyToManyField."""

from django.db import models

from federated_fk.fields import FederatedForeignKey, FederatedManyToManyField
from federated_fk.fields.many_to_many.deletion import (
    CASCADE_SIGNAL,
    CASCADE_SIGNAL_VETO,
    DO_NOTHING,
    DO_NOTHING_SIGNAL,
)
from federated_fk.models import GenericContentType
from tests.testapp.models import record_remote_deletion


class Video(models.Model):
    title = models.CharField(max_length=255)

    def __str__(self) -> str:
        return self.title


class Movie(Video):
    pass


class Documentary(Video):
    pass


class Opera(Video):
    pass


class Concert(Video):
    pass


class Theater(Video):
    pass


class User(models.Model):
    """gm2m's quick start: no declared models, reverse relations appear on add."""

    name = models.CharField(max_length=255)
    preferred_videos = FederatedManyToManyField()

    def __str__(self) -> str:
        return self.name


class Fan(models.Model):
    """Declared related models (a class and a name) get their reverse relations at once."""

    name = models.CharField(max_length=255)
    videos = FederatedManyToManyField(Movie, "Opera", related_name="fans", blank=True)


class Critic(models.Model):
    """A custom through model with an extra column and its own ordering."""

    name = models.CharField(max_length=255)
    reviewed = FederatedManyToManyField(Movie, through="Review")


class Review(models.Model):
    critic = models.ForeignKey(Critic, models.CASCADE)
    stars = models.PositiveSmallIntegerField(default=3)
    target_ct = models.ForeignKey(GenericContentType, models.CASCADE)
    target_id = models.CharField(max_length=64)
    target = FederatedForeignKey("target_ct", "target_id")

    class Meta:
        ordering = ["-stars", "pk"]


class Programme(models.Model):
    """An ambiguous through model, disambiguated by through_fields."""

    name = models.CharField(max_length=255)
    items = FederatedManyToManyField(through="Slot", through_fields=("programme", "item"))


class Slot(models.Model):
    programme = models.ForeignKey(Programme, models.CASCADE, related_name="slots")
    previous = models.ForeignKey(Programme, models.CASCADE, related_name="+", null=True)
    item_ct = models.ForeignKey(GenericContentType, models.CASCADE, related_name="+")
    item_id = models.CharField(max_length=64)
    item = FederatedForeignKey("item_ct", "item_id")
    venue_ct = models.ForeignKey(GenericContentType, models.CASCADE, related_name="+", null=True)
    venue_id = models.CharField(max_length=64, null=True)
    venue = FederatedForeignKey("venue_ct", "venue_id")


class Playlist(models.Model):
    """Every deletion policy, one field each."""

    name = models.CharField(max_length=255)
    keep = FederatedManyToManyField(
        Concert, on_delete=DO_NOTHING, related_name="kept_by", db_constraint=False
    )
    signal = FederatedManyToManyField(
        Concert, on_delete=CASCADE_SIGNAL, related_name="signalled_by"
    )
    veto = FederatedManyToManyField(
        Concert, on_delete=CASCADE_SIGNAL_VETO, related_name="vetoed_by", db_constraint=False
    )
    notify = FederatedManyToManyField(
        Concert,
        on_delete_src=DO_NOTHING_SIGNAL,
        on_delete_tgt=DO_NOTHING_SIGNAL,
        related_name="notified_by",
        db_constraint=False,
    )
    mixed = FederatedManyToManyField(
        Theater, on_delete_src=DO_NOTHING, related_name="mixed_by", db_constraint=False
    )

    def __str__(self) -> str:
        return self.name


class Trailer(Movie):
    class Meta:
        proxy = True


class Curator(models.Model):
    """Targets recorded under their proxy model."""

    name = models.CharField(max_length=255)
    picks = FederatedManyToManyField(for_concrete_model=False, pk_maxlength=None)


class Mixtape(models.Model):
    """DO_NOTHING on the source side, with the default db_constraint."""

    name = models.CharField(max_length=255)
    tracks = FederatedManyToManyField(Concert, on_delete_src=DO_NOTHING, related_name="mixtapes")


class LinksBase(models.Model):
    """The field declared on an abstract model: each subclass has its own relation."""

    name = models.CharField(max_length=255, blank=True)
    related_objects = FederatedManyToManyField("gm2mapp.Documentary")

    class Meta:
        abstract = True


class BasicLinks(LinksBase):
    pass


class EnhancedLinks(LinksBase):
    pass


class Watchlist(models.Model):
    """One on_remote_delete per relation: what deleting a remote target does to its links."""

    name = models.CharField(max_length=255)
    cascade = FederatedManyToManyField(on_remote_delete=models.CASCADE, related_name="+")
    kept = FederatedManyToManyField(related_name="+")
    callback = FederatedManyToManyField(on_remote_delete=record_remote_deletion, related_name="+")
