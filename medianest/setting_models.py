"""A service's settings as a pydantic model: the admin's form, and how what the admin types is checked.

A plugin declares its settings as a model and hands it to the core with
``ServiceSettings(model=...)``.  The form is read off the model: a field's
``title`` is its label, its ``description`` the help line, its type the kind
of input (``URL``, ``Folder``, ``SecretStr``, numbers, ``bool``, a
``Literal`` of choices); :func:`setting` says the rest.  What an admin submits
is validated through the model, and pydantic's errors become one plain
message per field (:func:`settings_problems`).
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, Field, SecretStr, ValidationError, create_model
from pydantic.fields import FieldInfo

from medianest.http import check_base_url
from medianest.settings import folder_problem

# What the form says about a field beyond its type: kept in the field's ``json_schema_extra``.
FORM_KEY = "medianest_form"
REQUIRED = "Required."
UNKNOWN = "Unknown field."
M = TypeVar("M", bound=BaseModel)


def _base_url(value: str) -> str:
    problem = check_base_url(value)
    if problem:
        raise ValueError(problem)
    return value


def _folder(value: str) -> str:
    folder = Path(value).expanduser()
    problem = folder_problem(folder) if folder.is_absolute() else "must be an absolute path"
    if problem:
        raise ValueError(problem)
    return value


# A service's address: http:// or https:// and a host (the form's ``url`` kind).
URL = Annotated[str, AfterValidator(_base_url)]
# An absolute folder MediaNest's processes can write in, created when missing (the ``folder`` kind).
Folder = Annotated[str, AfterValidator(_folder)]


def setting(
    label: str,
    default: Any = ...,  # pydantic's "no default": the field is required
    *,
    help: str = "",
    kind: str | None = None,
    required: bool = False,
    inbound: bool = False,
    missing: str | None = None,
    **constraints: Any,
) -> Any:
    """A settings model's field: pydantic's ``Field`` with what the form shows.

    ``label`` and ``help`` are shown beside the input; ``kind`` overrides the
    kind read off the type; ``required`` asks the form for a value even when
    the field has a default (so the model still reads unconfigured settings);
    ``inbound`` marks a secret the service sends to MediaNest; ``missing`` is
    the message for a required value left out.  ``constraints`` are pydantic's
    (``ge=0``, ``le=120``, ``max_length=...``).
    """
    form = {"kind": kind, "required": required, "inbound": inbound, "missing": missing}
    return Field(default, title=label, description=help or None, json_schema_extra={FORM_KEY: form}, **constraints)


def _form(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    form = extra.get(FORM_KEY)
    return form if isinstance(form, dict) else {}


def _plain(annotation: Any) -> Any:
    """The type under ``X | None``."""
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [a for a in get_args(annotation) if a is not type(None)]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def _validators(info: FieldInfo) -> set[Any]:
    return {m.func for m in info.metadata if isinstance(m, AfterValidator)}


def _kind(info: FieldInfo) -> str:
    annotation = _plain(info.annotation)
    checks = _validators(info)
    if _base_url in checks:
        return "url"
    if _folder in checks:
        return "folder"
    if annotation is SecretStr:
        return "password"
    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return "number"
    if get_origin(annotation) is Literal:
        return "choice"
    return "text"


def _shown_default(info: FieldInfo) -> str | None:
    default = info.default
    if info.is_required() or default is None or default == "" or isinstance(default, SecretStr):
        return None
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


@lru_cache(maxsize=64)
def form_fields(model: type[BaseModel]) -> tuple[dict[str, Any], ...]:
    """The form's fields read off a settings model, as ``SettingField`` arguments."""
    fields = []
    for name, info in model.model_fields.items():
        form = _form(info)
        kind = form.get("kind") or _kind(info)
        annotation = _plain(info.annotation)
        fields.append(
            {
                "name": name,
                "label": info.title or name.replace("_", " ").capitalize(),
                "secret": True if annotation is SecretStr else None,
                "required": info.is_required() or bool(form.get("required")),
                "kind": kind,
                "help": info.description or "",
                "default": _shown_default(info),
                "choices": tuple(str(c) for c in get_args(annotation)) if get_origin(annotation) is Literal else (),
                "inbound": bool(form.get("inbound")),
            }
        )
    return tuple(fields)


