"""shop_b's own page for each book and audiobook: where other shops' buy links lead."""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import format_html

from audio.models import Audiobook
from books.models import Book

PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{} · shop_b</title>'
    "</head><body><h1>{}</h1><p>by {}</p>{}<p>Price: <strong>{}</strong></p>"
    '<form method="post"><button type="button">Add to cart</button></form></body></html>'
)


def book(request: HttpRequest, pk: int) -> HttpResponse:
    found = Book.objects.select_related("author").filter(pk=pk, published=True).first()
    if found is None:
        raise Http404("No such book.")
    return HttpResponse(format_html(PAGE, found.title, found.title, found.author, "", found.price))


def audiobook(request: HttpRequest, pk: int) -> HttpResponse:
    found = Audiobook.objects.select_related("author").filter(pk=pk).first()
    if found is None:
        raise Http404("No such audiobook.")
    read_by = format_html("<p>Audiobook, read by {}</p>", found.narrator)
    return HttpResponse(
        format_html(PAGE, found.title, found.title, found.author, read_by, found.price)
    )
