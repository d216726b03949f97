from django.apps import AppConfig
from django.core import checks


class GraphQLGatewayConfig(AppConfig):
    name = "graphql_gateway"
    verbose_name = "GraphQL gateway"

    def ready(self) -> None:
        from graphql_gateway.checks import (
            check_graphiql,
            check_introspection,
            check_published,
            check_settings,
        )

        checks.register(check_settings)
        checks.register(check_published)
        checks.register(check_graphiql)
        checks.register(check_introspection, checks.Tags.security, deploy=True)
