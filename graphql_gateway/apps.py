from django.apps import AppConfig


class GraphQLGatewayConfig(AppConfig):
    name = "graphql_gateway"
    verbose_name = "GraphQL gateway"
