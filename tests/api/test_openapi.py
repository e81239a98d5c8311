"""The API's OpenAPI document: valid OpenAPI 3, errors documented as ErrorOut, docs served.

The document is a contract that clients generate code from and that `.ci/schemathesis.sh`
fuzzes a running server against; these tests keep it honest without a server. The last tests
pin the bugs schemathesis found.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from regdesk.api.errors import error_body
from regdesk.api.services import token_create
from regdesk.directory.models import Organisation
from regdesk.tickets.models import Message, Status
from regdesk.tickets.services import ticket_create, ticket_merge, ticket_split
from tests.desk.factories import PersonFactory, make_agent, make_desk

pytestmark = pytest.mark.django_db

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Served without authentication, like /api/v1/docs; module-scoped, so no database here.
    from regdesk.api.api import api

    return json.loads(json.dumps(api.get_openapi_schema()))


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _validator(document: dict[str, Any], ref: str) -> jsonschema_rs.Validator:
    """A JSON Schema validator for one of the document's schemas, its $refs resolvable."""
    return jsonschema_rs.Draft202012Validator({"$ref": ref, "components": document["components"]})


# --------------------------------------------------------------------------- the document


def test_openapi_json_is_served_without_authentication(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["paths"]


def test_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    assert document["info"]["version"]
    try:  # the reference validator, when it is installed
        from openapi_spec_validator import validate
    except ImportError:
        # The OpenAPI 3.1 meta-schema that schemathesis validates documents with.
        from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

        assert document["openapi"].startswith("3.1.")
        problems = [
            f"{e.instance_path}: {e.message}" for e in OPENAPI_31_VALIDATOR.iter_errors(document)
        ]
        assert problems == []
    else:
        validate(document)


def test_every_reference_resolves_and_every_schema_is_json_schema(
    document: dict[str, Any],
) -> None:
    for ref in set(_refs(document)):
        assert isinstance(_resolve(document, ref), dict), ref
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_operations_are_unique_and_declare_their_path_parameters(
    document: dict[str, Any],
) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids)) > 20
    for method, path, operation in _operations(document):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        in_template = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        assert declared == in_template, f"{method} {path}"
        assert operation.get("security"), f"{method} {path} has no security requirement"


# --------------------------------------------------------------------------- errors


