"""The physical limit: the fewest moving parts that can answer what ``_entities`` answers.

The server half is a plain async Django view, served by the same stack as the
subgraph (Django ASGI, uvicorn, SQLite): it reads the representations, runs one
``values_list`` query with the same visibility filter as the ``Book`` entity,
and answers the same JSON shape. The client half posts the same batches over
one kept-alive aiohttp connection on the client loop and builds the same
``PartialResult`` the library's client returns, with no checks. The benchmark puts it
in place of ``federated_fk.remote.client.fetch``: "library ÷ limit" is then
what the library costs beyond moving the bytes.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Iterable, Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


def _rows(ids: list[int]) -> dict[int, tuple[str, str, decimal.Decimal]]:
    from tests.remoteshop.models import Book

    rows = Book.objects.filter(published=True, pk__in=ids)
    return {pk: rest for pk, *rest in rows.values_list("pk", "title", "author", "price")}


@csrf_exempt
async def limit_view(request: HttpRequest) -> JsonResponse:
    """Answer ``{"variables": {"representations": [...]}}`` as ``_entities`` would, for books."""
    representations = json.loads(request.body)["variables"]["representations"]
    ids = [int(r["id"]) for r in representations]
    rows = await sync_to_async(_rows)(ids)
    entities = []
    for pk in ids:
        row = rows.get(pk)
        if row is None:
            entities.append(None)
        else:
            title, author, price = row
            entities.append(
                {
                    "__typename": "Book",
                    "id": str(pk),
                    "title": title,
                    "author": author,
                    "price": str(price),
                }
            )
    return JsonResponse({"data": {"_entities": entities}})


class LimitClient:
    """Fetch books from the limit view of each project, as the library's ``fetch`` does."""

    def __init__(self, urls: dict[str, str], batch_size: int) -> None:
        self.urls = urls
        self.batch_size = batch_size
        self.session: Any = None

    def fetch(self, wanted: Mapping[Any, Iterable[Any]]) -> Any:
        from federated_fk.partial import PartialResult
        from federated_fk.remote.loop import run

        return PartialResult(run(self._fetch(wanted), timeout=120))

    async def _fetch(self, wanted: Mapping[Any, Iterable[Any]]) -> dict[Any, Any]:
        import aiohttp

        if self.session is None:
            self.session = aiohttp.ClientSession()
        found: dict[Any, Any] = {}
        for entity_type, pks in wanted.items():
            url = self.urls[entity_type.project]
            pks = list(pks)
            for start in range(0, len(pks), self.batch_size):
                chunk = [
                    {"__typename": "Book", "id": str(pk)}
                    for pk in pks[start : start + self.batch_size]
                ]
                body = {"query": "", "variables": {"representations": chunk}}
                async with self.session.post(url, json=body) as response:
                    entities = (await response.json())["data"]["_entities"]
                for pk, entity in zip(pks[start:], entities, strict=False):
                    found[(entity_type.key, pk)] = entity and {
                        "title": entity["title"],
                        "author": entity["author"],
                        "price": decimal.Decimal(entity["price"]),
                    }
        return found

    def close(self) -> None:
        from federated_fk.remote.loop import run

        if self.session is not None:
            run(self.session.close(), timeout=10)
