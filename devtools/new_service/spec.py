"""A new service's `service.yaml`: the kind's fields from its config model, each optional one
commented out with its default and its description, so the file is the kind's reference too.

Generated from the models (modules/config) rather than written out per kind: a field added to a
kind appears in every new service's spec, with the same words as the README's reference.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel

from devtools.config_reference import default_and_description
from workers.runtime.kinds import HANDLER_MODULE, KINDS

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

    from modules.config import ServiceBase

WIDTH = 99
# Set by the folder and by `make new-service` itself.
NOT_WRITTEN = frozenset({"name", "kind"})
# The first container a new service starts with: the smallest Fargate size.
FIRST_CONTAINER = {"name": "worker", "cpu": 256, "memory": 512}
HEADER = """\
# This service's spec, owned by its developers; the folder's name is the service's name.
# Every field: README.md, "Configuration reference". The code the platform runs is handler.py:
# README.md, "Adding a service". A commented field shows its default; uncomment it to change it.
"""


def spec_text(model: type[ServiceBase], kind: str, required: dict[str, Any]) -> str:
    """The whole `service.yaml` of a new service of `model`'s kind.

    `required`: a value for each field the kind requires besides `containers` (e.g. sends_to).
    """
    values = {"containers": [FIRST_CONTAINER], **required}
    parts = [HEADER, _yaml({"kind": kind})]
    for name, field in model.model_fields.items():
        if name in NOT_WRITTEN:
            continue
        parts.append(_field_text(model, kind, name, field, values))
    return "\n".join(parts)


def _field_text(
    model: type[ServiceBase], kind: str, name: str, field: FieldInfo, values: dict[str, Any]
) -> str:
    _, description = default_and_description(field)
    comment = _comment(description)
    if field.is_required():
        if name not in values:
            raise KeyError(f"{model.__name__}.{name} is required: give it a value")
        return comment + _yaml({name: values[name]})
    default = _yaml({name: _default(kind, name, field)})
    return comment + "".join(f"# {line}\n" for line in default.splitlines())


def _default(kind: str, name: str, field: FieldInfo) -> Any:
    if name == "handler":  # None means "by convention": show what the convention gives
        return f"{HANDLER_MODULE}:{KINDS[kind].function}"
    value = field.get_default(call_default_factory=True)
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _comment(description: str) -> str:
    lines = textwrap.wrap(description, WIDTH - 2) if description else []
    return "".join(f"# {line}\n" for line in lines)


def _yaml(value: dict[str, Any]) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=WIDTH)
