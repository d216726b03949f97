import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_b.settings")
# The demo runs uvicorn alone, without a web server in front: serve the
# admin's static files from the app too.
application = ASGIStaticFilesHandler(get_asgi_application())
