"""/books/: the shopping options of every shop; /books/<id>/: a book of this shop."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from graphql_gateway.conf import gateway_settings
from graphql_gateway.paging import PageError

from books.listing import book_page
from books.models import Book


def books(request: HttpRequest) -> HttpResponse:
    """The unified list as a page: ``?page=N``, and ``&q=words`` to search titles and authors."""
    size = gateway_settings()["DEFAULT_PAGE_SIZE"]
    raw = request.GET.get("page", "1")
    # ASCII digits only, and few enough for int() to be cheap; check_bounds
    # refuses a page past what the database can count to.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 20 and int(raw) >= 1):
        return HttpResponse(
            f"page must be a whole number from 1, got {raw[:40]!r}.",
            status=400,
            content_type="text/plain",
        )
    number = int(raw)
    search = request.GET.get("q", "").strip()[:100]
    if "\x00" in search:
        return HttpResponse("q may not hold NUL characters.", status=400, content_type="text/plain")
    try:
        page = book_page((number - 1) * size, size, search)
    except PageError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    return render(
        request,
        "books/books.html",
        {
            "page": page,
            "number": number,
            "search": search,
            "unavailable": sorted(page.unavailable),
        },
    )


def book(request: HttpRequest, pk: int) -> HttpResponse:
    """This shop's own page for one of its books: where its buy links lead."""
    found = get_object_or_404(Book.objects.select_related("author"), pk=pk)
    return render(request, "books/book.html", {"book": found})
