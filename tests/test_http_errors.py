"""Validation errors become one sentence naming each field (no server needed)."""

from herd.distribution.http_errors import MAX_LISTED, describe_validation


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
