"""Inputs that used to pass `validate` and fail at deploy or run time (issue 9, section 3):
each is now a diagnostic with file:line and a hint."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import Workflow
from orchestrator.asl import check as asl_check
from orchestrator.errors import LoadError
from orchestrator.loader import load_file
from orchestrator.validate import duplicate_names, validate
from orchestrator_runtime import contracts, runner_template, triggers

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "python:3.12-slim"
THIS = Path(__file__).resolve()


def _codes(wf: Workflow) -> list[str]:
    return [d.code for d in validate(wf.build()) if d.severity == "error"]


def _at_this_file(wf: Workflow, code: str) -> None:
    diags = [d for d in validate(wf.build()) if d.code == code]
    assert diags, [d.text() for d in validate(wf.build())]
    for d in diags:
        assert Path(d.file).resolve() == THIS and d.line > 0 and d.hint


def _wf(*, foreach: bool = True) -> tuple[Workflow, Any]:
    wf = Workflow("demo", bucket="s3://my-bucket/demo")
    return wf, (wf.foreach("sample_id", columns=["lane"]) if foreach else None)


# Upload triggers --------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", [
    "raw/{sample}.fq", "raw/{lane}.fq", "raw/x.fq", "{lane}/{other}.fq.gz",
])
def test_upload_pattern_must_use_the_foreach_column(pattern: str) -> None:
    wf, _ = _wf()
    wf.on_upload(pattern)
    _at_this_file(wf, "trigger-without-sample")
    # what the trigger Lambda would do with it: refuse the configuration
    config = json.dumps([{"workflow": "demo", "state_machine_arn": "arn", "kind": "key",
                          "bucket": "s3://my-bucket/demo", "pattern": pattern,
                          "sample_column": "sample_id"}])
    with pytest.raises(triggers.TriggerConfigError):
        triggers.parse_triggers(config)


def test_upload_pattern_with_undeclared_column() -> None:
    wf, _ = _wf()
    wf.on_upload("raw/{sample_id}_{run}.fq")
    _at_this_file(wf, "trigger-unknown-column")


def test_pattern_with_the_column_is_accepted_by_validation_and_the_lambda() -> None:
    wf, _ = _wf()
    wf.on_upload("raw/{sample_id}_{lane}.fq")
    assert _codes(wf) == []


def test_sheet_trigger_needs_a_foreach() -> None:
    wf, _ = _wf(foreach=False)
    wf.on_sample_sheet(prefix="sheets/")
    _at_this_file(wf, "trigger-without-foreach")


@pytest.mark.parametrize("first,second", [
    (("key", "raw/{sample_id}.fq.gz"), ("key", "raw/{sample_id}_{lane}.fq.gz")),
    (("key", "raw/{sample_id}.fq.gz"), ("key", "raw/{lane}.fq.gz")),
    (("key", "raw/{sample_id}"), ("key", "raw/{sample_id}.fq.gz")),
    (("sheet", "sheets/"), ("sheet", "sheets")),
    (("sheet", ""), ("key", "{sample_id}.csv")),
    (("sheet", "in/"), ("key", "in/{sample_id}.csv")),
])
def test_overlapping_triggers_of_one_workflow(first: tuple[str, str],
                                              second: tuple[str, str]) -> None:
    wf, _ = _wf()
    for kind, text in (first, second):
        if kind == "key":
            wf.on_upload(text)
        else:
            wf.on_sample_sheet(prefix=text)
    _at_this_file(wf, "overlapping-triggers")


def test_disjoint_triggers_are_fine() -> None:
    wf, _ = _wf()
    wf.on_upload("raw/{sample_id}.fq.gz")
    wf.on_upload("raw/{sample_id}.bam")
    wf.on_sample_sheet(prefix="sheets/")
    assert _codes(wf) == []


def test_a_job_output_given_as_a_number_with_a_trigger_is_a_diagnostic_not_a_crash() -> None:
    wf, s = _wf()
    wf.on_upload("raw/{sample_id}.fq")
    wf.job("a", image=IMAGE, command=["true"], outputs={"o": 3}, per=s)  # type: ignore[dict-item]
    assert _codes(wf) == ["bad-path"]


# Outputs that name a folder -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["out/{sample_id}/", "out/{sample_id}/.", "s3://b-1/x/{sample_id}/",
                                  "out/{sample_id}/.."])
def test_output_ending_in_slash_names_a_folder(path: str) -> None:
    wf, s = _wf()
    wf.job("a", image=IMAGE, command=["true"], outputs={"o": path}, per=s)
    codes = _codes(wf)
    assert codes and set(codes) <= {"output-is-folder", "bad-path"}, codes


@pytest.mark.parametrize("outputs,inputs", [
    ({"dir": "res/{sample_id}", "f": "res/{sample_id}/a.txt"}, {}),
    ({"dir": "res/{sample_id}"}, {"x": "res/{sample_id}/b.txt"}),
])
def test_output_that_holds_other_paths_names_a_folder(outputs: dict[str, str],
                                                      inputs: dict[str, str]) -> None:
    wf, s = _wf()
    wf.job("a", image=IMAGE, command=["true"], outputs=outputs, inputs=inputs, per=s)
    _at_this_file(wf, "output-is-folder")


# Commands ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    "wc -l {inputs.x}", ["wc -l {inputs.x}"], "sort {inputs.x} | uniq -c", ["echo\thi"],
])
def test_one_command_string_without_shell(command: Any) -> None:
    wf, s = _wf()
    wf.job("a", image=IMAGE, command=command, inputs={"x": "raw/{sample_id}.txt"},
           outputs={"o": "o/{sample_id}.txt"}, per=s)
    _at_this_file(wf, "command-needs-shell")


@pytest.mark.parametrize("command,shell", [(["wc"], False), (["wc -l {inputs.x}"], True),
                                           (["wc", "-l", "{inputs.x}"], False)])
def test_commands_that_run_as_written(command: list[str], shell: bool) -> None:
    wf, s = _wf()
    wf.job("a", image=IMAGE, command=command, shell=shell, inputs={"x": "raw/{sample_id}.txt"},
           outputs={"o": "o/{sample_id}.txt"}, per=s)
    assert _codes(wf) == []


# Arguments of the wrong shape ------------------------------------------------------------------


@pytest.mark.parametrize("kw", [
    {"after": "first"},
    {"after": 3},
    {"inputs": "raw/{sample_id}.txt"},
    {"outputs": "o/{sample_id}.txt"},
    {"outputs": ["o/{sample_id}.txt"]},
    {"env": "A=1"},
    {"per": "sample_id"},
    {"retry_exit_codes": "137"},
    {"retry_exit_codes": 137},
])
def test_arguments_of_the_wrong_shape(kw: dict[str, Any]) -> None:
    wf, s = _wf()
    first = wf.job("first", image=IMAGE, command=["true"], outputs={"o": "f.txt"})
    kw = {"outputs": {"o": "o/{sample_id}.txt"}, "per": s, **kw}
    wf.job("a", image=IMAGE, command=["true"], **kw)
    assert first.name == "first"
    _at_this_file(wf, "bad-argument")


def test_after_a_single_jobref_is_reported_once_not_per_character() -> None:
    wf, _ = _wf()
    first = wf.job("first", image=IMAGE, command=["true"], outputs={"o": "f.txt"})
    wf.job("second", image=IMAGE, command=["true"], outputs={"o": "s.txt"},
           after=first)  # type: ignore[arg-type]
    assert _codes(wf) == ["bad-argument"]


@pytest.mark.parametrize("non_str", [3, None, 2.5, ["a"]])
def test_non_string_input_values_are_diagnostics(non_str: Any) -> None:
    wf, s = _wf()
    wf.on_upload("raw/{sample_id}.fq")
    wf.job("a", image=IMAGE, command=["true"], inputs={"x": non_str},
           outputs={"o": "o/{sample_id}.txt"}, per=s)
    assert _codes(wf) == ["bad-path"]


def test_per_and_after_from_another_workflow() -> None:
    one, s1 = _wf()
    upstream = one.job("up", image=IMAGE, command=["true"], outputs={"o": "u.txt"})
    two, _ = _wf()
    two.job("down", image=IMAGE, command=["true"], outputs={"o": "d/{sample_id}.txt"},
            after=[upstream], per=s1)
    diags = [d for d in validate(two.build()) if d.code == "bad-argument"]
    assert len(diags) == 2
    assert all("another Workflow" in d.message for d in diags)


# Loading files ---------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return p


@pytest.mark.parametrize("body,line,words", [
    ("import sys\nx = 1\nsys.exit(3)\n", 3, "sys.exit(3)"),
    ("import sys\n\nsys.exit()\n", 3, "sys.exit(None)"),
    ("x = 1\nraise RuntimeError('boom')\n", 2, "RuntimeError: boom"),
    ("def f():\n    return 1 / 0\n\nf()\n", 2, "ZeroDivisionError"),
    ("x = 1\nwf = Workflow('a',\n    bucket=)\n", 3, "SyntaxError"),
    ("x = (\n", 1, "SyntaxError"),
    ("import no_such_module_here\n", 1, "ModuleNotFoundError"),
    ("raise SystemExit('stop')\n", 1, "sys.exit('stop')"),
])
def test_a_file_that_breaks_names_the_real_line(tmp_path: Path, body: str, line: int,
                                                words: str) -> None:
    p = _write(tmp_path, "wf.py", body)
    with pytest.raises(LoadError) as info:
        load_file(p)
    message = str(info.value)
    assert message.startswith(f"{p}:{line}"), message
    assert words in message and "\n" not in message


def test_cli_validate_of_a_file_calling_sys_exit_reports_it(tmp_path: Path) -> None:
    p = _write(tmp_path, "wf.py", "import sys\nsys.exit(0)\n")
    out = subprocess.run([sys.executable, "-m", "orchestrator.cli", "validate", str(p)],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode != 0 and f"{p}:2" in out.stderr, (out.returncode, out.stderr)


WF = """
from orchestrator import Workflow
# comment
wf = Workflow({name!r}, bucket="s3://my-bucket/x")
wf.job("a", image="i", command=["true"], outputs={{"o": "o.txt"}})
"""


def test_two_workflows_with_one_name_name_both_files_and_lines(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.py", WF.format(name="same"))
    b = tmp_path / "b.py"
    b.write_text("# b\n\n" + WF.format(name="same").lstrip(), encoding="utf-8")
    [d] = duplicate_names([*load_file(a), *load_file(b)])
    assert (d.file, d.line) == (str(b), 5)
    assert f"{a}:3" in d.message and d.hint


def test_an_alias_of_one_workflow_is_not_a_duplicate(tmp_path: Path) -> None:
    p = _write(tmp_path, "wf.py", WF.format(name="one") + "workflow = wf\nalso = workflow\n")
    found = load_file(p)
    assert [w.name for w in found] == ["one"] and duplicate_names(found) == []


# Literal braces -------------------------------------------------------------------------------


@pytest.mark.parametrize("template,expected", [
    ("awk '{{print $1}}' {inputs.x}", "awk '{print $1}' /in/x"),
    ("echo ${{HOME}}", "echo ${HOME}"),
    ("{{{inputs.x}}}", "{/in/x}"),
    ("a}}b{{c", "a}b{c"),
])
def test_doubled_braces_are_literal_at_run_time(template: str, expected: str) -> None:
    table = {"inputs.x": ["/in/x"]}
    assert runner_template.fill_field(template, table, quote=False, field="c") == expected
    assert contracts.placeholders(template) == (["inputs.x"] if "inputs.x" in template else [])


def test_doubled_braces_pass_validation_and_single_ones_get_a_hint() -> None:
    wf, s = _wf()
    wf.job("ok", image=IMAGE, command=["echo ${{HOME}} | awk '{{print $1}}'"], shell=True,
           outputs={"o": "o/{sample_id}.txt"}, per=s)
    assert _codes(wf) == []
    bad, s2 = _wf()
    bad.job("no", image=IMAGE, command=["echo ${HOME}"], shell=True,
            outputs={"o": "o/{sample_id}.txt"}, per=s2)
    [d] = [d for d in validate(bad.build()) if d.code == "undefined-placeholder"]
    assert "{{HOME}}" in d.hint


def test_an_upload_pattern_with_escaped_braces_matches_literal_braces() -> None:
    regex = triggers.pattern_regex("raw/{{x}}/{sample_id}.fq")
    m = regex.fullmatch("raw/{x}/s1.fq")
    assert m is not None and m.groupdict() == {"sample_id": "s1"}


# Hand-written ASL ------------------------------------------------------------------------------


def _machine(**state: Any) -> dict[str, Any]:
    return {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:x", "End": True,
                                              **state}}}


@pytest.mark.parametrize("doc,words", [
    (_machine(Catch="States.ALL"), "Catch must be a list"),
    (_machine(Catch=[{"ErrorEquals": "States.ALL", "Next": "A"}]), "ErrorEquals"),
    (_machine(Catch=[{"ErrorEquals": ["States.ALL"]}]), "Catch[0].Next"),
    (_machine(Retry={"ErrorEquals": ["x"]}), "Retry must be a list"),
    (_machine(Retry=[{"ErrorEquals": ["x"], "MaxAttempts": "3"}]), "MaxAttempts"),
    (_machine(Next=3, End=None), "Next must be a string"),
    (_machine(End="yes"), "End must be true or false"),
    ({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": 3, "End": True}}},
     "ItemProcessor must be an object"),
    ({"StartAt": "M", "States": {"M": {"Type": "Map", "End": True}}}, "ItemProcessor"),
    ({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": "x", "Default": "D"},
                                 "D": {"Type": "Succeed"}}}, "Choices must be"),
    ({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": ["x"], "Default": "D"},
                                 "D": {"Type": "Succeed"}}}, "Choices[0]"),
    ({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": "x", "End": True}}},
     "Branches"),
    ({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [3], "End": True}}},
     "Branches"),
    ({"StartAt": "W", "States": {"W": {"Type": "Wait", "End": True}}}, "Wait needs"),
])
def test_hand_written_asl_with_wrong_types_is_an_error(doc: dict[str, Any], words: str) -> None:
    found = asl_check.problems(doc)
    assert any(words in p for p in found), found


def test_validate_cli_reports_wrong_asl_types(tmp_path: Path) -> None:
    p = tmp_path / "m.asl.json"
    p.write_text(json.dumps(_machine(Catch="States.ALL")), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "orchestrator.cli", "validate", str(p)],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 2 and "Catch must be a list" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["Type", "Next", "End", "Catch", "Retry", "Choices", "Branches",
                         "ItemProcessor", "Iterator", "States", "StartAt", "Default",
                         "ErrorEquals", "A", "B"]), kids, max_size=4),
    max_leaves=20)
STATE = st.fixed_dictionaries({"Type": st.sampled_from(sorted(asl_check.TYPES))},
                              optional={k: JSON for k in ("Next", "End", "Catch", "Retry",
                                                          "Choices", "Branches",
                                                          "ItemProcessor", "Default")})


@settings(max_examples=300, deadline=None)
@given(states=st.dictionaries(st.sampled_from(["A", "B", "C"]), STATE | JSON, min_size=1),
       start=st.sampled_from(["A", "B", 3]))
def test_any_json_gives_problems_never_a_crash(states: dict[str, Any], start: Any) -> None:
    found = asl_check.problems({"StartAt": start, "States": states})
    assert all(isinstance(p, str) for p in found)


# Compute types (issue 9, section 4) ------------------------------------------------------------


@pytest.mark.parametrize("cpus,memory", [(1, "1 GiB"), (1, "8200 MiB"), (0.25, "1536 MiB"),
                                         (0.5, "5 GiB"), (4, "31 GiB"), (16, "36 GiB"),
                                         (32, "64 GiB")])
def test_sizes_fargate_refuses(cpus: float, memory: str) -> None:
    wf, _ = _wf()
    wf.job("a", image=IMAGE, command=["true"], outputs={"o": "o.txt"}, cpus=cpus, memory=memory)
    built = wf.build()
    for compute in ("FARGATE", "FARGATE_SPOT"):
        codes = [d.code for d in validate(built, compute) if d.severity == "error"]
        assert codes == ["compute-type-size"], codes
    assert [d.code for d in validate(built, "EC2") if d.severity == "error"] == (
        ["compute-type-size"] if cpus < 1 else [])


@pytest.mark.parametrize("cpus,memory", [(0.25, "512 MiB"), (0.5, "4 GiB"), (1, "2 GiB"),
                                         (2, "16 GiB"), (8, "60 GiB"), (16, "120 GiB")])
def test_sizes_fargate_accepts(cpus: float, memory: str) -> None:
    wf, _ = _wf()
    wf.job("a", image=IMAGE, command=["true"], outputs={"o": "o.txt"}, cpus=cpus, memory=memory)
    assert [d for d in validate(wf.build(), "FARGATE") if d.severity == "error"] == []


def test_validate_cli_checks_the_examples_against_fargate() -> None:
    out = subprocess.run([sys.executable, "-m", "orchestrator.cli", "validate", "--compute-type",
                          "FARGATE", "examples/rnaseq.py", "examples/diamond.py"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr
    bad = subprocess.run([sys.executable, "-m", "orchestrator.cli", "validate", "--compute-type",
                          "FARGATE", "tests/golden/workflows/gpus_retries.py"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert bad.returncode == 2 and "compute-type-size" in bad.stderr and "GPUs" in bad.stderr
