"""Does one of MediaNest's subset API files agree with the vendor's own document?

MediaNest keeps its own OpenAPI description of the part of each service's API
it uses (``tests/contracts/``). This module compares such a subset file with
the vendor's document, operation by operation, and lists every disagreement:

* every operation of the subset exists in a vendor document (same path
  template, parameters matched by position, same method);
* parameters: a query or path parameter exists there too, and is required
  exactly when the vendor's is; a parameter the vendor requires is declared;
  types and enums agree;
* request bodies: every property exists there with the same type and enum,
  and what the vendor requires is required here;
* answers: every success status is documented there with the same media type,
  and the properties described here exist there with the same type.

"Agree" is one-sided where MediaNest may know more: an answer's property may be
nullable here (the real server sends ``null``), may list the values MediaNest
expects where the vendor gives none, and a header parameter the vendor leaves
out is allowed. Anything else the vendor does not document must carry
``x-beyond-vendor-spec: <why>`` (on a property, parameter or response), and is
then not compared.

A home-made comparison, because the libraries that diff OpenAPI documents
(openapi-diff, oasdiff) compare two versions of one API for breaking changes,
not a hand-written subset against its source, and they are not Python packages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BEYOND = "x-beyond-vendor-spec"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class ApiDocument:
    """An OpenAPI document as plain data, with ``$ref`` resolution."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.data: dict[str, Any] = yaml.safe_load(self.path.read_text())
        self._templates = {_shape(template): template for template in self.data.get("paths", {})}

    def resolve(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.data
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
            seen += 1
            if seen > 50:
                raise ValueError(f"$ref loop in {self.path}")
        return node

    def operations(self) -> Iterable[tuple[str, str]]:
        for template, item in self.data.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    yield template, method

    def find(self, template: str, method: str) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        """(the document's own template, path item, operation) for a template of the same shape."""
        own = self._templates.get(_shape(template))
        if own is None:
            return None
        item = self.data["paths"][own]
        if method not in item:
            return None
        return own, item, item[method]

    def parameters(self, template: str, method: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Parameters keyed by (location, name); path parameters by position, headers case-insensitively."""
        found = self.find(template, method)
        assert found is not None
        own, item, operation = found
        positions = {name: str(i) for i, name in enumerate(re.findall(r"\{([^}]+)\}", own))}
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
            parameter = self.resolve(parameter)
            where = parameter["in"]
            name = parameter["name"]
            if where == "path":
                key = (where, positions.get(name, name))
            elif where == "header":
                key = (where, name.lower())
            else:
                key = (where, name)
            merged[key] = parameter
        return merged


def _shape(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template.rstrip("/") or "/")


def _types(schema: dict[str, Any]) -> tuple[set[str], bool]:
    """The schema's types without null, and whether null is allowed (3.0 or 3.1 style)."""
    declared = schema.get("type")
    types = set(declared) if isinstance(declared, list) else ({declared} if declared else set())
    nullable = bool(schema.get("nullable")) or "null" in types
    return types - {"null"}, nullable


@dataclass
class Comparison:
    ours: ApiDocument
    theirs: ApiDocument

    def schema(self, mine: Any, vendor: Any, where: str, *, request: bool) -> list[str]:
        mine, vendor = self.ours.resolve(mine or {}), self.theirs.resolve(vendor or {})
        if BEYOND in mine:
            return []
        if "allOf" in mine and len(mine["allOf"]) == 1 and not mine.get("type"):
            return self.schema(mine["allOf"][0], vendor, where, request=request)
        vendor = self._merge_all_of(vendor)
        for key in ("anyOf", "oneOf"):
            if key in mine:
                problems: list[str] = []
                for i, alternative in enumerate(mine[key]):
                    problems += self.schema(alternative, vendor, f"{where}<{key}[{i}]>", request=request)
                return problems
        for key in ("anyOf", "oneOf"):
            if key in vendor:
                candidates = [self.schema(mine, alt, where, request=request) for alt in vendor[key]]
                return min(candidates, key=len)
        problems = []
        mine_types, mine_null = _types(mine)
        vendor_types, vendor_null = _types(vendor)
        if mine_types and vendor_types and not mine_types <= vendor_types:
            if not (mine_types == {"integer"} and "number" in vendor_types):
                problems.append(f"{where}: type {sorted(mine_types)} here, {sorted(vendor_types)} in the vendor's")
        if request and mine_null and not vendor_null:
            problems.append(f"{where}: null accepted here, not in the vendor's")
        problems += self._enums(mine, vendor, where, request=request)
        if request:
            missing = set(vendor.get("required", [])) - set(mine.get("required", []))
            if missing:
                problems.append(f"{where}: the vendor's requires {sorted(missing)}, not required here")
        vendor_properties = vendor.get("properties") or {}
        for name, prop in (mine.get("properties") or {}).items():
            if BEYOND in self.ours.resolve(prop):
                continue
            if name not in vendor_properties:
                if vendor_properties or vendor.get("additionalProperties") is False:
                    problems.append(f"{where}.{name}: not in the vendor's document")
                continue
            problems += self.schema(prop, vendor_properties[name], f"{where}.{name}", request=request)
        if "items" in mine and "items" in vendor:
            problems += self.schema(mine["items"], vendor["items"], f"{where}[]", request=request)
        return problems

    def _merge_all_of(self, vendor: dict[str, Any]) -> dict[str, Any]:
        if "allOf" not in vendor:
            return vendor
        merged: dict[str, Any] = {k: v for k, v in vendor.items() if k != "allOf"}
        properties = dict(merged.get("properties") or {})
        required = list(merged.get("required") or [])
        for part in vendor["allOf"]:
            part = self._merge_all_of(self.theirs.resolve(part))
            properties.update(part.get("properties") or {})
            required += part.get("required") or []
            for key in ("type", "nullable", "enum", "items"):
                if key in part and key not in merged:
                    merged[key] = part[key]
        merged["properties"], merged["required"] = properties, required
        return merged

    @staticmethod
    def _enums(mine: dict[str, Any], vendor: dict[str, Any], where: str, *, request: bool) -> list[str]:
        mine_enum = [v for v in mine.get("enum", []) if v is not None]
        vendor_enum = [v for v in vendor.get("enum", []) if v is not None]
        if request:
            # The order matters too: the real server lists the allowed values in its error message.
            if vendor_enum and mine_enum != vendor_enum:
                return [f"{where}: values {mine_enum or 'any'} here, {vendor_enum} in the vendor's"]
            return []
        if mine_enum and vendor_enum and not set(mine_enum) <= set(vendor_enum):
            return [f"{where}: values {sorted(set(mine_enum) - set(vendor_enum))} not in the vendor's"]
        return []

    def operation(self, template: str, method: str) -> list[str]:
        label = f"{method.upper()} {template}"
        found = self.theirs.find(template, method)
        if found is None:
            return [f"{label}: not in the vendor's document"]
        _, _, vendor_operation = found
        _, _, operation = self.ours.find(template, method) or ("", {}, {})
        problems: list[str] = []
        mine_parameters = self.ours.parameters(template, method)
        vendor_parameters = self.theirs.parameters(template, method)
        for key, parameter in mine_parameters.items():
            where, name = key
            here = f"{label} {where} parameter {parameter['name']}"
            vendor_parameter = vendor_parameters.get(key)
            if BEYOND in parameter:
                continue
            if vendor_parameter is None:
                if where != "header":
                    problems.append(f"{here}: not in the vendor's document")
                continue
            mine_required, vendor_required = bool(parameter.get("required")), bool(vendor_parameter.get("required"))
            if vendor_required and not mine_required or (mine_required and not vendor_required and where != "header"):
                problems.append(f"{here}: required {mine_required} here, {vendor_required} in the vendor's")
            problems += self.schema(parameter.get("schema"), vendor_parameter.get("schema"), here, request=True)
        for key, vendor_parameter in vendor_parameters.items():
            if vendor_parameter.get("required") and key not in mine_parameters:
                problems.append(f"{label}: the vendor's requires the {key[0]} parameter {vendor_parameter['name']}")
        body = self.ours.resolve(operation.get("requestBody") or {})
        if body:
            vendor_body = self.theirs.resolve(vendor_operation.get("requestBody") or {})
            for media_type, content in (body.get("content") or {}).items():
                vendor_content = (vendor_body.get("content") or {}).get(media_type)
                if vendor_content is None:
                    problems.append(f"{label}: request body {media_type} not in the vendor's document")
                    continue
                problems += self.schema(
                    content.get("schema"), vendor_content.get("schema"), f"{label} body", request=True
                )
        problems += self._responses(label, operation, vendor_operation)
        return problems

    def _responses(self, label: str, operation: dict[str, Any], vendor_operation: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        vendor_responses = vendor_operation.get("responses") or {}
        for status, response in (operation.get("responses") or {}).items():
            response = self.ours.resolve(response)
            if BEYOND in response:
                continue
            vendor_response = self.theirs.resolve(vendor_responses.get(str(status)) or {})
            success = str(status).startswith("2")
            if not vendor_response:
                if success:
                    problems.append(f"{label} -> {status}: not documented in the vendor's document")
                continue
            for media_type, content in (response.get("content") or {}).items():
                vendor_content = (vendor_response.get("content") or {}).get(media_type)
                if vendor_content is None:
                    if success:
                        problems.append(f"{label} -> {status}: {media_type} not in the vendor's document")
                    continue
                problems += self.schema(
                    content.get("schema"), vendor_content.get("schema"), f"{label} -> {status}", request=False
                )
        return problems


def disagreements(ours: str | Path, *vendors: str | Path) -> list[str]:
    """Every way the subset file ``ours`` disagrees with the vendor documents.

    Each operation is compared with the first vendor document that has it
    (the Plex server's classic operations are only in the older file).
    """
    mine = ApiDocument(ours)
    documents = [ApiDocument(v) for v in vendors]
    problems: list[str] = []
    for template, method in mine.operations():
        theirs = next((d for d in documents if d.find(template, method) is not None), documents[0])
        problems += Comparison(mine, theirs).operation(template, method)
    return problems
