"""Django's python serializer, writing FederatedForeignKey targets by natural key."""

from django.core.serializers import python as django_python

from federated_fk.serializers.base import PythonDeserializerMixin, PythonSerializerMixin


class Serializer(PythonSerializerMixin, django_python.Serializer):
    pass


class Deserializer(PythonDeserializerMixin, django_python.Deserializer):
    pass
