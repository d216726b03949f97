"""Django's XML serializer, writing FederatedForeignKey targets by natural key.

A target's natural key is written like a foreign key's:
``<field name="object_id" type="CharField"><natural>Ursula</natural></field>``.
The targets of a FederatedManyToManyField are ``<object>`` elements naming
their content type, with a ``pk`` attribute or ``<natural>`` children::

    <field name="favourites" rel="FederatedManyToManyField">
      <object project="shop_b" app_label="remoteshop" model="book" pk="42"></object>
    </field>
"""

from __future__ import annotations

from typing import Any
from xml.dom.minidom import Element

from django.core.serializers import xml_serializer as django_xml
from django.db import models

from federated_fk.fields import FederatedManyToManyField
from federated_fk.serializers.base import (
    NaturalTargetDeserializer,
    NaturalTargetSerializer,
    federated_keys,
    federated_many_to_many,
    target_pairs,
)

CT_ATTRIBUTES = ("project", "app_label", "model")


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

    def handle_m2m_field(self, obj: models.Model, field: models.Field) -> None:
        if not isinstance(field, FederatedManyToManyField):
            super().handle_m2m_field(obj, field)
            return
        if not field.through._meta.auto_created:
            return
        self.indent(2)
        self.xml.startElement("field", {"name": field.name, "rel": type(field).__name__})
        for ct_key, value in target_pairs(obj, field, self.use_natural_foreign_keys):
            attrs = dict(zip(CT_ATTRIBUTES, ct_key, strict=True))
            if not isinstance(value, list):
                attrs["pk"] = str(value)
            self.xml.startElement("object", attrs)
            for part in value if isinstance(value, list) else ():
                self.xml.startElement("natural", {})
                self.xml.characters(str(part))
                self.xml.endElement("natural")
            self.xml.endElement("object")
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
        pk = node.getAttribute("pk") or None
        self.resolve_fields(label, pk, fields)
        for name, field_node in nodes.items():
            _set_text(field_node, fields[name])
        targets = self._many_to_many_targets(model, label, pk, node)
        deserialized = super()._handle_object(node)
        deserialized.m2m_data.update(targets)
        return deserialized

    def _many_to_many_targets(self, model: Any, label: str, pk: Any, node: Element) -> dict:
        """Take the FederatedManyToManyField nodes out of ``node``, as targets."""
        names = federated_many_to_many(model)
        targets = {}
        for field_node in list(node.getElementsByTagName("field")):
            name = field_node.getAttribute("name")
            if name not in names:
                continue
            pairs = [
                [
                    [o.getAttribute(a) for a in CT_ATTRIBUTES],
                    _raw_value(o) if o.getElementsByTagName("natural") else o.getAttribute("pk"),
                ]
                for o in field_node.getElementsByTagName("object")
            ]
            targets[name] = self.resolve_targets(label, pk, name, pairs)
            field_node.parentNode.removeChild(field_node)
        return targets


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
