"""Remote objects and the client that fetches them.

- ``objects``: stand-in classes for remote models (``RemoteObject``) and batched loading;
- ``client``: the public fetch functions (``fetch``, ``fetch_sdl``, ``list_ids``);
- ``entities``: the ``_entities`` query and the checks of its answer;
- ``session``, ``breaker``, ``transport``, ``loop``: one gql session per project on one
  background event loop, retries, the circuit breaker, the capped aiohttp transport;
- ``cache``: the optional cache of fetched objects.

Importing this package does not import gql or aiohttp: ``objects`` loads the
client on first use.
"""

from federated_fk.remote.objects import (
    RemoteManager,
    RemoteObject,
    RemoteOptions,
    afetch_remote_objects,
    fetch_remote_objects,
    stand_in_class,
)

__all__ = [
    "RemoteManager",
    "RemoteObject",
    "RemoteOptions",
    "afetch_remote_objects",
    "fetch_remote_objects",
    "stand_in_class",
]
