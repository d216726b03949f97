"""shop_a's settings with SHARE_FETCHES off for shop_b: the gateway benchmark's baseline."""

from shop_a.settings import *  # noqa: F403

FEDERATION["PROJECTS"]["shop_b"]["SHARE_FETCHES"] = False  # noqa: F405
