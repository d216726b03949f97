"""The system checks of a FederatedManyToManyField (``federated_fk.E3xx``).

They mirror Django's ManyToManyField checks and django-gm2m's: E301 unique,
E302 through model not installed, E303/E304 no or several ForeignKeys to the
source, E305/E306 no or several FederatedForeignKeys, E307-E310 bad
``through_fields``, E311 unknown deletion policy, E312/E313 clashing reverse
accessor or query name (found when a reverse relation is added), E314 an
``on_remote_delete`` that is not a remote policy (or ``SET_NULL``), E315 the
through model's FederatedForeignKey declares its own ``on_remote_delete``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core import checks, exceptions
from django.db import models

from federated_fk.fields.foreign_key import FederatedForeignKey
from federated_fk.fields.many_to_many.deletion import POLICIES
from federated_fk.fields.remote_policy import POLICY_HINT, is_default, refusal


class ManyToManyChecks:
    """Through-model discovery and the checks, mixed into FederatedManyToManyField."""

    def _find_through_fields(
        self,
    ) -> tuple[Any, Any, list[checks.CheckMessage]]:
        """Return the source ForeignKey and the FederatedForeignKey of the through model."""
        through = self.through
        opts = through._meta
        names = self.remote_field.through_fields
        if names is not None:
            return self._named_through_fields(names)
        sources = [
            f
            for f in opts.fields
            if isinstance(f, models.ForeignKey) and f.remote_field.model == self.model
        ]
        targets = [f for f in opts.private_fields if isinstance(f, FederatedForeignKey)]
        errors = []
        where = f"'{opts.object_name}', the intermediary model of '{self}'"
        hint = "Name them with through_fields=(source_field, federated_foreign_key)."
        if not sources:
            errors.append(
                self._error(
                    f"{where}, has no ForeignKey to '{self.model._meta.object_name}'.", "E303"
                )
            )
        elif len(sources) > 1:
            errors.append(
                self._error(
                    f"{where}, has more than one ForeignKey to '{self.model._meta.object_name}'.",
                    "E304",
                    hint,
                )
            )
        if not targets:
            errors.append(self._error(f"{where}, has no FederatedForeignKey.", "E305"))
        elif len(targets) > 1:
            errors.append(
                self._error(f"{where}, has more than one FederatedForeignKey.", "E306", hint)
            )
        return (sources[0] if sources else None), (targets[0] if targets else None), errors

    def _named_through_fields(
        self, names: Sequence[str]
    ) -> tuple[Any, Any, list[checks.CheckMessage]]:
        opts = self.through._meta
        if not 2 <= len(names) <= 4:
            return (
                None,
                None,
                [
                    self._error(
                        "through_fields must name the source ForeignKey and the "
                        "FederatedForeignKey of the through model (2 to 4 names).",
                        "E307",
                        "through_fields=(source, federated_foreign_key[, content_type, object_id])",
                    )
                ],
            )
        errors = []
        source = target = None
        try:
            source = opts.get_field(names[0])
        except exceptions.FieldDoesNotExist:
            errors.append(
                self._error(
                    f"The intermediary model '{opts.label}' has no field '{names[0]}'.", "E308"
                )
            )
        else:
            if not (
                isinstance(source, models.ForeignKey) and source.remote_field.model == self.model
            ):
                errors.append(
                    self._error(
                        f"'{opts.object_name}.{names[0]}' is not a ForeignKey to "
                        f"'{self.model._meta.object_name}'.",
                        "E309",
                    )
                )
                source = None
        target = next((f for f in opts.private_fields if f.name == names[1]), None)
        if not isinstance(target, FederatedForeignKey):
            errors.append(
                self._error(
                    f"'{opts.object_name}.{names[1]}' is not a FederatedForeignKey.", "E310"
                )
            )
            target = None
        elif tuple(names[2:]) != (target.ct_field, target.fk_field)[: len(names) - 2]:
            errors.append(
                self._error(
                    f"through_fields {list(names)!r} do not match the content-type and object-id "
                    f"fields of '{opts.object_name}.{names[1]}'.",
                    "E310",
                )
            )
        return source, target, errors

    def _error(self, msg: str, id: str, hint: str | None = None) -> checks.Error:
        return checks.Error(msg, hint=hint, obj=self, id=f"federated_fk.{id}")

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [
            *super().check(**kwargs),
            *self._check_unique(),
            *self._check_policies(),
            *self._check_remote_policy(),
            *self._check_through(),
            *getattr(self, "clashes", []),
        ]

    def _check_unique(self) -> list[checks.CheckMessage]:
        if self.unique:
            return [self._error("FederatedManyToManyFields cannot be unique.", "E301")]
        return []

    def _check_policies(self) -> list[checks.CheckMessage]:
        errors = []
        for name in ("on_delete_src", "on_delete_tgt"):
            if getattr(self, name) not in POLICIES:
                errors.append(
                    self._error(
                        f"{name} is not a deletion policy of "
                        "federated_fk.fields.many_to_many.deletion.",
                        "E311",
                        "Use CASCADE, DO_NOTHING, CASCADE_SIGNAL, CASCADE_SIGNAL_VETO or "
                        "DO_NOTHING_SIGNAL.",
                    )
                )
        return errors

    def _check_remote_policy(self) -> list[checks.CheckMessage]:
        policy = self.on_remote_delete
        why = refusal(policy)
        if why is None and policy is models.SET_NULL:
            why = "SET_NULL would leave links to nothing; delete them with CASCADE"
        if why is None:
            return []
        return [self._error(f"on_remote_delete of '{self}': {why}.", "E314", POLICY_HINT)]

    def _check_through_policy(self, target: Any) -> list[checks.CheckMessage]:
        """The links are the relation's: its on_remote_delete governs them, not the key's."""
        if target is None or is_default(target.on_remote_delete):
            return []
        return [
            self._error(
                f"'{target.model._meta.label}.{target.name}', the FederatedForeignKey of the "
                f"intermediary model of '{self}', declares on_remote_delete.",
                "E315",
                "Declare on_remote_delete on the FederatedManyToManyField: it applies to its "
                "through rows.",
            )
        ]

    def _check_through(self) -> list[checks.CheckMessage]:
        through = self.remote_field.through
        if through is None or self.model._meta.abstract:
            return []
        if isinstance(through, str):
            return [
                self._error(
                    f"Field specifies a many-to-many relation through model '{through}', "
                    "which has not been installed.",
                    "E302",
                )
            ]
        _source, target, errors = self._find_through_fields()
        return [*errors, *self._check_through_policy(target)]
