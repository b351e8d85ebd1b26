"""What start-up skips: a second build of each API's router."""

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
