"""A django-debug-toolbar panel listing a page's remote requests.

Install the extra (``pip install django-federated-fk[debug]``) and add the panel::

    DEBUG_TOOLBAR_PANELS = [
        *debug_toolbar.settings.PANELS_DEFAULTS,
        "federated_fk.debug_toolbar.RemoteRequestsPanel",
    ]
"""

from federated_fk.debug_toolbar.panel import RemoteRequestsPanel

__all__ = ["RemoteRequestsPanel"]
