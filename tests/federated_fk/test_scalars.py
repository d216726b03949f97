"""One scalar registry: the subgraph, the converters, the gateway and primary keys read it."""

import decimal

import strawberry
from django.db import models
from strawberry.schema.config import StrawberryConfig

from federated_fk.contract import PkType, pk_field, pk_type_of
from federated_fk.remote.converters import converter, scalar_converter, stand_in_field
from federated_fk.scalars import Scalar, scalar_map, scalar_named, scalar_of_field
from federated_fk.subgraph.model_fields import scalar_type
from graphql_gateway.targets import scalar_annotation
from tests.remoteshop.models import Book


class Money(decimal.Decimal):
    """An amount of money: a Decimal that knows it is one."""


class MoneyField(models.DecimalField):
    pass


def _parse_money(value):
    return Money(value["amount"])


MONEY = Scalar(
    "Money",
    Money,
    _parse_money,
    stand_in_field=MoneyField,
    model_fields=(MoneyField,),
    serialize=lambda value: {"amount": str(value)},
)


def test_each_model_field_has_one_scalar():
    assert scalar_of_field(models.DateTimeField()).name == "DateTime"  # not its base's Date
    assert scalar_of_field(models.PositiveIntegerField()).name == "Int"
    assert scalar_of_field(models.CharField(choices=[("a", "A")])).name == "String"
    assert scalar_of_field(models.FileField()) is None


def test_primary_keys_read_the_registry():
    assert pk_type_of(Book) == PkType.INT
    assert isinstance(pk_field(PkType.UUID), models.UUIDField)
    assert isinstance(pk_field(PkType.STR), models.CharField)


def test_a_registered_scalar_is_published_converted_and_typed(settings):
    settings.FEDERATION = {**settings.FEDERATION, "SCALARS": {"Money": MONEY}}
    field = MoneyField(max_digits=8, decimal_places=2)
    assert scalar_of_field(field) is MONEY  # before the built-in Decimal
    annotation = scalar_type(field)

    @strawberry.type
    class Query:
        price: annotation = strawberry.field(resolver=lambda: Money("3.10"))

    schema = strawberry.Schema(query=Query, config=StrawberryConfig(scalar_map=scalar_map()))
    assert "scalar Money" in schema.as_str()
    assert schema.execute_sync("{ price }").data == {"price": {"amount": "3.10"}}
    parsed = converter("Money!", scalar_converter("Money"))({"amount": "3.10"})
    assert parsed == Money("3.10") and isinstance(parsed, Money)
    assert stand_in_field("Money") is MoneyField
    assert scalar_annotation("Money") is MONEY.annotation


def test_a_converter_alone_registers_a_scalar_of_unknown_type(settings):
    settings.FEDERATION = {**settings.FEDERATION, "SCALARS": {"Money": _parse_money}}
    assert scalar_named("Money").parse is _parse_money
    assert scalar_annotation("Money") is str  # the gateway publishes it as a String
    assert stand_in_field("Money") is models.Field
