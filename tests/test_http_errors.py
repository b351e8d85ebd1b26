"""Validation errors become one sentence naming each field; errors llama-stack answered 5xx become 4xx."""

import uuid

from herd.distribution.http_errors import MAX_LISTED, describe_validation
from herd.distribution.openapi_doc import complete, dangling


def test_field_errors_name_the_field_without_the_body_prefix():
    errors = [{"loc": ["body", "messages"], "msg": "Input should be a valid list", "type": "list_type"}]
    assert describe_validation(errors) == (
        "invalid request: messages: Input should be a valid list. The request schemas are at /docs"
    )


def test_broken_json_says_where():
    message = describe_validation([{"loc": ["body", 10], "msg": "JSON decode error", "type": "json_invalid"}])
    assert "the body is not valid JSON (error at character 10)" in message


def test_long_error_lists_are_cut_with_a_count():
    errors = [{"loc": ["body", f"f{i}"], "msg": "bad", "type": "x"} for i in range(MAX_LISTED + 3)]
    message = describe_validation(errors)
    assert "f4: bad" in message
    assert "f5" not in message
    assert "(and 3 more)" in message


# -- against the server: errors found by tests/test_fuzz.py, each once a 5xx ---------


def test_openapi_document_defines_what_it_refers_to():
    document = {
        "paths": {"/x": {"get": {"responses": {"400": {"$ref": "#/components/responses/BadRequest400"}}}}},
        "components": {"schemas": {}},
    }
    assert dangling(document) == {("responses", "BadRequest400")}

    complete(document)

    assert dangling(document) == set()
    assert document["components"]["schemas"]["OpenAIErrorResponse"]["required"] == ["error"]


def test_served_openapi_document_has_no_dangling_reference(http):
    document = http.get("/openapi.json").json()

    assert dangling(document) == set()
    assert "OpenAIChatCompletionChunk" in document["components"]["schemas"]


def test_option_the_server_does_not_implement_is_a_400(http):
    response = http.get("/v1/responses/resp_missing/input_items", params={"include": "file_search_call.results"})

    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("not supported by this server: Include is not supported yet"), message
    assert "Leave that option out" in message


def test_conversation_item_id_used_twice_is_a_409(http):
    item = {"type": "message", "role": "user", "content": "hi", "id": f"msg_{uuid.uuid4().hex}"}

    response = http.post("/v1/conversations", json={"items": [item, item]})

    assert response.status_code == 409, response.text
    message = response.json()["error"]["message"]
    assert "already in use" in message and "conversation_items.id" in message, message
    assert http.get("/v1/health").status_code == 200


def test_wrong_type_a_before_validator_trips_on_is_a_400(http):
    response = http.post("/v1/conversations", json={"items": 0})

    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("invalid request: a field has the wrong type"), message
    assert http.get("/v1/health").status_code == 200