def test_every_operation_documents_its_errors_as_error_out(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        where = f"{method} {path}"
        responses = operation["responses"]
        errors = {int(code) for code in responses if code.startswith(("4", "5"))}
        assert {401, 403, 429} <= errors, where
        if "requestBody" in operation:
            assert {400, 422} <= errors, where
        if "{" in path:
            assert 404 in errors, where
        for code in errors:
            schema = responses[str(code)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, f"{where} {code}"
        successes = [code for code in responses if code.startswith("2")]
        assert len(successes) == 1, where


def test_error_out_describes_the_error_shape(document: dict[str, Any]) -> None:
    validator = _validator(document, ERROR_REF)
    assert validator.is_valid(error_body(404, "Not found."))
    assert validator.is_valid(error_body(422, "Invalid.", {"subject": "too long"}))
    assert not validator.is_valid({"detail": "Not found"})  # Ninja's own shape is not ours


@pytest.fixture
def agent_world() -> dict[str, Any]:
    desk = make_desk("service-desk", slug="berlin", prefix="BER")
    agent = make_agent(desk, username="anna")
    org = Organisation.objects.create(name="Acme")
    org.desks.add(desk)
    customer = PersonFactory(organisation=org)
    ticket = ticket_create(
        desk=desk,
        requester=customer,
        request_type="incident",
        subject="VPN is down",
        body="Since 9:00",
        channel="widget",
    )
    _, token = token_create(user=agent, name="agent", scope="write")
    return {
        "ticket": ticket,
        "agent": agent,
        "customer": customer,
        "auth": {"HTTP_AUTHORIZATION": f"Bearer {token}"},
    }


def _check_documented(
    document: dict[str, Any], method: str, path: str, status: int, body: Any
) -> None:
    """The answer's status is documented for the operation and its body matches the schema."""
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path}: {status} is not documented"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
    problems = [e.message for e in validator.iter_errors(body)]
    assert problems == [], f"{method} {path} {status}: {problems}"


def test_real_error_answers_are_documented_and_match_error_out(
    client: Client, document: dict[str, Any], agent_world: dict[str, Any]
) -> None:
    auth = agent_world["auth"]
    ref = agent_world["ticket"].reference
    json_type = "application/json"
    cases = [
        ("GET", "/api/v1/tickets", {}, None, 401),
        ("GET", "/api/v1/tickets/{reference}", auth, None, 404),
        ("POST", "/api/v1/tickets", auth, b"{not json", 400),
        ("POST", "/api/v1/tickets", auth, b'{"desk": "berlin"}', 422),
        ("POST", "/api/v1/tickets/{reference}/reopen", auth, None, 409),
        ("GET", "/api/v1/tickets?cursor=garbage", auth, None, 422),
    ]
    for method, template, headers, data, expected in cases:
        url = template.replace("{reference}", "NOPE-1" if expected == 404 else ref)
        if data is None:
            response = getattr(client, method.lower())(url, **headers)
        else:
            response = client.generic(method, url, data, content_type=json_type, **headers)
        assert response.status_code == expected, (method, url, response.content)
        _check_documented(
            document, method, template.split("?")[0], expected, json.loads(response.content)
        )


# --------------------------------------------------------------------------- the docs page


def test_docs_page_serves(client: Client) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "openapi.json" in page
    assert "swagger" in page.lower()


# --------------------------------------------------------------------------- found by fuzzing


def test_reply_with_an_unknown_status_after_is_422_not_500(
    client: Client, document: dict[str, Any], agent_world: dict[str, Any]
) -> None:
    ticket = agent_world["ticket"]
    url = f"/api/v1/tickets/{ticket.reference}/reply"
    response = client.post(
        url,
        json.dumps({"body": "Restarted it", "status_after": "O"}),
        content_type="application/json",
        **agent_world["auth"],
    )
    assert response.status_code == 422
    body = json.loads(response.content)
    assert "status_after" in body["error"]["fields"]
    _check_documented(document, "POST", "/api/v1/tickets/{reference}/reply", 422, body)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not Message.objects.filter(ticket=ticket, body="Restarted it").exists()
    response = client.post(
        f"/api/v1/tickets/{ticket.reference}/messages",
        {"body": "Restarted it", "status_after": "merged"},
        **agent_world["auth"],
    )
    assert response.status_code == 422


def test_attachments_posted_with_a_message_are_stored(
    client: Client, document: dict[str, Any], agent_world: dict[str, Any]
) -> None:
    """They were declared as a query parameter and silently dropped."""
    operation = document["paths"]["/api/v1/tickets/{reference}/messages"]["post"]
    assert all(p["name"] != "files" for p in operation.get("parameters", []))
    form = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "files" in form["properties"]
    ticket = agent_world["ticket"]
    response = client.post(
        f"/api/v1/tickets/{ticket.reference}/messages",
        {
            "body": "The log you asked for",
            "files": [
                SimpleUploadedFile("vpn.log", b"line 1\nline 2\n", content_type="text/plain"),
                SimpleUploadedFile("notes.txt", b"more", content_type="text/plain"),
            ],
        },
        **agent_world["auth"],
    )
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert [a["filename"] for a in body["attachments"]] == ["vpn.log", "notes.txt"]
    assert body["attachments"][0]["size"] == 14
    response = client.post(
        f"/api/v1/tickets/{ticket.reference}/messages",
        {"body": "No files this time", "status_after": ""},
        **agent_world["auth"],
    )
    assert response.status_code == 201, response.content
    assert json.loads(response.content)["attachments"] == []


def test_list_items_are_the_tickets_as_read_one_by_one(
    client: Client, document: dict[str, Any], agent_world: dict[str, Any]
) -> None:
    """The list page is fetched in two narrow queries; its items equal GET /tickets/{ref}."""
    agent, ticket = agent_world["agent"], agent_world["ticket"]
    duplicate = ticket_create(
        desk=ticket.desk,
        requester=agent_world["customer"],
        request_type="incident",
        subject="VPN down again",
        body="Same as before",
        channel="widget",
    )
    ticket_merge(source=duplicate, target=ticket, actor=agent)
    ticket_split(ticket=ticket, actor=agent, parts=[("Printer too", "It jams")])
    response = client.get("/api/v1/tickets?limit=2", **agent_world["auth"])
    assert response.status_code == 200
    first = json.loads(response.content)
    _check_documented(document, "GET", "/api/v1/tickets", 200, first)
    response = client.get(
        f"/api/v1/tickets?limit=2&cursor={first['next_cursor']}", **agent_world["auth"]
    )
    items = first["items"] + json.loads(response.content)["items"]
    assert len(items) == 3
    for item in items:
        one = client.get(f"/api/v1/tickets/{item['reference']}", **agent_world["auth"])
        assert json.loads(one.content) == item
    by_reference = {item["reference"]: item for item in items}
    assert by_reference[duplicate.reference]["merged_into"] == ticket.reference
    assert [i["split_from"] for i in items].count(ticket.reference) == 1
