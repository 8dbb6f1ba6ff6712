"""Each API operation declared once: who may call it, the body and query it takes, the answers it gives.

The declaration registers the Flask route, checks the caller's role, validates the body and query by their pydantic
models (today's error format: 422 ``missing_field`` / ``bad_field``), and is what the OpenAPI document at
/api/openapi.json is generated from, so the code and the document cannot drift apart. Answers are declared by
models that refuse undocumented fields; tests check every real answer against them (``check_answers``).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
import sys
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic.json_schema import models_json_schema

from server.auth import Principal
from server.queue import DomainError
from server.web import INT_MAX, require
from server.web import body as read_body

#: roles that authenticate with a device token (Bearer); the others are staff with a session cookie
DEVICE_ROLES = frozenset({"kiosk", "display", "evaluator"})
#: an integer the database can store (PostgreSQL INTEGER); a larger one is refused as out of range
Count = Annotated[int, Field(ge=-INT_MAX, le=INT_MAX)]


@functools.cache
def _comments(module: str) -> dict[str, dict[str, str]]:
    """Of each class in the module, the ``#:`` comment (the line or lines just above) of each field it declares."""
    try:
        source = inspect.getsource(sys.modules[module])
    except (KeyError, OSError, TypeError):  # no source: nothing to read
        return {}
    lines = source.splitlines()
    found: dict[str, dict[str, str]] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        fields = found.setdefault(node.name, {})
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                above = statement.lineno - 2
                comment: list[str] = []
                while above >= 0 and lines[above].strip().startswith("#:"):
                    comment.insert(0, lines[above].strip()[2:].strip())
                    above -= 1
                if comment:
                    fields[statement.target.id] = " ".join(comment)
    return found


