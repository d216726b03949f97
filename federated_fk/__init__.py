"""django-federated-fk: a GenericForeignKey whose target may live in another service.

Import the public API from its modules (Django apps cannot import models at
package import time)::

    from federated_fk.models import GenericContentType
    from federated_fk.fields import FederatedForeignKey, FederatedRelation
    from federated_fk.prefetch import FederatedPrefetch

The public API is the ``__all__`` of the modules the documentation's public API table
(docs/explanation/architecture.md) lists; every other module is internal and may change.
"""

__version__ = "0.1.0"
