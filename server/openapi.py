"""The OpenAPI 3.1 document served at /api/openapi.json, generated from the declared operations
(server/operations.py); docs/api.md is its readable companion and docs/openapi.json its copy in the repository."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

from flask import Blueprint, current_app

import track
from server import (
    accounts_api,
    announcer,
    api,
    archives_api,
    cases_api,
    complaints_api,
    evaluation_api,
    guide_api,
    operations,
    prompts,
    stats_api,
)

#: the document's own route: it imports every module that declares operations, so the document has them all
bp = Blueprint("openapi", __name__, url_prefix="/api")
#: the modules whose operations the document describes
DECLARING = (api, accounts_api, announcer, archives_api, cases_api, complaints_api, evaluation_api, guide_api,
             prompts, stats_api, track)


@bp.get("/openapi.json")
def openapi() -> Any:
    return current_app.response_class(_served(), mimetype="application/json")


@functools.cache
def _served() -> str:
    """The document as served, made at the first request and kept: the declarations do not change while the
    server runs, and the schemas of every model take a while to write out."""
    return current_app.json.dumps(openapi_document()) + "\n"


def openapi_document() -> dict[str, Any]:
    return operations.openapi_document()


def written() -> str:
    """The document as kept in docs/openapi.json: sorted, indented, Chinese as it is."""
    return json.dumps(openapi_document(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m server.openapi > docs/openapi.json
    sys.stdout.write(written())
