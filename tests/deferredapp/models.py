"""The installing project's side: targets, and the calls that point the reusable keys.

Pointing happens here, while models are imported; ``AppConfig.ready()``
would be too late. The last two calls repoint plain foreign keys of
``tests/legacyapp``, an app written without this library.
"""

from django.db import models

from federated_fk.deferred import point, point_named, repoint
from tests.deferredapp.comments import (
    Attachment,
    Comment,
    Entry,
    Image,
    Note,
    Review,
    SpecialEntry,
    Tag,
    Wish,
)
from tests.legacyapp.models import Bookmark, Like

__all__ = [
    "Attachment",
    "BlogPost",
    "Comment",
    "Entry",
    "Image",
    "Note",
    "Review",
    "SpecialEntry",
    "Tag",
    "Wish",
]


class BlogPost(models.Model):
    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title


point(Comment, "content", BlogPost, related_name="comments")
point_named("deferredapp", "Content", BlogPost)
point(Note, "content", BlogPost, related_name="notes", null=False)
point(Tag, "target", BlogPost)
point(Entry, "subject", "deferredapp.BlogPost")
point(Review, "book", "shop_b:remoteshop.Book", pk_type="int")
point(Wish, "gadget", "shop_b:remoteshop.Gadget", pk_type="uuid")
repoint(Like, "article", BlogPost, related_name="post_likes")
repoint(Bookmark, "article", "shop_b:remoteshop.Book", pk_type="int")
