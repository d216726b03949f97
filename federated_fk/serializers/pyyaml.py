"""Django's pyyaml serializer, writing FederatedForeignKey targets by natural key."""

from django.core.serializers import pyyaml as django_pyyaml

from federated_fk.serializers.base import PythonDeserializerMixin, PythonSerializerMixin


class Serializer(PythonSerializerMixin, django_pyyaml.Serializer):
    pass


class Deserializer(PythonDeserializerMixin, django_pyyaml.Deserializer):
    pass
