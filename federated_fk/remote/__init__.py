"""Remote objects and the client that fetches them.

- ``objects``: stand-in classes for remote models (``RemoteObject``);
- ``loading``: batched loading of stand-ins (``fetch_remote_objects``);
- ``client``: the public fetch functions (``fetch``, ``fetch_sdl``, ``list_ids``);
- ``entities``: the ``_entities`` query and the checks of its answer;
- ``session``, ``breaker``, ``transport``, ``loop``: one gql session per project on one
  long-lived event loop (its own thread's, or the server's under
  ``federated_fk.asgi.LifespanHandler``), retries, the circuit breaker, the capped
  aiohttp transport;
- ``cache``: the optional cache of fetched objects.

Importing this package does not import gql or aiohttp: ``loading`` imports the
client on first use.
"""

from federated_fk.remote.loading import afetch_remote_objects, fetch_remote_objects
from federated_fk.remote.objects import RemoteObject
from federated_fk.remote.queryset import RemoteQuerySet

__all__ = [
    "RemoteObject",
    "RemoteQuerySet",
    "afetch_remote_objects",
    "fetch_remote_objects",
]
