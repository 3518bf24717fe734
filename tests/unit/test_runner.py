"""The job runner: what a job does with its task, seen from S3 and from its exit code."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from moto.server import ThreadedMotoServer

from orchestrator_runtime import contracts, runner_io
from orchestrator_runtime.runner import EXIT_INTERNAL, execute, main
from orchestrator_runtime.runner_errors import EXIT_STORAGE
from orchestrator_runtime.runner_io import input_layout

BUCKET = "runner-test"
PY = sys.executable


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def uri(key: str) -> str:
    return f"s3://{BUCKET}/{key}"


def make_task(**over: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "version": contracts.CONTRACT_VERSION, "workflow": "wf", "stage": "st",
        "sample": "S1", "execution": "exec-1", "image": "img", "command": ["true"],
        "environment": {}, "shell": False, "stdout": None, "values": {}, "inputs": {},
        "outputs": {}, "allow_empty": False, "marker": uri("_orchestrator/markers/wf/st/S1/"),
    }
    task.update(over)
    task.setdefault("fingerprint_basis", contracts.fingerprint_basis(
        task["image"], task["command"], task["environment"], task["values"], task["inputs"],
        task["outputs"]))
    return task


class Run:
    def __init__(self, code: int, out: bytes, err: bytes) -> None:
        self.code, self.out, self.err = code, out.decode(), err.decode()

    @property
    def last_line(self) -> str:
        return self.err.strip().splitlines()[-1]


def run(task: dict[str, Any], s3: Any, scratch: Path, keep: bool = False) -> Run:
    out, err = io.BytesIO(), io.BytesIO()
    code = execute(task, s3=s3, scratch=scratch, keep_scratch=keep, out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


def read(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def keys(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_hostile_sample_id_cannot_inject_shell_syntax(s3: Any, tmp_path: Path) -> None:
    hostile = "a b; rm -rf x $(touch pwned) `touch pwned2` 'q\" \\"
    s3.put_object(Bucket=BUCKET, Key="in/we ird $(touch pwned3);x.txt", Body=b"data\n")
    task = make_task(
        shell=True, values={"sample_id": hostile},
        command=["printf '%s\\n' {sample_id} > {outputs.out}; cat {inputs.reads} >> {outputs.out}"],
        inputs={"reads": [uri("in/we ird $(touch pwned3);x.txt")]},
        outputs={"out": uri("out/S1.txt")},
    )
    result = run(task, s3, tmp_path)
    assert result.code == 0, result.err
    assert read(s3, "out/S1.txt").decode() == f"{hostile}\ndata\n"
    assert not [p for p in tmp_path.rglob("pwned*")]
    assert not Path("pwned").exists()


def test_a_list_input_expands_to_one_argument_per_file(s3: Any, tmp_path: Path) -> None:
    for i, key in enumerate(["a/x.tsv", "b/x.tsv", "c/y.tsv"]):  # two share a file name
        s3.put_object(Bucket=BUCKET, Key=key, Body=f"{i}\n".encode())
    task = make_task(
        command=[PY, "-c", "import json,sys; print(json.dumps(sys.argv[1:]))",
                 "{inputs.parts}", "all={inputs.parts}"],
        inputs={"parts": [uri("a/x.tsv"), uri("b/x.tsv"), uri("c/y.tsv")]},
        outputs={"args": uri("out/args.json")}, stdout="args",
    )
    result = run(task, s3, tmp_path, keep=True)
    assert result.code == 0, result.err
    args = json.loads(read(s3, "out/args.json"))
    assert len(args) == 4
    assert args[3] == "all=" + " ".join(args[:3])
    assert [Path(a).read_text() for a in args[:3]] == ["0\n", "1\n", "2\n"]
    assert [Path(a).name for a in args[:3]] == ["x.tsv", "x.tsv", "y.tsv"]


def test_stdout_and_stderr_are_streamed_when_not_captured(s3: Any, tmp_path: Path) -> None:
    task = make_task(shell=True, command=["echo to-out; echo to-err >&2; echo x > {outputs.o}"],
                     outputs={"o": uri("o.txt")})
    result = run(task, s3, tmp_path)
    assert result.code == 0
    assert result.out == "to-out\n"
    assert "to-err\n" in result.err


def test_environment_values_are_resolved(s3: Any, tmp_path: Path) -> None:
    task = make_task(shell=True, command=['printf %s "$GREETING" > {outputs.o}'],
                     environment={"GREETING": "hello {sample_id} in {outputs.o.parent}"},
                     values={"sample_id": "S 1"}, outputs={"o": uri("o.txt")})
    result = run(task, s3, tmp_path)
    assert result.code == 0, result.err
    text = read(s3, "o.txt").decode()
    assert text.startswith("hello S 1 in ") and text.endswith("/outputs/o")


def test_missing_output_exits_3_and_writes_no_marker(s3: Any, tmp_path: Path) -> None:
    task = make_task(command=["true"], outputs={"counts": uri("out/c.tsv")})
    result = run(task, s3, tmp_path)
    assert result.code == 3
    assert "counts" in result.last_line and "absent" in result.last_line
    assert keys(s3) == set()


def test_empty_output_counts_as_missing_unless_allowed(s3: Any, tmp_path: Path) -> None:
    task = make_task(shell=True, command=[": > {outputs.o}"], outputs={"o": uri("o.txt")})
    denied = run(task, s3, tmp_path)
    assert denied.code == 3 and "allow_empty" in denied.last_line
    allowed = run({**task, "allow_empty": True}, s3, tmp_path)
    assert allowed.code == 0
    assert read(s3, "o.txt") == b""


def test_failing_command_keeps_its_exit_code_and_uploads_nothing(s3: Any, tmp_path: Path) -> None:
    task = make_task(shell=True, command=["echo partial > {outputs.o}; exit 7"],
                     outputs={"o": uri("o.txt")})
    result = run(task, s3, tmp_path)
    assert result.code == 7
    assert result.last_line == "orchestrator-runner: st/S1: command failed with exit code 7"
    assert keys(s3) == set()


SIGTERM_AS_IT_STARTS = """
import os, signal, subprocess, sys
from pathlib import Path
from orchestrator_runtime import runner
real = subprocess.Popen
def popen(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)  # Batch stops the container as the command starts
    return real(*args, **kwargs)
