"""Serializers that write FederatedForeignKey targets by natural key.

Register them the Django way, in place of the built-in formats::

    SERIALIZATION_MODULES = {
        "json": "federated_fk.serializers.json",
        "jsonl": "federated_fk.serializers.jsonl",
        "xml": "federated_fk.serializers.xml_serializer",
        "yaml": "federated_fk.serializers.pyyaml",  # needs PyYAML
    }

With ``dumpdata --natural-foreign``, a reference's content type is written as
``["project", "app_label", "model"]`` (Django does that for any model with
``natural_key()``), and a local target whose model has ``natural_key()`` and
a manager with ``get_by_natural_key()`` is written by its natural key instead
of its primary key. Remote targets keep their remote primary key, which is the
same in every service. ``loaddata`` reads both back; see ``base``.
"""
