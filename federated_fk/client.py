"""The GraphQL client, as it was imported before ``federated_fk.remote`` held it.

Kept so that ``from federated_fk.client import fetch_sdl`` goes on working;
new code imports from ``federated_fk.remote.client``.
"""

from federated_fk.remote.client import Fetched, afetch, fetch, fetch_sdl, list_ids
from federated_fk.remote.entities import EntityType
from federated_fk.remote.loop import close_sessions
from federated_fk.remote.types import snake_case

__all__ = [
    "EntityType",
    "Fetched",
    "afetch",
    "close_sessions",
    "fetch",
    "fetch_sdl",
    "list_ids",
    "snake_case",
]