subprocess.Popen = popen
status = runner.run_command(["sleep", "30"], dict(os.environ), Path("."), None,
                            sys.stdout.buffer, sys.stderr.buffer)
print("command status", status, flush=True)
"""


def test_a_sigterm_while_the_command_starts_stops_the_command_not_the_runner(
        tmp_path: Path) -> None:
    # The runner's handlers used to be installed after the command started: a SIGTERM in
    # between killed the runner itself (-15, no "command killed" line, not the 143 Batch
    # is told). Now it is kept and passed on once the command runs.
    done = subprocess.run([sys.executable, "-c", SIGTERM_AS_IT_STARTS], cwd=tmp_path,
                          capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    assert "command status -15" in done.stdout


def test_death_by_signal_exits_128_plus_signal(s3: Any, tmp_path: Path) -> None:
    result = run(make_task(shell=True, command=["kill -TERM $$"]), s3, tmp_path)
    assert result.code == 128 + 15
    assert "SIGTERM" in result.last_line


def test_unknown_program_exits_127(s3: Any, tmp_path: Path) -> None:
    result = run(make_task(command=["no-such-program-xyz"]), s3, tmp_path)
    assert result.code == 127
    assert "no-such-program-xyz" in result.last_line


def test_marker_is_written_last_with_fingerprint_of_input_etags(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key="in/a.txt", Body=b"alpha\n")
    s3.put_object(Bucket=BUCKET, Key="in/b.txt", Body=b"beta\n")
    task = make_task(
        shell=True, command=["cat {inputs.a} {inputs.b} > {outputs.both}; wc -c < {inputs.a}"
                             " > {outputs.size}"],
        inputs={"a": [uri("in/a.txt")], "b": [uri("in/b.txt")]},
        outputs={"both": uri("out/both.txt"), "size": uri("out/size.txt")},
    )
    written: list[str] = []
    s3.meta.events.register("provide-client-params.s3.PutObject",
                            lambda params, **_: written.append(params["Key"]))
    result = run(task, s3, tmp_path)
    assert result.code == 0, result.err
    assert written[-1].startswith("_orchestrator/markers/wf/st/S1/")
    assert sorted(written[:-1]) == ["out/both.txt", "out/size.txt"]

    marker = json.loads(read(s3, written[-1]))
    etag = {k: s3.head_object(Bucket=BUCKET, Key=k)["ETag"].strip('"')
            for k in ("in/a.txt", "in/b.txt", "out/both.txt", "out/size.txt")}
    assert marker["fingerprint"] == contracts.fingerprint(
        task["fingerprint_basis"], {"a": [etag["in/a.txt"]], "b": [etag["in/b.txt"]]})
    assert marker["outputs"]["both"] == {"uri": uri("out/both.txt"),
                                         "etag": etag["out/both.txt"], "size": 11}
    assert marker["outputs"]["size"]["etag"] == etag["out/size.txt"]
    assert (marker["stage"], marker["sample"], marker["execution"]) == ("st", "S1", "exec-1")
    assert marker["finished_at"].endswith("Z")
    # what made the outputs, so `orchestrator plan` can name what changed since
    assert marker["basis"] == task["fingerprint_basis"]
    assert marker["input_etags"] == {"a": [etag["in/a.txt"]], "b": [etag["in/b.txt"]]}


def test_failed_upload_exits_5_without_marker(s3: Any, tmp_path: Path) -> None:
    task = make_task(shell=True, command=["echo x > {outputs.o}"],
                     outputs={"o": "s3://no-such-bucket-here/o.txt"})
    result = run(task, s3, tmp_path)
    assert result.code == 5
    assert "no-such-bucket-here" in result.last_line
    assert keys(s3) == set()


def test_missing_input_exits_5_before_running(s3: Any, tmp_path: Path) -> None:
    task = make_task(shell=True, command=["touch ran; echo x > {outputs.o}"],
                     inputs={"x": [uri("nope.txt")]}, outputs={"o": uri("o.txt")})
    result = run(task, s3, tmp_path)
    assert result.code == 5
    assert uri("nope.txt") in result.last_line and "NoSuchKey" in result.last_line
    assert not list(tmp_path.rglob("ran"))


def test_a_local_output_that_cannot_be_written_exits_5(s3: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    task = make_task(shell=True, command=["echo x > {outputs.o}"],
                     outputs={"o": str(blocker / "o.txt")})
    result = run(task, s3, tmp_path / "scratch")
    assert result.code == 5
    assert f"could not upload o.txt to {blocker / 'o.txt'}: FileExistsError" in result.last_line


@pytest.mark.parametrize("inputs", [{}, {"x": [uri("in.txt")]}], ids=["upload", "download"])
def test_a_bug_in_the_storage_step_is_a_crash_not_a_storage_error(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
    inputs: dict[str, list[str]],
) -> None:
    def broken(etag: str) -> str:
        raise TypeError("a programming error")

    monkeypatch.setattr(runner_io, "normalize_etag", broken)
    s3.put_object(Bucket=BUCKET, Key="in.txt", Body=b"x")
    task = make_task(shell=True, command=["echo x > {outputs.o}"], inputs=inputs,
                     outputs={"o": uri("o.txt")})
    with pytest.raises(TypeError, match="a programming error"):
        run(task, s3, tmp_path)

    path = tmp_path / "task.json"
    path.write_text(json.dumps(task))
    code = main(["--task", str(path), "--scratch", str(tmp_path)])
    err = capfd.readouterr().err
    assert code == EXIT_INTERNAL != EXIT_STORAGE
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1] == (
        "orchestrator-runner: internal error (a bug in orchestrator-runner, please report it): "
        "TypeError: a programming error")
    assert not any("markers" in k for k in keys(s3))  # no marker vouches for anything


@pytest.mark.parametrize(("change", "field"), [
    ({"inputs": {"x": "s3://b/k"}}, "inputs"),
    ({"stdout": "nope"}, "stdout"),
    ({"shell": "yes"}, "shell"),
    ({"shell": True, "command": ["echo", "hi"]}, "a shell command is a single string"),
    ({"command": []}, "'command' must be a non-empty list"),
    ({"outputs": {"../up": uri("o")}}, "outputs['../up']"),
    ({"command": ["echo", "{missing}"]}, "{missing}"),
    ({"version": 99}, "version 99"),
    ({"outputs": {"o": "s3://bucket-only"}}, "outputs['o']"),
    ({"inputs": {"x": ["https://example.com/x"]}}, "inputs['x'][0]"),
])
def test_invalid_task_exits_4_naming_the_field(
    s3: Any, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    result = run({**make_task(), **change}, s3, tmp_path)
    assert result.code == 4
    assert field in result.last_line


def test_unreadable_task_location_exits_4(s3: Any, tmp_path: Path) -> None:
    out, err = io.BytesIO(), io.BytesIO()
    assert execute(uri("tasks/none.json"), s3=s3, scratch=tmp_path, out=out, err=err) == 4
    assert "tasks/none.json" in err.getvalue().decode()
    s3.put_object(Bucket=BUCKET, Key="tasks/bad.json", Body=b"{not json")
    assert execute(uri("tasks/bad.json"), s3=s3, scratch=tmp_path, out=out, err=err) == 4


def test_a_list_input_in_a_shell_command_is_quoted_item_by_item(
    s3: Any, tmp_path: Path
) -> None:
    s3.put_object(Bucket=BUCKET, Key="q/a b.tsv", Body=b"1\n")
    s3.put_object(Bucket=BUCKET, Key="q/c;d.tsv", Body=b"2\n")
    task = make_task(shell=True, command=['for f in {inputs.q}; do cat "$f"; done > {outputs.o}'],
                     inputs={"q": [uri("q/a b.tsv"), uri("q/c;d.tsv")]},
                     outputs={"o": uri("o.txt")})
    result = run(task, s3, tmp_path)
    assert result.code == 0, result.err
    assert read(s3, "o.txt") == b"1\n2\n"


def test_task_file_with_local_paths_runs_without_s3(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    (tmp_path / "in.txt").write_text("local\n")
    task = make_task(
        shell=True, command=["tr a-z A-Z < {inputs.x} > {outputs.o}"],
        inputs={"x": [str(tmp_path / "in.txt")]},
        outputs={"o": f"file://{tmp_path}/out/o.txt"}, marker=f"{tmp_path}/marker/",
    )
    (tmp_path / "task.json").write_text(json.dumps(task))
    code = main(["--task", str(tmp_path / "task.json"), "--scratch", str(tmp_path / "scratch")])
    assert code == 0, capfdbinary.readouterr().err
    assert (tmp_path / "out" / "o.txt").read_text() == "LOCAL\n"
    (marker,) = (tmp_path / "marker").iterdir()
    assert json.loads(marker.read_text())["outputs"]["o"]["size"] == 6
    assert list((tmp_path / "scratch").iterdir()) == []  # the working directory is removed


@given(st.text(min_size=0, max_size=300))
def test_no_key_can_leave_its_input_directory(key: str) -> None:
    scratch = Path("/scratch/run")
    [path] = input_layout(scratch, {"x": [f"s3://b/{key}"]})["x"]
    assert path.parent == scratch / "inputs" / "x"
    assert path.name not in ("", ".", "..") and "/" not in path.name
    assert len(path.name.encode()) <= 255


def test_console_script_against_moto_server(tmp_path: Path) -> None:
    script = shutil.which("orchestrator-runner", path=str(Path(PY).parent))
    assert script, "orchestrator-runner is not installed in this environment"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://{host}:{port}",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "ORCH_SCRATCH": str(tmp_path)}
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="in/r.txt", Body=b"one\ntwo\n")
        task = make_task(command=["wc", "-l", "{inputs.r}"], stdout="n",
                         inputs={"r": [uri("in/r.txt")]}, outputs={"n": uri("out/n.txt")})
        s3.put_object(Bucket=BUCKET, Key="tasks/t.json", Body=json.dumps(task).encode())
        env[contracts.TASK_ENV] = uri("tasks/t.json")
        proc = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert read(s3, "out/n.txt").decode().split()[0] == "2"
        assert "marker written" in proc.stderr.strip().splitlines()[-1]
        (marker,) = s3.list_objects_v2(Bucket=BUCKET, Prefix="_orchestrator/markers/wf/st/S1/")[
            "Contents"]
        assert json.loads(read(s3, marker["Key"]))["stage"] == "st"
    finally:
        server.stop()
