"""Every operation of the OpenAPI document, called with generated input (schemathesis: valid and invalid) by every
role, those who may call it and those who may not, on SQLite and PostgreSQL: no 5xx, every 4xx with the error body,
answers as the document says. Half the cases carry the security review's odd input (issue 14, finding 8) in one
query argument, body field or path argument. tests/api/test_odd_input.py has each of that finding's requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from werkzeug.test import TestResponse

from server.clock import ManualClock
from server.openapi import openapi_document
from tests.api.conftest import HallApp, open_hall_app
from tests.api.quality import RATING_HALL
from tests.conftest import clear_database, opening_time

#: examples per operation: every role and both positive and negative input are drawn among them
EXAMPLES = 12
ROLES = ("nobody", "kiosk", "display", "evaluator", "clerk1", "guide", "admin")
DOCUMENT = openapi_document()
OPERATIONS = [(path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item]
#: what the security review sent, in place of a generated value: far dates, NUL, a lone surrogate (JSON only:
#: a URL cannot carry one), "%FF", numbers past any database integer, nesting past the body reader's depth
ODD_TEXT = ("0001-01-01", "9999-12-31", "0001-01", "a\x00b", "%FF", "9" * 30)
ODD_VALUES = {"query": ODD_TEXT, "path_parameters": (*ODD_TEXT, 2**40),
              "body": (*ODD_TEXT, "\ud800", 2**70, -(2**70), 1e308, json.loads("[" * 20 + "]" * 20))}


class FuzzHall:
    """One hall for the whole module (fresh per database): the fuzzer's clients by role."""

    def __init__(self, hall_app: HallApp) -> None:
        self.h = hall_app
        self.evaluator = hall_app.hall.accounts.add_device("rate-1", "evaluator")
        self.schema = schemathesis.openapi.from_wsgi("/api/openapi.json", hall_app.app)

    def call(self, case: Case, role: str) -> TestResponse:
        """The case sent as the role with the Flask test client (the body in ASCII escapes: a lone surrogate travels
        as the review sent it, ``\\ud800``, where an encoder in between would choke on it). The case's metadata
        stays as generated: schemathesis would re-check the changed case and cannot encode a lone surrogate."""
        client = self.h.app.test_client()
        kwargs = case.as_transport_kwargs(headers=self.credentials(case, role, client))
        case.freeze_metadata()
        kwargs.pop("base_url", None)
        if "json" in kwargs:
            kwargs["data"] = json.dumps(kwargs.pop("json"))
        return client.open(**kwargs)

    def credentials(self, case: Case, role: str, client: FlaskClient) -> dict[str, str]:
        """The role's device token (the headers to add), or a session cookie signed at the account's current epoch
        (a generated logout or password change ends sessions; the next call still has one). ``nobody`` keeps what
        schemathesis made up, if anything."""
        if role == "nobody":
            return {}
        case.headers = {name: value for name, value in (case.headers or {}).items() if name.lower() != "authorization"}
        case.cookies = {}
        tokens = {"kiosk": self.h.kiosk_token, "display": self.h.display_token, "evaluator": self.evaluator}
        if role in tokens:
            return {"Authorization": f"Bearer {tokens[role]}"}
        who = self.h.hall.accounts.staff(role)
        assert who is not None
        serializer = self.h.app.session_interface.get_signing_serializer(self.h.app)  # type: ignore[attr-defined]
        client.set_cookie("session", serializer.dumps({"staff": who.name, "epoch": who.epoch}))
        return {}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_hall(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzHall]:
    tmp_path: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hallq.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        clear_database(url)
    for hall_app in open_hall_app(tmp_path, url, ManualClock(opening_time()), RATING_HALL):
        yield FuzzHall(hall_app)


def check(case: Case, response: TestResponse) -> None:
    """No 5xx; a 4xx has the error body; what the document describes (status, content type, schema) holds."""
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    if 400 <= response.status_code < 500:
        error = json.loads(response.data)["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    if response.status_code == 429:  # throttled (logins, tickets): a refusal with the error body wherever it comes
        return
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error,
                                             schemathesis.checks.status_code_conformance,
                                             schemathesis.checks.content_type_conformance,
                                             schemathesis.checks.response_schema_conformance])


def odd_names(path: str, method: str) -> dict[str, list[str]]:
    """Where an odd value may go in a request to the operation: its query and path arguments, its body's fields."""
    operation = DOCUMENT["paths"][path][method.lower()]
    names: dict[str, list[str]] = {"query": [], "path_parameters": []}
    for parameter in operation.get("parameters", []):
        names["query" if parameter["in"] == "query" else "path_parameters"].append(parameter["name"])
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    names["body"] = sorted(schema.get("properties", {}))
    return {where: found for where, found in names.items() if found}


@st.composite
def requests(draw: st.DrawFn, operation: Any, names: dict[str, list[str]]) -> Case:
    """A generated case, valid or not; half of them with one odd value put in."""
    case: Case = draw(operation.as_strategy(generation_mode=draw(st.sampled_from(list(GenerationMode)))))
    if names and draw(st.booleans()):
        where = draw(st.sampled_from(sorted(names)))
        values = getattr(case, where)
        if where == "body" and not isinstance(values, dict):
            values = case.body = {}
        elif values is None:
            values = {}
            setattr(case, where, values)
        values[draw(st.sampled_from(names[where]))] = draw(st.sampled_from(ODD_VALUES[where]))
    return case


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_takes_generated_input(fuzz_hall: FuzzHall, path: str, method: str) -> None:
    cases = requests(fuzz_hall.schema[path][method], odd_names(path, method))

    @given(case=cases, role=st.sampled_from(ROLES))
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Case, role: str) -> None:
        check(case, fuzz_hall.call(case, role))

    run()
