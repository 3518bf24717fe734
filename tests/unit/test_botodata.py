"""The local engine's process reads botocore's data files once (orchestrator/local/botodata)."""

from __future__ import annotations

from typing import Any

import botocore.loaders
import botocore.session

import orchestrator.local  # noqa: F401  (shares the loader, as any local run does)
from orchestrator.local import botodata


def _parses(loader: Any, service: str) -> list[str]:
    """The data files ``loader`` parses to load ``service``'s model."""
    parsed: list[str] = []
    original = loader.file_loader.load_file

    def counting(path: str) -> Any:
        parsed.append(path)
        return original(path)

    loader.file_loader.load_file = counting
    try:
        loader.load_service_model(service, "service-2")
    finally:
        loader.file_loader.load_file = original
    return parsed


def test_gap_every_botocore_session_parses_the_service_models_again() -> None:
    first = botocore.loaders.create_loader()
    second = botocore.loaders.create_loader()
    first.load_service_model("sqs", "service-2")
    assert _parses(second, "sqs")  # read and parsed a second time


def test_sessions_of_the_engine_share_one_loader() -> None:
    botodata.share_loader()  # idempotent
    one = botocore.session.get_session().get_component("data_loader")
    other = botocore.session.get_session().get_component("data_loader")
    assert one is other
    one.load_service_model("sqs", "service-2")
    assert _parses(other, "sqs") == []


def test_the_emulator_is_imported_with_the_loader_shared() -> None:
    """In a new interpreter, moto's import-time sessions (EC2's region list) already share."""
    import subprocess
    import sys

    code = ("import orchestrator.local.engine, botocore.session\n"
            "from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend\n"
            "print(getattr(botocore.session.create_loader, 'shared', False),"
            " len(RegionsAndZonesBackend.regions) > 10)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=True)
    assert done.stdout.split() == ["True", "True"]