def _describe(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """A model's JSON Schema with its fields' ``#:`` comments as their descriptions: the meaning is written once, next
    to the field, and the document is the field reference. Read when the document is made, not at import."""
    properties = schema.get("properties", {})
    for klass in reversed(cls.__mro__):  # a subclass's comment wins over its parent's
        if isinstance(klass, type) and issubclass(klass, BaseModel) and klass is not BaseModel:
            source = klass.__dict__.get("__described_by__", klass)  # answer_of: the dataclass it mirrors
            for name, comment in _comments(source.__module__).get(source.__name__, {}).items():
                info = cls.model_fields.get(name)
                key = (info.alias or name) if info is not None else name
                if key in properties and info is not None and info.description is None:
                    properties[key]["description"] = comment


class Body(BaseModel):
    """A request body or query string. Strict as the API always was (no "5" for 5, no true for 1); fields it does
    not know are ignored, as they always were; a JSON null counts as absent."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, json_schema_extra=_describe)


class Answer(BaseModel):
    """A response body: every field it may carry is declared, none other (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_describe)


def answer_of(shape: type, name: str, doc: str, leave_out: tuple[str, ...] = ()) -> type[Answer]:
    """The answer model of a dataclass the domain returns as JSON (its fields, all present, less ``leave_out``), so
    the shape is written once, in the domain; the dataclass's ``#:`` comments describe the fields in the document."""
    hints = typing.get_type_hints(shape)
    fields_ = {item.name: (hints[item.name], ...) for item in dataclasses.fields(shape) if item.name not in leave_out}
    model = create_model(name, __base__=Answer, __doc__=doc, **fields_)  # type: ignore[call-overload]
    model.__described_by__ = shape  # type: ignore[attr-defined]
    return model


class ErrorBody(Answer):
    code: str
    message: str
    #: facts for the screen's next step (the item of a forfeited appointment, say)
    detail: dict[str, Any] | None = None


class Error(Answer):
    """Every 4xx: ``{"error": {"code", "message"}}``."""

    error: ErrorBody


@dataclass(frozen=True)
class File:
    """An answer that is a file (an XLSX export, a WAV), not JSON."""

    media_type: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    roles: tuple[str, ...] | None
    body: type[Body] | None
    body_required: bool
    query: type[Body] | None
    answers: dict[int, type[Answer] | File | None]
    errors: tuple[int, ...]
    description: str = ""
    path_parameters: dict[str, str] = field(default_factory=dict)


M = TypeVar("M", bound=BaseModel)
#: every declared operation, in the order of declaration (the document lists them so)
OPERATIONS: list[Operation] = []

_ERROR_NAMES = {400: "Malformed request", 401: "Not logged in / bad token", 403: "Role not allowed",
                404: "Not found", 409: "Refused by the hall's rules", 415: "A change not typed application/json",
                422: "Invalid field",
                429: "Too many attempts or requests: try again after the Retry-After header's seconds",
                503: "Unavailable"}
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_KIND_NAMES = {"string_type": "str", "int_type": "int", "bool_type": "bool", "list_type": "list",
               "dict_type": "dict", "model_type": "dict", "float_type": "float", "int_from_float": "int"}


def operation(bp: Blueprint, method: str, rule: str, *, summary: str, tag: str, roles: Iterable[str] | None,
              body: type[Body] | None = None, body_required: bool = True, query: type[Body] | None = None,
              answer: type[Answer] | File | None = None, status: int = 200, errors: Iterable[int] = (),
              description: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare and register an operation. The view receives the path's arguments and, if it names them, ``who``
    (the caller, checked against ``roles``), ``data`` (the body's model) and ``query`` (the query's model); it
    returns a dict (answered as JSON with ``status``) or a Flask response."""
    role_list = tuple(roles) if roles is not None else None
    declared = Operation(
        method=method.lower(), path=(bp.url_prefix or "") + _CONVERTER.sub(r"{\2}", rule), summary=summary,
        tag=tag, roles=role_list, body=body, body_required=body_required, query=query,
        answers={status: answer}, errors=tuple(errors), description=description,
        path_parameters={name: converter or "string" for converter, name in _CONVERTER.findall(rule)})
    OPERATIONS.append(declared)

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        wants = set(inspect.signature(view).parameters)

        def endpoint(**path: Any) -> Any:
            extra: dict[str, Any] = {}
            who: Principal | None = require(*role_list) if role_list is not None else None
            if "who" in wants:
                extra["who"] = who
            if body is not None:
                extra["data"] = validated(body, _present(read_body()))
            if query is not None:
                extra["query"] = validated(query, request.args.to_dict())
            result = view(**path, **extra)
            return (jsonify(result), status) if isinstance(result, dict) else result

        endpoint.__name__ = endpoint.__qualname__ = view.__name__
        endpoint.__doc__ = view.__doc__
        bp.add_url_rule(rule, view_func=endpoint, methods=[method.upper()])
        return endpoint

    return register


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """A JSON null is a field not given, as the API always read it."""
    return {name: value for name, value in data.items() if value is not None}


def validated(model: type[M], data: dict[str, Any]) -> M:
    """The model of the data, or the first problem as today's 422: ``missing_field`` or ``bad_field``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        name = ".".join(str(part) for part in problem["loc"]) or "body"
        kind = problem["type"]
        if kind == "missing":
            raise DomainError("invalid", "missing_field", f"缺少字段 {name}") from None
        if kind in _KIND_NAMES:
            raise DomainError("invalid", "bad_field", f"字段 {name} 应为 {_KIND_NAMES[kind]}") from None
        if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            raise DomainError("invalid", "bad_field", f"字段 {name} 超出范围") from None
        raise DomainError("invalid", "bad_field", f"字段 {name}：{problem['msg']}") from None


# ---------------------------------------------------------------- the document

def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared operation."""
    models: list[tuple[type[BaseModel], Any]] = [(Error, "serialization")]
    for op in OPERATIONS:
        models += [(model, "validation") for model in (op.body, op.query) if model is not None]
        models += [(model, "serialization") for model in op.answers.values()
                   if isinstance(model, type) and issubclass(model, BaseModel)]
    refs, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation_object(op, refs, definitions.get("$defs", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "hallq API", "version": "1", "description": "Queue and kiosk system for service halls. "
                 "Every error is {\"error\": {\"code\", \"message\"}}. A POST without a Bearer token must be "
                 "Content-Type: application/json (else 415 json_required); an Origin not the hall's own is 403 "
                 "cross_origin."},
        "paths": paths,
        "components": {
            "securitySchemes": {"device": {"type": "http", "scheme": "bearer",
                                           "description": "kiosk/display/evaluator token"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": definitions.get("$defs", {}),
        },
    }


def _operation_object(op: Operation, refs: dict[tuple[type[BaseModel], Any], Any],
                      definitions: dict[str, Any]) -> dict[str, Any]:
    error = {"description": "", "content": {"application/json": {"schema": refs[(Error, "serialization")]}}}
    document: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    if op.description:
        document["description"] = op.description
    if op.roles is not None:
        security = ([{"device": []}] if DEVICE_ROLES & set(op.roles) else []) + (
            [{"session": []}] if set(op.roles) - DEVICE_ROLES else [])
        document["security"] = security
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer"} if converter == "int" else {"type": "string"}}
                  for name, converter in op.path_parameters.items()]
    if op.query is not None:
        schema = definitions[refs[(op.query, "validation")]["$ref"].rsplit("/", 1)[1]]
        required = set(schema.get("required", ()))
        parameters += [{"name": name, "in": "query", "required": name in required, "schema": _plain(prop)}
                       for name, prop in schema["properties"].items()]
    if parameters:
        document["parameters"] = parameters
    if op.body is not None:
        document["requestBody"] = {"required": op.body_required,
                                   "content": {"application/json": {"schema": refs[(op.body, "validation")]}}}
    responses: dict[str, Any] = {}
    for status, answer in op.answers.items():
        if isinstance(answer, File):
            responses[str(status)] = {"description": "A file", "content": {
                answer.media_type: {"schema": {"type": "string", "format": "binary"}}}}
        elif answer is None:
            responses[str(status)] = {"description": "OK"}
        else:
            responses[str(status)] = {"description": "OK", "content": {
                "application/json": {"schema": refs[(answer, "serialization")]}}}
    codes = {400, *op.errors}
    if op.roles is not None:
        codes |= {401, 403}
    if op.body is not None or op.query is not None:
        codes.add(422)
    if op.method != "get":  # server/web_guard.py: 403 cross_origin, 415 json_required
        codes |= {403, 415}
    for code in sorted(codes):
        responses[str(code)] = {**error, "description": _ERROR_NAMES[code]}
    document["responses"] = responses
    return document


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: what pydantic says of the field, without its title."""
    return {key: value for key, value in schema.items() if key not in ("title", "default")}


# ---------------------------------------------------------------- answers checked in tests

def check_answers(app: Flask) -> None:
    """Test builds: every JSON answer of a declared operation is validated by its declared model, so an answer
    carrying an undocumented field, or missing a required one, fails the test that got it."""
    adapters: dict[tuple[str, str, int], TypeAdapter[Any]] = {}
    for op in OPERATIONS:
        for status, answer in op.answers.items():
            if isinstance(answer, type) and issubclass(answer, BaseModel):
                adapters[(op.method.upper(), op.path, status)] = TypeAdapter(answer)

    @app.after_request
    def _check(response: Response) -> Response:
        if not response.is_json or response.status_code >= 400 or response.direct_passthrough:
            return response
        if request.url_rule is None:
            return response
        # the route Flask chose, not a pattern: /api/cases/options is not /api/cases/{case_id}
        path = _CONVERTER.sub(r"{\2}", request.url_rule.rule)
        adapter = adapters.get((request.method, path, response.status_code))
        if adapter is not None:
            try:
                adapter.validate_json(response.get_data())
            except ValidationError as exc:
                current_app.logger.error("answer of %s %s not as declared: %s", request.method, path, exc)
                raise AssertionError(f"{request.method} {request.path}: answer not as declared: {exc}") from exc
        return response
