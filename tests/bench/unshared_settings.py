"""shop_a's settings with no sharing at all: the gateway benchmark's baseline.

SHARE_FETCHES off for shop_b (identical ``_entities`` requests in flight) and
SHARE_OPERATIONS off (identical gateway operations in flight).
"""

from shop_a.settings import *  # noqa: F403

FEDERATION["PROJECTS"]["shop_b"]["SHARE_FETCHES"] = False  # noqa: F405
GRAPHQL_GATEWAY = {**GRAPHQL_GATEWAY, "SHARE_OPERATIONS": False}  # noqa: F405
