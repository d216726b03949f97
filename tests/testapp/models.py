import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from federated_fk.deferred import point
from federated_fk.fields import (
    DeferredForeignKey,
    FederatedForeignKey,
    FederatedManager,
    FederatedRelation,
)
from federated_fk.models import GenericContentType


class Reference(models.Model):
    """A pointer at any object, local or remote; ids of any type fit a CharField."""

    note = models.CharField(max_length=100, blank=True)
    content_type = models.ForeignKey(GenericContentType, models.CASCADE, null=True)
    object_id = models.CharField(max_length=64, null=True)
    content_object = FederatedForeignKey("content_type", "object_id")

    objects = FederatedManager()

    class Meta:
        ordering = ["pk"]


class IntReference(models.Model):
    content_type = models.ForeignKey(GenericContentType, models.CASCADE)
    object_id = models.PositiveIntegerField()
    content_object = FederatedForeignKey()

    objects = FederatedManager()


class Book(models.Model):
    title = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    author = models.ForeignKey("sharedapp.Author", models.SET_NULL, null=True, blank=True)
    references = FederatedRelation(Reference, related_query_name="book")

    def __str__(self) -> str:
        return self.title


class CheapBook(Book):
    class Meta:
        proxy = True


class Gadget(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=100)
    references = FederatedRelation(Reference)


class Shelf(models.Model):
    code = models.CharField(primary_key=True, max_length=20)
    references = FederatedRelation(Reference)


class DjangoReference(models.Model):
    """The same pointer with Django's own GenericForeignKey: the benchmarks' baseline."""

    content_type = models.ForeignKey(ContentType, models.CASCADE)
    object_id = models.CharField(max_length=64)
    content_object = GenericForeignKey("content_type", "object_id")


#: What ``record_remote_deletion`` was given: (field label, sorted pks), in order.
REMOTE_DELETIONS: list[tuple[str, list]] = []


def record_remote_deletion(field, queryset):
    """An on_remote_delete policy of the tests: record the references, keep them."""
    label = f"{field.model._meta.label}.{field.name}"
    REMOTE_DELETIONS.append((label, sorted(queryset.values_list("pk", flat=True))))


class PolicyReference(models.Model):
    """A pointer at any object whose subclasses each declare one on_remote_delete."""

    note = models.CharField(max_length=100, blank=True)
    content_type = models.ForeignKey(
        GenericContentType, models.CASCADE, null=True, related_name="+"
    )
    object_id = models.CharField(max_length=64, null=True)

    class Meta:
        abstract = True
        ordering = ["pk"]


class CascadeReference(PolicyReference):
    content_object = FederatedForeignKey(on_remote_delete=models.CASCADE)


class NullingReference(PolicyReference):
    content_object = FederatedForeignKey(on_remote_delete=models.SET_NULL)


class KeptReference(PolicyReference):
    content_object = FederatedForeignKey()


class CallbackReference(PolicyReference):
    content_object = FederatedForeignKey(on_remote_delete=record_remote_deletion)


class IntCascadeReference(models.Model):
    """CASCADE with an integer object-id column."""

    content_type = models.ForeignKey(GenericContentType, models.CASCADE, related_name="+")
    object_id = models.PositiveIntegerField()
    content_object = FederatedForeignKey(on_remote_delete=models.CASCADE)


class BookKey(models.Model):
    """A key to shop_b's books, pointed by ``point()`` below with one on_remote_delete each.

    Pointed, not declared as RemoteForeignKeys: in a subgraph process that is
    shop_b itself, the target is local and the key a ForeignKey.
    """

    book = DeferredForeignKey(on_delete=models.SET_NULL, null=True)

    class Meta:
        abstract = True


class CascadeBookKey(BookKey):
    pass


class NullingBookKey(BookKey):
    pass


class KeptBookKey(BookKey):
    pass


class CallbackBookKey(BookKey):
    pass


REMOTE_BOOK = "shop_b:remoteshop.Book"
point(CascadeBookKey, "book", REMOTE_BOOK, pk_type="int", on_remote_delete=models.CASCADE)
point(NullingBookKey, "book", REMOTE_BOOK, pk_type="int", on_remote_delete=models.SET_NULL)
point(KeptBookKey, "book", REMOTE_BOOK, pk_type="int")
point(CallbackBookKey, "book", REMOTE_BOOK, pk_type="int", on_remote_delete=record_remote_deletion)
