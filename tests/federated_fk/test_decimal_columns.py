"""Decimal columns served without a Decimal per value: the same text as Django's way."""

import decimal
import random

import pytest
from django.db import connection, models

from federated_fk.scalars import decimal_column, decimal_text, decimal_texts
from tests.remoteshop.models import Book

EDGES = ["0", "0.01", "0.1", "0.125", "2.675", "1.005", "-0.5", "-3", "999999.99", "-999999.99"]
EDGES += ["123456.78", "0.07", "10", "100.10", "5e-2"]


@pytest.mark.parametrize(
    ("max_digits", "places"), [(15, 0), (15, 2), (15, 5), (9, 7), (12, 8), (20, 10), (8, 2)]
)
def test_floats_and_integers_as_sqlite_stores_them(max_digits, places):
    field = models.DecimalField(max_digits=max_digits, decimal_places=places)
    text = decimal_text(field)
    quantum = decimal.Decimal(1).scaleb(-places)
    rng = random.Random(places)
    values = [float(d) for d in EDGES] + [int(float(d)) for d in EDGES]
    values += [round(rng.uniform(-1e6, 1e6), rng.randint(0, 6)) for _ in range(5000)]
    values += [rng.uniform(-1e3, 1e3) for _ in range(1000)] + [0.1 + 0.2, 1e-7, -0.0, 0.0, 0]
    values += [1.5e-7, 1e-8, 45.5, 1e7, 1e13, 12345678.5, -99999999.0, float("inf")]

    def django(value):
        # Django's SQLite converter: the error it raises is the expected answer too.
        try:
            return str(
                decimal.Context(prec=15)
                .create_decimal_from_float(value)
                .quantize(quantum, context=field.context)
            )
        except decimal.InvalidOperation:
            return decimal.InvalidOperation

    def ours(read, value):
        try:
            return read(value)
        except decimal.InvalidOperation:
            return decimal.InvalidOperation

    expected = [django(value) for value in values]
    for value, answer in zip(values, expected, strict=True):
        assert ours(text, value) == answer, value
    # A column at a time: the same texts, whole or in slices that mix what a
    # single pass takes and what it leaves to decimal_text.
    texts = decimal_texts(field)
    for start in range(0, len(values), 7):
        chunk, answers = values[start : start + 7], expected[start : start + 7]
        assert ours(texts, chunk) == (
            decimal.InvalidOperation if decimal.InvalidOperation in answers else answers
        ), chunk
    good = [
        v
        for v, answer in zip(values, expected, strict=True)
        if answer is not decimal.InvalidOperation
    ]
    assert texts(good) == [a for a in expected if a is not decimal.InvalidOperation]


def test_a_column_of_other_values_is_read_a_value_at_a_time():
    texts = decimal_texts(models.DecimalField(max_digits=8, decimal_places=2))
    assert texts([]) == []
    assert texts([1.5, None, 2]) == ["1.50", None, "2.00"]
    assert texts(["12.50", 3]) == ["12.50", "3.00"]
    assert texts([1.015, 1.5]) == ["1.02", "1.50"]  # not 1.01, as '.2f' of the float says
    wide = models.DecimalField(max_digits=25, decimal_places=2)
    assert decimal_texts(wide)([1e16, 2.5]) == [decimal_text(wide)(1e16), "2.50"]  # 17 digits


def test_other_values_pass_as_text():
    text = decimal_text(models.DecimalField(max_digits=8, decimal_places=2))
    assert text(None) is None
    assert text("12.50") == "12.50"  # PostgreSQL's numeric text
    assert text(decimal.Decimal("3.10")) == "3.10"


@pytest.mark.django_db
def test_the_raw_column_reads_as_django_reads_it():
    prices = [decimal.Decimal(p) for p in EDGES if abs(decimal.Decimal(p)) < 10**6]
    Book.objects.bulk_create([Book(title="T", author="A", price=p) for p in prices])
    field = Book._meta.get_field("price")
    text = decimal_text(field)
    raw = Book.objects.order_by("pk").values_list(decimal_column("price", connection.vendor))
    read = Book.objects.order_by("pk").values_list("price", flat=True)
    assert [text(value) for (value,) in raw] == [str(p) for p in read]
    assert len(read) == len(prices)
