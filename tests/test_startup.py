"""What the server skips: a second build of each API's router at start-up, formatting log calls below their level."""

from llama_stack.core.server import fastapi_router_registry as registry
from llama_stack.core.server import server as stack_server
from llama_stack_api import Api

from herd.distribution.server import routers_built_once


def test_each_router_is_built_once_while_the_app_is_made(monkeypatch) -> None:
    calls: list[object] = []

    def factory(impl: object) -> object:
        calls.append(impl)
        return object()

    monkeypatch.setitem(registry._ROUTER_FACTORIES, Api.models.value, factory)
    original = registry.build_fastapi_router
    impl, other = object(), object()
    with routers_built_once():
        first = registry.build_fastapi_router(Api.models, impl)
        assert stack_server.build_fastapi_router(Api.models, impl) is first  # the name create_app calls
        assert registry.build_fastapi_router(Api.models, other) is not first
    assert calls == [impl, other]
    assert registry.build_fastapi_router is original and stack_server.build_fastapi_router is original
    assert registry.build_fastapi_router(Api.models, impl) is not first  # built anew once it is over


def test_a_log_call_below_its_level_is_dropped_before_it_is_formatted(monkeypatch, caplog) -> None:
    import logging

    import structlog
    from llama_stack.log import get_logger

    from herd.distribution.server import skip_disabled_log_calls

    processors = structlog.get_config()["processors"]
    monkeypatch.setattr(structlog._config._CONFIG, "default_processors", list(processors))  # restored after
    formatted: list[str] = []

    def spy(_logger: object, _method: str, event: dict) -> dict:
        formatted.append(event["event"])
        return event

    structlog.get_config()["processors"].insert(0, spy)
    skip_disabled_log_calls()
    skip_disabled_log_calls()  # once is enough: not put in twice
    chain = structlog.get_config()["processors"]
    assert chain[0] is structlog.stdlib.filter_by_level and chain.count(structlog.stdlib.filter_by_level) == 1
    logging.getLogger("herd.test.levels").setLevel(logging.INFO)
    log = get_logger(name="herd.test.levels", category="server")
    with caplog.at_level(logging.INFO, logger="herd.test.levels"):
        log.debug("below the level")
        log.info("at the level")
    assert formatted == ["at the level"]
    assert "at the level" in caplog.text and "below the level" not in caplog.text