_KIND_TYPES: dict[str, Any] = {"url": URL, "number": float}


@lru_cache(maxsize=64)
def model_of(service: str, fields: Iterable[Any]) -> type[BaseModel]:
    """A settings model for a form declared field by field (``ServiceSettings(fields=...)``): URLs and
    numbers checked, choices kept to their list; each field's own ``required`` is the core's to check."""
    definitions: dict[str, Any] = {}
    for f in fields:
        annotation = _KIND_TYPES.get(f.kind, str)
        if f.kind == "choice" and f.choices:
            annotation = Literal[tuple(f.choices)]  # type: ignore[valid-type]
        definitions[f.name] = (annotation, setting(f.label, None, help=f.help, required=f.required))
    return create_model(f"{service.title().replace('_', '')}Settings", **definitions)


# ---------------------------------------------------------------- pydantic's errors, said plainly
_NUMBER_ERRORS = {
    "int_parsing",
    "int_type",
    "int_from_float",
    "float_parsing",
    "float_type",
    "finite_number",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "multiple_of",
}


def _bounds(info: FieldInfo) -> list[str]:
    """The field's numeric bounds in words (pydantic keeps ``ge=0`` and the like in ``metadata``)."""
    limits = {
        name: getattr(m, name)
        for m in info.metadata
        for name in ("ge", "gt", "le", "lt")
        if getattr(m, name, None) is not None
    }
    said = []
    if "ge" in limits:
        said.append(f"{limits['ge']:g} or more")
    elif "gt" in limits:
        said.append(f"more than {limits['gt']:g}")
    if "le" in limits:
        said.append(f"at most {limits['le']:g}")
    elif "lt" in limits:
        said.append(f"less than {limits['lt']:g}")
    return said


def _message(info: FieldInfo | None, error: Any) -> str:
    kind = error["type"]
    if info is None or kind == "extra_forbidden":
        return UNKNOWN
    if kind == "missing":
        return _form(info).get("missing") or REQUIRED
    if kind in ("value_error", "assertion_error"):
        return str(error["ctx"]["error"])
    annotation = _plain(info.annotation)
    if kind in _NUMBER_ERRORS:
        noun = "a whole number" if annotation is int else "a number"
        bounds = _bounds(info)
        return f"Enter {noun}" + (", " + " and ".join(bounds) if bounds else "") + "."
    if kind == "literal_error":
        return f"Choose one of: {', '.join(str(c) for c in get_args(annotation))}."
    if kind == "bool_parsing":
        return "Choose yes or no."
    if kind == "string_too_long":
        return f"Enter at most {error['ctx']['max_length']} characters."
    if kind == "string_too_short":
        return f"Enter at least {error['ctx']['min_length']} characters."
    return str(error["msg"])


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The values a model reads: an empty one is left out, so that the field's default counts."""
    return {name: value for name, value in values.items() if value is not None and value != ""}


def settings_problems(model: type[BaseModel], values: dict[str, Any]) -> dict[str, str]:
    """Field -> message for the values ``model`` refuses (empty values count as left out)."""
    problems: dict[str, str] = {}
    try:
        model.model_validate(given(values))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else next(iter(model.model_fields), "")
            problems.setdefault(name, _message(model.model_fields.get(name), error))
    return problems


def read_settings(model: type[M], values: dict[str, Any]) -> M:
    """The settings as ``model``, read leniently: a value the model refuses counts as left out.

    Stored values passed the form; the environment's did not, so one that
    doesn't fit falls back to the field's default rather than stopping a job.
    """
    data = {name: value for name, value in given(values).items() if name in model.model_fields}
    for name in settings_problems(model, data):
        data.pop(name, None)
    return model.model_validate(data)
