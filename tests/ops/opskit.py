"""Shared values of the operations tests."""

from __future__ import annotations

from dataclasses import dataclass

REGION = "us-east-1"


@dataclass(frozen=True)
class Network:
    endpoint: str
    subnet: str
    security_group: str
    service_role: str
    instance_role: str
