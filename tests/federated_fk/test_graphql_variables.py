"""Lists of scalars coerced in one pass: the same values and errors as graphql-core's."""

import pytest
from graphql import (
    Executor,
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    parse,
)

from federated_fk.graphql_completion import FastListExecutionContext
from federated_fk.graphql_cost import CostLimits, measure
from federated_fk.graphql_variables import coerce_scalar_lists

SCHEMA = build_schema(
    """
    scalar _Any
    type Query {
      f(a: [Int], b: [Int!], c: [_Any!], d: [ID!], e: [[Int]], s: [String], n: Int): Int
    }
    """
)
QUERY = """query ($a: [Int], $b: [Int!], $c: [_Any!]!, $d: [ID!], $e: [[Int]], $s: [String],
  $n: Int = 3) { f(a: $a, b: $b, c: $c, d: $d, e: $e, s: $s, n: $n) }"""

CASES = [
    {"c": [{"__typename": "Book", "id": "1"}, {"__typename": "Book"}, "text", 7]},
    {"c": [], "a": [1, None, 3], "b": [1, 2], "d": ["7", 8], "s": ["x", None]},
    {"c": [{}], "a": [1, 2.0], "e": [[1], None, [2, None]], "n": 5},
    {"c": {"__typename": "Book"}, "s": "one"},  # not lists: graphql-core's own way
    {"c": [{}], "b": [1, None]},  # a null in a list of non-null items
    {"c": [{}], "a": [1, "x"], "d": [1.5]},  # items the scalars refuse
    {"c": [None]},
    {"c": [{}], "a": [2**31]},
    {},  # a required list not given
]


def built(context_class, variables):
    return context_class.build(SCHEMA, parse(QUERY), raw_variable_values=variables)


@pytest.mark.parametrize("variables", CASES, ids=repr)
def test_the_variables_are_graphql_cores(variables):
    ours = built(FastListExecutionContext, variables)
    theirs = built(Executor, variables)
    if isinstance(theirs, list):
        assert isinstance(ours, list)
        assert [e.message for e in ours] == [e.message for e in theirs]
        return
    assert ours.variable_values.coerced == theirs.variable_values.coerced
    assert sources(ours) == sources(theirs)


def sources(executor):
    # A signature is made per build: compared by what it says.
    return {
        name: (source.signature.name, str(source.signature.type), source.value)
        for name, source in executor.variable_values.sources.items()
    }


def test_only_lists_that_coerce_are_taken():
    definitions = parse(QUERY).definitions[0].variable_definitions
    lists = coerce_scalar_lists(
        SCHEMA,
        definitions,
        {"c": [{"id": "1"}], "a": [1, "x"], "b": [None], "d": [5], "e": [[1]], "s": "x"},
    )
    assert lists == {"c": ([{"id": "1"}], [{"id": "1"}]), "d": ([5], ["5"])}


def test_the_cost_check_reads_the_same_lists():
    # Priced from the lists coerced apart: the same entities as graphql-core's coercion gives.
    schema = build_schema(
        """
        scalar _Any
        union _Entity = Book
        type Book { id: ID }
        type Query { _entities(representations: [_Any!]!): [_Entity]! }
        """
    )
    document = parse(
        "query ($r: [_Any!]!) { _entities(representations: $r) { ... on Book { id } } }"
    )
    limits = CostLimits(max_cost=10_000)
    cost = measure(schema, document, {"r": [{"__typename": "Book", "id": "1"}] * 40}, limits)
    assert cost.entities == 40
    refused = measure(schema, document, {"r": [None] * 40}, limits)
    assert refused.entities == 0  # the coercion fails: execution refuses the request


def test_a_scalar_is_coerced_as_graphql_core_coerces_it():
    # graphql-core 3.3 coerces input with coerce_input_value, not the older parse_value.
    scalar = GraphQLScalarType(
        "Odd", parse_value=lambda v: ("parsed", v), coerce_input_value=lambda v: ("coerced", v)
    )
    query = GraphQLObjectType(
        "Query",
        {"f": GraphQLField(GraphQLInt, args={"a": GraphQLArgument(GraphQLList(scalar))})},
    )
    schema = GraphQLSchema(query)
    document = parse("query ($a: [Odd]) { f(a: $a) }")
    ours = FastListExecutionContext.build(schema, document, raw_variable_values={"a": [1, 2]})
    theirs = Executor.build(schema, document, raw_variable_values={"a": [1, 2]})
    assert ours.variable_values.coerced == theirs.variable_values.coerced
    assert ours.variable_values.coerced == {"a": [("coerced", 1), ("coerced", 2)]}


@pytest.mark.parametrize(
    "document",
    [
        "query Q($c: [String]) { f(s: $c) } query Q($c: [Int]) { f(a: $c) }",
        "query Q($c: [String]) { f(s: $c) } query Q { f }",
        "query Q($c: [Int]) { f(a: $c) } query Q($c: [String]) { f(s: $c) }",
    ],
)
def test_of_operations_of_one_name_the_one_graphql_core_runs(document):
    # Validation refuses such a document; build, called on its own, takes the last.
    variables = {"c": ["x"], "d": [1]}
    ours = FastListExecutionContext.build(SCHEMA, parse(document), None, None, variables, "Q")
    theirs = Executor.build(SCHEMA, parse(document), None, None, variables, "Q")
    if isinstance(theirs, list):
        assert [e.message for e in ours] == [e.message for e in theirs]
    else:
        assert ours.operation is not None
        assert ours.variable_values.coerced == theirs.variable_values.coerced
        assert sources(ours) == sources(theirs)


def test_lists_are_not_priced_when_another_variable_fails():
    # The request fails on its variable, as it did before lists were coerced apart:
    # its error is the variable's, not the cost limit's.
    schema = build_schema(
        """
        scalar _Any
        union _Entity = Book
        type Book { id: ID }
        type Query { _entities(representations: [_Any!]!, n: ID): [_Entity]! }
        """
    )
    document = parse(
        "query ($r: [_Any!]!, $n: ID) { _entities(representations: $r, n: $n) { __typename } }"
    )
    sent = {"r": [{"__typename": "Book", "id": "1"}] * 60, "n": {"x": 1}}
    assert measure(schema, document, sent, CostLimits(max_cost=10_000)).entities == 0
