"""`orchestrator deploy`: clear messages when it cannot work, else the staged sam build/deploy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]
DIAMOND = str(ROOT / "examples" / "diamond.py")


class FakeSam:
    """Stands in for subprocess.run: records each sam invocation, answers ``codes``."""

    def __init__(self, *codes: int) -> None:
        self.calls: list[tuple[list[str], Path]] = []
        self.codes = list(codes)

    def __call__(self, argv: list[str], cwd: Path, check: bool) -> Any:
        self.calls.append((argv, Path(cwd)))
        return subprocess.CompletedProcess(argv, self.codes.pop(0) if self.codes else 0)


@pytest.fixture
def sam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSam:
    fake = FakeSam()
    monkeypatch.setattr(shutil, "which", lambda name: f"/opt/bin/{name}")
    monkeypatch.setattr(subprocess, "run", fake)
    monkeypatch.chdir(tmp_path)
    return fake


def test_missing_sam_cli_is_one_clear_line(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["deploy", DIAMOND]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the `sam` command was not found: install the AWS SAM CLI")
    assert "\n" not in err and "Traceback" not in err


def test_missing_credentials_is_one_clear_line(sam: FakeSam, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(boto3.Session, "get_credentials", lambda self: None)
    assert main(["deploy", DIAMOND]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no AWS credentials found: run `aws configure`")
    assert "\n" not in err and not sam.calls


def test_deploy_stages_everything_then_builds_and_deploys(
        sam: FakeSam, tmp_path: Path) -> None:
    code = main(["deploy", DIAMOND, "--stack-name", "demo",
                 "--parameter", "JobQueueArn=arn:aws:batch:us-east-1:1:job-queue/q"])
    assert code == 0
    staged = tmp_path / ".orchestrator" / "sam"
    for path in ("template.yaml", "state_machines/diamond.asl.json",
                 "lambdas/check_outputs/app.py", "lambdas/job_events/app.py",
                 "lambdas/s3_trigger/app.py", "runtime/requirements.txt",
                 "runtime/orchestrator_runtime/contracts.py"):
        assert (staged / path).is_file(), path
    assert not list(staged.rglob("__pycache__"))
    (build, build_cwd), (deploy, _) = sam.calls
    assert build[:2] == ["/opt/bin/sam", "build"] and build_cwd == Path(".orchestrator/sam")
    assert deploy[:4] == ["/opt/bin/sam", "deploy", "--stack-name", "demo"]
    assert "--no-confirm-changeset" in deploy and "--guided" not in deploy
    assert deploy[-2:] == ["--parameter-overrides",
                           "JobQueueArn=arn:aws:batch:us-east-1:1:job-queue/q"]
    assert main(["template", DIAMOND, "-o", str(staged / "template.yaml"), "--check"]) == 0


def test_guided_deploy_lets_sam_ask(sam: FakeSam) -> None:
    assert main(["deploy", DIAMOND, "--guided"]) == 0
    deploy = sam.calls[1][0]
    assert "--guided" in deploy and "--no-confirm-changeset" not in deploy
    assert deploy[deploy.index("--stack-name") + 1] == "orchestrator"


def test_a_failing_sam_step_stops_the_deploy(sam: FakeSam,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    sam.codes = [2]
    assert main(["deploy", DIAMOND]) == 1
    assert len(sam.calls) == 1
    assert "`sam build` failed (exit 2)" in capsys.readouterr().err


def test_a_malformed_parameter_is_refused_before_anything_runs(
        sam: FakeSam, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", DIAMOND, "--parameter", "JobQueueArn"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err and not sam.calls
