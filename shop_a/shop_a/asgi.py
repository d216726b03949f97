import os

from asgiref.sync import sync_to_async
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.exception import response_for_exception

from federated_fk.asgi import LifespanHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_a.settings")


class StaticFilesHandler(ASGIStaticFilesHandler):
    """Django's handler; a path that leaves the static folders (``/static/../x``)
    is a 400, as Django answers any suspicious request, not a 500."""

    async def get_response_async(self, request):
        try:
            return await super().get_response_async(request)
        except SuspiciousOperation as exc:
            return await sync_to_async(response_for_exception)(request, exc)


# The demo runs uvicorn alone, without a web server in front: serve the
# admin's static files from the app too. The gateway's requests to shop_b are
# sent on uvicorn's event loop.
application = LifespanHandler(StaticFilesHandler(get_asgi_application()))
