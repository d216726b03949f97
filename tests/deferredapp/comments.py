"""A reusable app's models: their keys' targets are chosen by the installing project.

They belong to the ``deferredapp`` app; ``models.py`` (the installing
project's side) imports them and points their deferred keys.
"""

from django.db import models

from federated_fk.fields import DeferredForeignKey


class Comment(models.Model):
    """dfk's first example: one key, pointed by ``point()``."""

    body = models.TextField(blank=True)
    content = DeferredForeignKey(on_delete=models.CASCADE)

    class Meta:
        app_label = "deferredapp"


class Image(models.Model):
    """Two models whose keys share the name ``Content``, pointed by ``point_named()``."""

    caption = models.CharField(max_length=100, blank=True)
    content = DeferredForeignKey(name="Content", on_delete=models.CASCADE, related_name="images")

    class Meta:
        app_label = "deferredapp"


class Attachment(models.Model):
    content = DeferredForeignKey(
        name="Content", on_delete=models.CASCADE, related_name="attachments", null=True
    )

    class Meta:
        app_label = "deferredapp"


class Note(models.Model):
    """Arguments of ``point()`` win over the declaration's."""

    content = DeferredForeignKey(
        on_delete=models.CASCADE, related_name="declared_notes", null=True, blank=True
    )

    class Meta:
        app_label = "deferredapp"


class TaggedItem(models.Model):
    """An abstract base: each subclass has its own key, pointed on the subclass."""

    target = DeferredForeignKey(on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
        app_label = "deferredapp"


class Tag(TaggedItem):
    label = models.CharField(max_length=50)

    class Meta:
        app_label = "deferredapp"


class Entry(models.Model):
    """A concrete base: its key is pointed on it and its subclasses share it."""

    subject = DeferredForeignKey(on_delete=models.CASCADE, related_name="entries")

    class Meta:
        app_label = "deferredapp"


class SpecialEntry(Entry):
    class Meta:
        app_label = "deferredapp"


class Review(models.Model):
    """Pointed at a remote model: a RemoteForeignKey (``on_delete`` is dropped)."""

    book = DeferredForeignKey(on_delete=models.CASCADE, null=True, blank=True)
    stars = models.PositiveSmallIntegerField(default=5)

    class Meta:
        app_label = "deferredapp"
        ordering = ["pk"]


class Wish(models.Model):
    """Pointed at a remote model whose primary key is a UUID."""

    gadget = DeferredForeignKey(on_delete=models.SET_NULL, null=True)

    class Meta:
        app_label = "deferredapp"
        ordering = ["pk"]
