"""Django's json serializer, writing FederatedForeignKey targets by natural key."""

from django.core.serializers import json as django_json

from federated_fk.serializers.base import PythonDeserializerMixin, PythonSerializerMixin


class Serializer(PythonSerializerMixin, django_json.Serializer):
    pass


class Deserializer(PythonDeserializerMixin, django_json.Deserializer):
    pass
