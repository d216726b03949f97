"""Django's jsonl serializer, writing FederatedForeignKey targets by natural key."""

from django.core.serializers import jsonl as django_jsonl

from federated_fk.serializers.base import PythonDeserializerMixin, PythonSerializerMixin


class Serializer(PythonSerializerMixin, django_jsonl.Serializer):
    pass


class Deserializer(PythonDeserializerMixin, django_jsonl.Deserializer):
    pass
