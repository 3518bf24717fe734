"""The CLI as a plain `pip install .` gives it (no extras): every command's help works, the
commands that need no extra work, the ones that do name the extra; light commands import
neither the emulator nor boto3. Each check runs in a new interpreter with the extras hidden
(the same finder as the error goldens), which is what an install without them looks like."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main, parser

ROOT = Path(__file__).resolve().parents[2]
DIAMOND = str(ROOT / "examples" / "diamond.py")
RNASEQ = str(ROOT / "examples" / "rnaseq.py")
COMMANDS = [["compile"], ["validate"], ["graph"], ["template"], ["deploy"], ["start"],
            ["executions"], ["run"], ["plan"], ["batch"], ["batch", "ce", "list"],
            ["batch", "queue", "create"], ["doctor"], ["runs"], ["status"], ["report"], ["tui"]]
HEAVY = ("moto", "aws_lambda_powertools", "boto3", "botocore.session", "botocore.loaders",
         "rich", "stepfunctions", "sagemaker", "textual")

_HIDE = """
import sys
class _Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("moto", "aws_lambda_powertools", "stepfunctions", "sagemaker",
                                  "textual"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Hidden())
"""


def without_extras(body: str, cwd: Path) -> Any:
    """Run ``body`` (which prints one JSON document last) in a new interpreter without the
    extras; return that document."""
    done = subprocess.run([sys.executable, "-c", _HIDE + body], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


_EACH = """
import contextlib, io, json
from orchestrator.cli import main
results = []
for argv in ARGVS:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([argv, code, err.getvalue()])
print(json.dumps(results))
"""


def test_every_command_helps_without_the_extras(tmp_path: Path) -> None:
    argvs = [["--help"], ["--version"]] + [[*c, "--help"] for c in COMMANDS]
    results = without_extras(f"ARGVS = {argvs!r}\n" + _EACH, tmp_path)
    assert [(argv, code) for argv, code, _ in results if code != 0] == []


def test_offline_commands_work_and_run_names_its_extra(tmp_path: Path) -> None:
    argvs = [["validate", DIAMOND, RNASEQ], ["compile", DIAMOND, RNASEQ, "-o", "sm"],
             ["graph", DIAMOND, "--view", "states"], ["template", DIAMOND, RNASEQ, "-o", "t.yaml"],
             ["run", DIAMOND, "--local", "--workdir", "ws"],
             ["plan", DIAMOND, "--local", "--workdir", "ws"], ["tui", "--workdir", "ws"]]
    results = without_extras(f"ARGVS = {argvs!r}\n" + _EACH, tmp_path)
    codes = [code for _, code, _ in results]
    assert codes == [0, 0, 0, 0, 2, 2, 2], results
    for command, (_, _, err) in zip(("run", "plan"), results[-3:-1], strict=True):
        assert err == (f"error: `orchestrator {command}` needs the 'local' extra (moto is not "
                       "installed): pip install 'batch-orchestrator[local]'\n")
    assert results[-1][2] == ("error: `orchestrator tui` needs the 'tui' extra (textual is not "
                              "installed): pip install 'batch-orchestrator[tui]'\n")
    assert (tmp_path / "sm" / "rnaseq.asl.json").is_file() and (tmp_path / "t.yaml").is_file()


@pytest.mark.parametrize("argv", [["--help"], ["validate", DIAMOND], ["compile", DIAMOND, "-o",
                                  "sm"], ["graph", DIAMOND], ["template", DIAMOND, "-o", "t.yaml"]],
                         ids=lambda a: a[0])
def test_light_commands_import_no_emulator_no_boto3_no_rich(argv: list[str],
                                                            tmp_path: Path) -> None:
    body = (f"import contextlib, io, json, sys\nfrom orchestrator.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()), "
            f"contextlib.redirect_stderr(io.StringIO()):\n"
            f"    try:\n        main({argv!r})\n    except SystemExit:\n        pass\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n")
    assert without_extras(body, tmp_path) == []


def test_version_is_the_packaged_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        parser().parse_args(["--version"])
    assert done.value.code == 0
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out == f"orchestrator {version}\n"


@pytest.mark.parametrize("value", ["0", "0.5", "-2", "nan", "inf", "many"])
def test_cores_below_one_or_not_a_number_is_refused(value: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        parser().parse_args(["run", DIAMOND, "--local", "--cores", value])
    assert done.value.code == 2
    assert "argument --cores:" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "cores"), [("1", 1.0), ("2.5", 2.5), ("64", 64.0)])
def test_cores_of_one_or_more_is_taken(value: str, cores: float) -> None:
    assert parser().parse_args(["run", DIAMOND, "--local", "--cores", value]).cores == cores


def test_start_honours_aws_region_alone(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import boto3
    from moto import mock_aws

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="eu-west-1")
        sfn.create_state_machine(
            name="diamond", roleArn="arn:aws:iam::123456789012:role/run",
            definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
        assert main(["start", DIAMOND, "--param", "top=3"]) == 0
        assert main(["executions", DIAMOND]) == 0
    out = capsys.readouterr().out
    assert out.startswith("started arn:aws:states:eu-west-1:")


def test_deploy_passes_aws_region_to_sam(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    import shutil

    calls: list[list[str]] = []

    def fake_run(argv: list[str], cwd: Path, check: bool) -> Any:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(shutil, "which", lambda name: f"/opt/bin/{name}")
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert main(["deploy", DIAMOND]) == 0
    deploy = calls[-1]
    assert deploy[deploy.index("--region") + 1] == "eu-central-1"
    assert main(["deploy", DIAMOND, "--region", "ap-south-1"]) == 0
    assert calls[-1][calls[-1].index("--region") + 1] == "ap-south-1"


def test_the_layer_requirements_of_an_installed_package_are_the_checkout_ones(
        tmp_path: Path) -> None:
    """Installed, runtime/requirements.txt is not there: deploy reads the same pin from the
    package's metadata (the 'local' extra), so both must say the same."""
    from orchestrator.cli.sam_stage import layer_requirements

    installed = tmp_path / "site-packages" / "orchestrator_runtime"
    installed.mkdir(parents=True)
    checkout = layer_requirements(ROOT / "runtime" / "orchestrator_runtime")
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]["local"]
    pin = [r for r in extra if r.startswith("aws-lambda-powertools")]
    assert checkout.splitlines() == pin

    def norm(req: str) -> str:  # metadata sorts extras and version clauses
        name, _, rest = req.partition("]")
        return ",".join(sorted(name.split("[")[1].split(","))) + "|" + ",".join(
            sorted(rest.split(",")))

    assert [norm(r) for r in layer_requirements(installed).splitlines()] == [norm(pin[0])]
