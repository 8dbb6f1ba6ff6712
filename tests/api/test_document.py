"""The generated OpenAPI document closes every answer: an object lists its fields and allows no other
(``additionalProperties: false``), so the fuzz test's response-schema check fails on an undocumented field and a loose
answer cannot come back (issue 15, point 3)."""

from __future__ import annotations

from typing import Any

from server.openapi import openapi_document, written
from server.operations import OPERATIONS
from tests.live import ROOT


def loose_places(schema: Any, schemas: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Where, under ``schema``, an answer could carry a field the document does not name."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        seen.add(name)
        return loose_places(schemas[name], schemas, name, seen)
    found = []
    if not schema:
        found.append(f"{where}: any value")
    if schema.get("type") == "object" or "properties" in schema:
        extra = schema.get("additionalProperties", True)
        if extra is True or extra == {}:
            found.append(f"{where}: an object open to any field")
        elif isinstance(extra, dict):  # a map (keys are data: a service's code, say): its values are checked
            found += loose_places(extra, schemas, f"{where}[*]", seen)
    for name, item in schema.get("properties", {}).items():
        found += loose_places(item, schemas, f"{where}.{name}", seen)
    found += loose_places(schema.get("items"), schemas, f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += loose_places(option, schemas, where, seen)
    return found


def test_every_declared_answer_allows_no_undocumented_field() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    loose = []
    for path, item in document["paths"].items():
        for method, described in item.items():
            for status, answer in described["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema is not None:
                    loose += [f"{method.upper()} {path} {status}: {place}"
                              for place in loose_places(schema, schemas, "answer", set())]
    assert loose == []


def test_every_operation_of_the_document_is_declared() -> None:
    """Nothing in the document is written by hand: each path and method comes from a declaration."""
    documented = {(path, method) for path, item in openapi_document()["paths"].items() for method in item}
    assert documented == {(op.path, op.method) for op in OPERATIONS}


def test_the_document_in_docs_is_the_generated_one() -> None:
    """docs/openapi.json (read in the repository, linked from docs/api.md) is what the server serves; after a change
    to a declaration: ``python -m server.openapi > docs/openapi.json``."""
    assert (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8") == written()


def test_the_walk_finds_an_open_object() -> None:
    """The check above can fail: an object without additionalProperties false, or a field of any shape, is found."""
    schemas = {"Closed": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/Open"}},
                          "additionalProperties": False},
               "Open": {"type": "object", "properties": {"b": {"type": "integer"}, "c": {}}}}
    assert loose_places({"$ref": "#/components/schemas/Closed"}, schemas, "answer", set()) == [
        "Open: an object open to any field", "Open.c: any value"]


def test_the_fields_comments_are_their_descriptions() -> None:
    """A field's ``#:`` comment is its meaning in the document (the document is the field reference), for a body, a
    query parameter (by its alias) and an answer; a subclass's comment wins over its parent's."""
    document = openapi_document()
    schemas = document["components"]["schemas"]
    assert schemas["IssueRequest"]["properties"]["service"]["description"].startswith("the item's code")
    assert schemas["Window"]["properties"]["served_today"]["description"].startswith("今日已办")
    # a model made from the domain's dataclass (operations.answer_of) is described by the dataclass's comments
    assert schemas["Ticket"]["properties"]["waiting_ahead"]["description"].startswith("residents who will be called")
    assert schemas["TrackedTicket"]["properties"]["windows_text"]["description"].startswith("办理窗口")
    parameters = {p["name"]: p for p in document["paths"]["/api/extended-service"]["get"]["parameters"]}
    assert parameters["from"]["schema"]["description"].startswith("YYYY-MM-DD")
    assert schemas["ExtendedRecord"]["properties"]["windows"]["description"].startswith("the windows that called")
    assert schemas["ExtendedNow"]["properties"]["windows"]["description"].startswith("each window")
