"""`runs`, `status`, `watch` and `logs` on finished local runs: a success (examples/diamond.py),
a failure (a job exits 3 for one sample) and the resumed run after the fix. The runs are made
once per module by the real engine; every ``--json`` output is checked against the schema in
docs/operations.md."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docschemas import check

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]

FLAKY = """
from orchestrator import Workflow

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"
wf = Workflow("flaky", bucket="s3://orchestrator-demo/flaky")
samples = wf.foreach("sample_id")
make = wf.job("make", image=IMAGE, shell=True,
              command=["if [ {{sample_id}} = S2 ] && [ -e {flag} ]; then echo boom >&2; "
                       "exit 3; fi; echo {{sample_id}} > {{outputs.out}}"],
              outputs={{"out": "made/{{sample_id}}.txt"}}, per=samples, timeout="5m")
use = wf.job("use", image=IMAGE, shell=True, command=["cat {{inputs.x}} > {{outputs.y}}"],
             inputs={{"x": "made/{{sample_id}}.txt"}}, outputs={{"y": "used/{{sample_id}}.txt"}},
             per=samples, after=[make], timeout="5m")
"""


@dataclass(frozen=True)
class Runs:
    workdir: Path
    diamond: str
    failed: str
    resumed: str


def _run_ids(workdir: Path) -> list[str]:
    return sorted(p.stem for p in (workdir / "runs").glob("*.json"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """One workspace holding three finished runs (the engine takes a while: made once)."""
    base = tmp_path_factory.mktemp("status")
    workdir = base / "wd"
    shutil.copy(ROOT / "examples" / "diamond.py", base / "diamond.py")
    shutil.copytree(ROOT / "examples" / "data" / "diamond", base / "data" / "diamond")
    assert main(["run", str(base / "diamond.py"), "--local", "--workdir", str(workdir)]) == 0
    (diamond,) = _run_ids(workdir)

    flag = base / "FAIL_S2"
    flag.touch()
    (base / "data" / "flaky").mkdir(parents=True)
    (base / "data" / "flaky" / "samples.csv").write_text("sample_id\nS1\nS2\n")
    (base / "flaky.py").write_text(textwrap.dedent(FLAKY.format(flag=flag)))
    assert main(["run", str(base / "flaky.py"), "--local", "--workdir", str(workdir)]) == 1
    (failed,) = set(_run_ids(workdir)) - {diamond}
    flag.unlink()
    assert main(["run", str(base / "flaky.py"), "--local", "--workdir", str(workdir)]) == 0
    (resumed,) = set(_run_ids(workdir)) - {diamond, failed}
    yield Runs(workdir, diamond, failed, resumed)


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> Any:
    capsys.readouterr()
    assert main([*argv, "--json"]) == code
    return json.loads(capsys.readouterr().out)


def by_unit(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(j["stage"], j["sample"]): j for j in doc["jobs"]}


def test_runs_lists_all_three_newest_first(runs: Runs,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    doc = check("runs", cli_json(capsys, "runs", "--workdir", str(runs.workdir)))
    listed = [(r["run_id"], r["workflow"], r["status"]) for r in doc["runs"]]
    assert listed == [(runs.resumed, "flaky", "SUCCEEDED"), (runs.failed, "flaky", "FAILED"),
                      (runs.diamond, "diamond", "SUCCEEDED")]
    resumed, failed, diamond = doc["runs"]
    assert diamond["jobs"] == {"ran": 4, "skipped": 0, "failed": 0,
                               "by_status": {"SUCCEEDED": 4}}
    assert failed["jobs"]["failed"] == 1 and failed["error"] == "SamplesFailed"
    assert resumed["jobs"]["skipped"] >= 1 and resumed["jobs"]["failed"] == 0
    assert all(r["backend"] == "local" and r["started_by"] == "cli" for r in doc["runs"])
    assert all(r["duration_seconds"] > 0 for r in doc["runs"])
    only = check("runs", cli_json(capsys, "runs", "diamond", "--workdir", str(runs.workdir)))
    assert [r["run_id"] for r in only["runs"]] == [runs.diamond]


def test_runs_table_for_people(runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--workdir", str(runs.workdir)]) == 0
    out = capsys.readouterr().out
    assert "flaky" in out and "diamond" in out and "FAILED" in out


def test_status_of_a_success(runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    doc = check("status", cli_json(capsys, "status", runs.diamond,
                                   "--workdir", str(runs.workdir)))
    assert {s["stage"]: s["counts"] for s in doc["stages"]} == {
        s: {"SUCCEEDED": 1} for s in ("prepare", "words", "letters", "combine")}
    assert doc["stages"][0]["stage"] == "prepare"  # in the order they started
    assert doc["failures"] == [] and doc["blocked"] == [] and doc["missing_outputs"] == []
    for job in doc["jobs"]:
        assert job["attempts"] == 1 and job["exit_code"] == 0 and Path(job["log"]).is_file()


def test_status_of_a_failure_names_reason_exit_code_log_and_blocked_samples(
        runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    doc = check("status", cli_json(capsys, "status", runs.failed,
                                   "--workdir", str(runs.workdir), code=1))
    (failure,) = doc["failures"]
    assert (failure["stage"], failure["sample"], failure["exit_code"]) == ("make", "S2", 3)
    assert failure["status_reason"] and len(failure["logs"]) == 1
    assert "boom" in Path(failure["logs"][0]).read_text()
    assert doc["blocked"] == [{"sample": "S2", "failed_stages": ["make"], "not_run": ["use"],
                               "finished": True}]
    assert doc["missing_outputs"] == []  # exit 3 of the command, not of the runner
    assert by_unit(doc)[("make", "S1")]["status"] == "SUCCEEDED"
    assert ("use", "S2") not in by_unit(doc)
    assert main(["status", runs.failed, "--workdir", str(runs.workdir)]) == 1
    text = capsys.readouterr().out
    assert "FAILED make/S2: exit 3" in text and "blocked: sample S2" in text


def test_status_of_the_resumed_run(runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    doc = check("status", cli_json(capsys, "status", runs.resumed,
                                   "--workdir", str(runs.workdir)))
    units = by_unit(doc)
    assert units[("make", "S1")]["status"] == "SKIPPED"
    assert units[("make", "S1")]["attempts"] == 0 and units[("make", "S1")]["log"] == ""
    assert units[("make", "S2")]["status"] == "SUCCEEDED"
    assert units[("use", "S2")]["status"] == "SUCCEEDED"
    assert doc["failures"] == [] and doc["blocked"] == []


def test_watch_of_a_finished_run_prints_once_and_exits_like_status(
        runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["watch", runs.failed, "--workdir", str(runs.workdir), "--json"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert check("status", json.loads(lines[0]))["run"]["status"] == "FAILED"


def test_logs_of_one_job_and_attempt(runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    doc = check("logs", cli_json(capsys, "logs", runs.failed, "make", "S2",
                                 "--workdir", str(runs.workdir)))
    assert doc["attempt"] == 1 and any(line.endswith(" boom") for line in doc["lines"])
    assert any("exit code 3" in line for line in doc["lines"])
    capsys.readouterr()
    assert main(["logs", runs.diamond, "combine", "--workdir", str(runs.workdir)]) == 0
    assert "combine/_once: running cat" in capsys.readouterr().out


def test_logs_save_writes_every_attempt_of_every_failed_job(
        runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = check("logs-save", cli_json(capsys, "logs", runs.failed, "--save",
                                      str(tmp_path / "saved"), "--workdir", str(runs.workdir)))
    assert [(s["stage"], s["sample"], s["attempt"]) for s in doc["saved"]] == [
        ("make", "S2", 1)]
    assert "boom" in (tmp_path / "saved" / "make" / "S2.attempt1.log").read_text()
    assert doc["problems"] == []


def test_latest_is_the_newest_run_for_status_watch_and_logs(
        runs: Runs, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workdir", str(runs.workdir)]
    status = check("status", cli_json(capsys, "status", "latest", *ws))
    assert status["run"]["run_id"] == runs.resumed
    capsys.readouterr()
    assert main(["watch", "latest", *ws, "--json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["run"]["run_id"] == runs.resumed
    logs = check("logs", cli_json(capsys, "logs", "latest", "make", "S2", *ws))
    assert logs["attempt"] == 1 and logs["lines"]
    assert runs.resumed in logs["log"]


def test_tui_lists_the_runs_opens_one_and_shows_a_jobs_log(runs: Runs) -> None:
    from textual.pilot import Pilot
    from textual.widgets import Static
    from tuikit import drive, log_text, settle, table

    from orchestrator.cli import parser
    from orchestrator.cli.tui import make_app

    app = make_app(parser().parse_args(["tui", "--workdir", str(runs.workdir)]))
    seen: dict[str, Any] = {}

    async def script(pilot: Pilot[int]) -> None:
        seen["runs"] = [(r[0], r[1], r[3]) for r in table(pilot, "runs")]
        await pilot.press("down", "enter")  # the failed run
        await settle(pilot)
        seen["summary"] = str(pilot.app.screen.query_one("#summary", Static).render())
        seen["stages"] = [(r[0], r[2]) for r in table(pilot, "stages")]
        seen["jobs"] = [(*r[:3], r[5]) for r in table(pilot, "jobs")]
        await pilot.press("down")  # make/S2
        await settle(pilot)
        seen["log"] = log_text(pilot)
        await pilot.press("q")

    drive(app, script)
    assert seen["runs"] == [(runs.resumed, "flaky", "SUCCEEDED"),
                            (runs.failed, "flaky", "FAILED"),
                            (runs.diamond, "diamond", "SUCCEEDED")]
    assert runs.failed in seen["summary"] and "FAILED" in seen["summary"]
    assert seen["stages"] == [("make", "failed 1, succeeded 1"), ("use", "succeeded 1")]
    assert seen["jobs"] == [("make", "S1", "SUCCEEDED", "0"), ("make", "S2", "FAILED", "3"),
                            ("use", "S1", "SUCCEEDED", "0")]
    assert any(line.endswith(" boom") for line in seen["log"])
    assert app.return_value == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["status", "20990101-000000-abcdef"], "no local run '20990101-000000-abcdef'"),
    (["logs", "{failed}", "nope"], "has no job of stage 'nope': its stages are make, use"),
    (["logs", "{failed}", "make"], "stage 'make' ran 2 samples: name one (S1, S2)"),
    (["logs", "{failed}", "make", "S9"], "has no sample 'S9'"),
    (["logs", "{failed}", "make", "S2", "--attempt", "2"], "has 1 attempt(s): pass --attempt 1..1"),
    (["logs", "{resumed}", "make", "S1"], "make/S1 never ran (SKIPPED"),
])
def test_errors_are_one_line_with_the_fix(runs: Runs, capsys: pytest.CaptureFixture[str],
                                          argv: list[str], message: str) -> None:
    argv = [a.format(failed=runs.failed, resumed=runs.resumed) for a in argv]
    capsys.readouterr()
    assert main([*argv, "--workdir", str(runs.workdir)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
