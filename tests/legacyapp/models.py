"""An app written without django-federated-fk: plain Django foreign keys only.

As django-dfk allowed, the installing project (``tests/deferredapp/models.py``)
repoints two of these keys: ``Like.article`` at a model of its own, and
``Bookmark.article`` at a remote model. Migration 0001 is the app as shipped;
0002 is what ``makemigrations`` wrote after the keys were repointed.
"""

from django.db import models


class Article(models.Model):
    title = models.CharField(max_length=100)


class Like(models.Model):
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="likes", verbose_name="liked"
    )
    weight = models.PositiveSmallIntegerField(default=1)


class Bookmark(models.Model):
    article = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="bookmarks"
    )
