"""Fixtures: plain moto in-process, and the local engine's emulator (LocalAws)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from orchestrator.local.adapter import MOTO_CONFIG, LocalAws


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "MOTO_SIMPLE_BATCH_FAIL_AFTER"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def plain_moto(aws_env: None) -> Iterator[None]:
    """moto as it is, in-process, with the configuration the local engine uses."""
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def local(aws_env: None, tmp_path: Path) -> Iterator[LocalAws]:
    with LocalAws(cores=2, log_dir=tmp_path / "logs", kill_grace=2) as aws:
        yield aws

