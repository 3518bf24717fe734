"""Handler clients follow the environment: a new emulator endpoint gets a new client, the
same environment reuses one (one client per Lambda container)."""

from __future__ import annotations

import pytest

from orchestrator_runtime.envcache import env_cached


def test_one_value_per_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str | None] = []

    @env_cached("TABLE_NAME")
    def client() -> object:
        built.append(None)
        return object()

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1111")
    monkeypatch.setenv("TABLE_NAME", "a")
    first = client()
    assert client() is first and len(built) == 1
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2222")  # the next local run
    assert client() is not first
    monkeypatch.setenv("TABLE_NAME", "b")
    assert client() is not first and len(built) == 3
