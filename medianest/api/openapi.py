"""The OpenAPI 3.1 document of every JSON route, built from the URL map.

Routes are found in ``app.url_map`` (core and plugins alike), described by the
``RouteDoc`` that :func:`medianest.api.api_route` attached, and secured
according to their access rule.  Schemas come from the same pydantic models
that validate requests.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template
from pydantic import BaseModel, TypeAdapter

from medianest.access import public, view_access
from medianest.api.converters import ID_MAX
from medianest.api.route import RouteDoc, api_route
from medianest.api.schema import CursorQuery
from medianest.json_answers import ERROR_CODES, ok

bp = Blueprint("openapi", __name__)

_RULE_ARG = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTER_SCHEMA = {
    "int": {"type": "integer", "minimum": 0, "maximum": ID_MAX},
    "float": {"type": "number"},
    "path": {"type": "string"},
    "uuid": {"type": "string", "format": "uuid"},
}

REF = "#/components/schemas/{model}"


def _path_and_params(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for match in _RULE_ARG.finditer(rule):
        params.append(
            {
                "name": match["name"],
                "in": "path",
                "required": True,
                "schema": _CONVERTER_SCHEMA.get(match["converter"] or "", {"type": "string"}),
            }
        )
    return _RULE_ARG.sub(lambda m: "{" + m["name"] + "}", rule), params


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: Any) -> dict[str, Any]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            schema = model.model_json_schema(ref_template=REF, mode="serialization")
        else:
            schema = TypeAdapter(model).json_schema(ref_template=REF, mode="serialization")
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, definition)
        if isinstance(model, type) and issubclass(model, BaseModel):
            self.schemas.setdefault(model.__name__, schema)
            return {"$ref": REF.format(model=model.__name__)}
        return schema

    def request_ref(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, definition)
        self.schemas.setdefault(model.__name__, schema)
        return {"$ref": REF.format(model=model.__name__)}


# What CursorQuery's validator refuses, said where a client reads the parameters: a parameter's
# schema cannot name another parameter, so the rule is in both descriptions and in the 400 answer.
_ONE_WAY_OF_PAGING = {
    "page": "Offset paging. Not together with `before`: with `before`, leave `page` out (or 1); "
    "any other page is a 400 `VALIDATION_ERROR`.",
    "before": "Not together with a `page` other than 1 (a 400 `VALIDATION_ERROR`).",
}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    cursor = issubclass(model, CursorQuery)
    params = []
    for name, prop in schema.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if cursor and name in _ONE_WAY_OF_PAGING:
            said = prop.get("description")
            param["description"] = f"{said} {_ONE_WAY_OF_PAGING[name]}" if said else _ONE_WAY_OF_PAGING[name]
        params.append(param)
    return params


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}},
    }


def build_document(app: Flask, left_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The document of every JSON route except those of the blueprints in ``left_out``."""
    components = _Components()
    components.schemas["ErrorEnvelope"] = {
        "type": "object",
        "required": ["success", "error"],
        "properties": {
            "success": {"const": False},
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(ERROR_CODES)},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            },
        },
    }
    next_before = {
        "type": ["integer", "null"],
        "description": "the ?before= of the next page (keyset paging); null at the end or on unordered lists",
    }
    components.schemas["Pagination"] = {
        "oneOf": [
            {
                "title": "Offset page (?page=)",
                "type": "object",
                "required": ["page", "per_page", "total", "pages"],
                "properties": {
                    **{k: {"type": "integer"} for k in ("page", "per_page", "total", "pages")},
                    "total_exact": {"type": "boolean", "description": "false when there are more rows than counted"},
                    "next_before": next_before,
                },
            },
            {
                "title": "Cursor page (?before=)",
                "type": "object",
                "required": ["per_page", "before", "has_more", "next_before"],
                "properties": {
                    "per_page": {"type": "integer"},
                    "before": {"type": "integer"},
                    "has_more": {"type": "boolean"},
                    "next_before": next_before,
                },
                "additionalProperties": False,
            },
        ]
    }
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/") or rule.endpoint.split(".")[0] in left_out:
            continue
        view = app.view_functions[rule.endpoint]
        doc: RouteDoc = getattr(view, "medianest_api_doc", None) or RouteDoc(
            summary=(view.__doc__ or "").strip().split("\n")[0]
        )
        path, params = _path_and_params(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": doc.summary or rule.endpoint,
                "tags": doc.tags or [rule.endpoint.split(".")[0]],
                "responses": {},
            }
            if doc.description and doc.description != doc.summary:
                operation["description"] = doc.description
            parameters = list(params)
            if doc.query is not None:
                parameters += _query_params(doc.query)
                if issubclass(doc.query, CursorQuery):
                    operation["responses"]["400"] = _error_response(
                        "`VALIDATION_ERROR`: a query parameter out of range, or `page` other than 1 with `before`"
                    )
            if parameters:
                operation["parameters"] = parameters
            if doc.body is not None and method in ("POST", "PUT", "PATCH", "DELETE"):
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": components.request_ref(doc.body)}},
                }
            access = view_access(view)
            if access != "public":
                operation["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
            else:
                operation["security"] = []
            if doc.raw_response:
                # a document of its own (the OpenAPI JSON), a page or a file: not the envelope
                media_types = (doc.raw_response,) if isinstance(doc.raw_response, str) else doc.raw_response
                content = {
                    media: {"schema": {"type": "object"} if media.endswith("json") else {"type": "string"}}
                    for media in media_types
                }
                success = {"description": "OK", "content": content}
                if doc.partial_content:
                    operation["responses"]["206"] = {
                        "description": "The part a Range header asked for",
                        "content": content,
                    }
            else:
                data_schema = components.ref(doc.response) if doc.response is not None else {}
                meta_schema: dict[str, Any] = {"type": "object"}
                if doc.paginated:
                    meta_schema = {
                        "type": "object",
                        "required": ["pagination"],
                        "properties": {"pagination": {"$ref": REF.format(model="Pagination")}},
                    }
                success = {
                    "description": "OK",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["success", "data", "meta"],
                                "properties": {"success": {"const": True}, "data": data_schema, "meta": meta_schema},
                            }
                        }
                    },
                }
            operation["responses"][str(doc.response_status)] = success
            operation["responses"]["default"] = _error_response("Error (see error.code)")
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MediaNest API",
            "version": version("medianest"),
            "description": "JSON API of MediaNest. Errors use the envelope "
            "`{success: false, error: {code, message, details}}`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A personal API token"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


def document() -> dict[str, Any]:
    """Built once per set of plugins that are not active: a plugin switched off takes its routes with it."""
    host = current_app.extensions["medianest.plugins"]
    owners: dict[str, str] = current_app.extensions["medianest.blueprint_owners"]
    left_out = frozenset(name for name, owner in owners.items() if not host.is_active(owner))
    built = current_app.extensions.setdefault("medianest.openapi", {})
    if left_out not in built:
        built[left_out] = build_document(current_app, left_out)
    return built[left_out]


@bp.get("/api/v1/openapi.json")
@api_route(raw_response="application/json", summary="The OpenAPI document of every JSON route", tags=["meta"])
@public
def openapi_json():
    """The OpenAPI document of every JSON route."""

    return jsonify(document())


@bp.get("/api/docs")
@api_route(raw_response="text/html", summary="The API document as a page", tags=["meta"])
@public
def api_docs():
    """The API document as a page."""
    return render_template("api/docs.html", spec=document())


__all__ = ["bp", "build_document", "ok"]
