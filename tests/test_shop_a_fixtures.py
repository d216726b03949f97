"""shop_a's references survive dumpdata / loaddata into a fresh shop_a database."""

import json

DESCRIBE = """
import json
from books.models import Reference
from federated_fk.models import GenericContentType
rows = []
for ref in Reference.objects.order_by("pk"):
    ct = ref.content_type
    if ct.is_remote:
        target = ["remote", ref.object_id]  # a stand-in; no request needed
    else:
        obj = ref.content_object
        target = [type(obj).__name__, str(obj)]
    rows.append([ref.pk, list(ct.natural_key()), ct.pk, target])
print(json.dumps(rows))
"""

SHIFT = """
from federated_fk.models import GenericContentType
from authors.models import Author
# Local content types get new ids too: loaddata makes them again, after these.
GenericContentType.objects.filter(app_label__in=["authors", "books"]).delete()
for i in range(7):
    GenericContentType.objects.create(project="shop_z", app_label="z", model=f"m{i}")
Author.objects.create(name="Somebody Else")
"""

REFERENCE_AN_AUTHOR = """
from authors.models import Author
from books.models import Reference
Reference.objects.get_or_create(
    content_type=Reference.content_object.get_content_type(model=Author),
    object_id=str(Author.objects.get(name="Ted Chiang").pk),
)
"""


def test_round_trip_into_a_fresh_shop_a_database(shops, tmp_path):
    shops.manage("shop_a", "shell", "-c", REFERENCE_AN_AUTHOR)
    fixture = tmp_path / "shop_a.json"
    shops.manage(
        "shop_a",
        "dumpdata",
        "authors",
        "books",
        "--natural-foreign",
        "--natural-primary",
        "--output",
        str(fixture),
    )
    before = json.loads(shops.manage("shop_a", "shell", "-c", DESCRIBE).splitlines()[-1])

    fresh = {"SHOP_A_DB": str(tmp_path / "fresh.sqlite3")}
    shops.manage("shop_a", "migrate", "--noinput", env=fresh)
    shops.manage("shop_a", "shell", "-c", SHIFT, env=fresh)
    shops.manage("shop_a", "loaddata", str(fixture), env=fresh)
    after = json.loads(shops.manage("shop_a", "shell", "-c", DESCRIBE, env=fresh).splitlines()[-1])

    def without_ct_ids(rows):
        return [[pk, key, target] for pk, key, _ct_id, target in rows]

    assert without_ct_ids(after) == without_ct_ids(before)
    kinds = {tuple(key) for _pk, key, _id, _t in before}
    assert kinds == {
        ("shop_a", "books", "book"),
        ("shop_b", "books", "book"),
        ("shop_b", "audio", "audiobook"),
        ("shared", "authors", "author"),
    }
    # Every content type has another id in the fresh database.
    assert all(b[2] != a[2] for b, a in zip(before, after, strict=True))
    assert ["Author", "Ted Chiang"] in [t for *_rest, t in after]
