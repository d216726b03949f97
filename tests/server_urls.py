from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from tests.bench.limit import limit_view
from tests.remoteshop.schema import schema, subgraph
from tests.server_stats import stats

urlpatterns = [
    path("graphql/", subgraph.view(schema)),
    path("stats/", csrf_exempt(stats)),
    path("limit/", limit_view),
]
