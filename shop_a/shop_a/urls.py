from django.urls import include, path

urlpatterns = [path("", include("graphql_gateway.urls"))]
