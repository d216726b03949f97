"""Django's XML serializer, writing FederatedForeignKey targets by natural key.

A target's natural key is written like a foreign key's:
``<field name="object_id" type="CharField"><natural>Ursula</natural></field>``.
"""

from __future__ import annotations

from typing import Any
from xml.dom.minidom import Element

from django.core.serializers import xml_serializer as django_xml
from django.db import models

from federated_fk.serializers.base import (
    NaturalTargetDeserializer,
    NaturalTargetSerializer,
    federated_keys,
)


class Serializer(NaturalTargetSerializer, django_xml.Serializer):
    def handle_field(self, obj: models.Model, field: models.Field) -> None:
        key = self.natural_target(obj, field)
        if key is None:
            super().handle_field(obj, field)
            return
        self.indent(2)
        self.xml.startElement("field", {"name": field.name, "type": field.get_internal_type()})
        for part in key:
            self.xml.startElement("natural", {})
            self.xml.characters(str(part))
            self.xml.endElement("natural")
        self.xml.endElement("field")


class Deserializer(NaturalTargetDeserializer, django_xml.Deserializer):
    @property
    def using(self) -> str:
        # Django's XML deserializer calls the database alias "db".
        return self.db

    def _handle_object(self, node: Element) -> Any:
        label = node.getAttribute("model")
        try:
            model = self._get_model_from_node(node, "model")
        except django_xml.base.DeserializationError:
            return super()._handle_object(node)
        names = {n for f in federated_keys(model).values() for n in (f.ct_field, f.fk_field)}
        nodes = {
            n.getAttribute("name"): n
            for n in node.getElementsByTagName("field")
            if n.getAttribute("name") in names
        }
        fields = {name: _raw_value(n) for name, n in nodes.items()}
        self.resolve_fields(label, node.getAttribute("pk") or None, fields)
        for name, field_node in nodes.items():
            _set_text(field_node, fields[name])
        return super()._handle_object(node)


def _raw_value(node: Element) -> Any:
    naturals = node.getElementsByTagName("natural")
    if naturals:
        return [django_xml.getInnerText(n).strip() for n in naturals]
    if node.getElementsByTagName("None"):
        return None
    return django_xml.getInnerText(node).strip()


def _set_text(node: Element, value: Any) -> None:
    if value is None:
        return
    while node.firstChild is not None:
        node.removeChild(node.firstChild)
    node.appendChild(node.ownerDocument.createTextNode(str(value)))
