"""Validation: one test per diagnostic, each on the smallest workflow that shows it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import model
from orchestrator.errors import Diagnostic, WorkflowError
from orchestrator.loader import load_one
from orchestrator.validate import ensure_valid, validate

ROOT = Path(__file__).resolve().parents[2]
FILE = "wf.py"


def job(name: str, line: int = 10, **kw: Any) -> model.Job:
    fields: dict[str, Any] = {
        "image": "python:3.12-slim",
        "command": ("true",),
        "outputs": {"out": f"out/{name}.txt"},
        "memory": "1 GiB",
    }
    fields.update(kw)
    return model.Job(name=name, source=model.Source(FILE, line), **fields)


def per_sample(name: str, line: int = 10, **kw: Any) -> model.Job:
    kw.setdefault("outputs", {"out": f"out/{name}/{{sample_id}}.txt"})
    return job(name, line, per_sample=True, **kw)


def workflow(*jobs: model.Job, **kw: Any) -> model.Workflow:
    fields: dict[str, Any] = {
        "name": "demo",
        "bucket": "s3://my-bucket/demo",
        "source": model.Source(FILE, 1),
        "foreach": model.Foreach("sample_id", model.Source(FILE, 2), columns=("condition",)),
        "params": (model.Param("genome", "GRCh38", model.Source(FILE, 3)),),
    }
    fields.update(kw)
    return model.Workflow(jobs=jobs, **fields)


def found(wf: model.Workflow, code: str) -> list[Diagnostic]:
    return [d for d in validate(wf) if d.code == code]


def only(wf: model.Workflow, code: str) -> Diagnostic:
    """The one diagnostic of ``code``; also proves the workflow has no other error."""
    diags = validate(wf)
    assert [d.code for d in diags if d.severity == "error"] == [code], [d.text() for d in diags]
    return next(d for d in diags if d.code == code)


# The examples ---------------------------------------------------------------------------


def test_rnaseq_example_has_no_diagnostics() -> None:
    assert validate(load_one(ROOT / "examples" / "rnaseq.py")) == []


def test_diamond_example_has_no_errors() -> None:
    assert ensure_valid(load_one(ROOT / "examples" / "diamond.py")) == []


def test_minimal_workflow_is_clean() -> None:
    assert validate(workflow(job("a"), per_sample("b", after=("a",)))) == []


# Names ----------------------------------------------------------------------------------


def test_duplicate_job_points_at_second_definition() -> None:
    d = only(workflow(job("qc", 10), job("qc", 20, outputs={"o": "x.txt"})), "duplicate-job")
    assert (d.file, d.line) == (FILE, 20)
    assert "'qc'" in d.message and "line 10" in d.message


@pytest.mark.parametrize("name", ["qc step", "-qc", "qc.v2", "", "a" * 129])
def test_job_name_must_be_a_batch_name(name: str) -> None:
    d = only(workflow(job(name, 12, outputs={"o": "x.txt"})), "bad-job-name")
    assert d.line == 12 and repr(name[:40]) in d.message


def test_job_definition_name_includes_the_workflow_name() -> None:
    wf = workflow(job("j" * 60, 7), name="w" * 70)
    d = only(wf, "job-definition-name-too-long")
    assert d.line == 7 and "131 characters" in d.message


@pytest.mark.parametrize("name", ["my pipeline", "_hidden", "x" * 81, ""])
def test_workflow_name_names_the_state_machine(name: str) -> None:
    d = only(workflow(job("a"), name=name), "bad-workflow-name")
    assert d.line == 1 and (name[:20] in d.message or "no name" in d.message)


def test_names_sharing_a_job_definition_key_clash() -> None:
    d = only(workflow(job("align-reads", 3), job("align_reads", 4, outputs={"o": "x.txt"})),
             "job-name-clash")
    assert d.line == 4 and "'align-reads' (line 3)" in d.message and "'align_reads'" in d.message
    assert "JobDefinitionAlignReads" in d.message


def test_a_long_job_name_is_valid_because_its_state_names_are_shortened() -> None:
    # A job name that fits Batch needs no room for "Explain ... failure": orchestrator.names
    # shortens state names (tests/unit/test_names.py).
    assert validate(workflow(job("a" * 100))) == []


def test_param_named_like_a_column_is_ambiguous() -> None:
    wf = workflow(job("a"), params=(model.Param("condition", None, model.Source(FILE, 4)),))
    d = only(wf, "bad-param")
    assert d.line == 4 and "'condition'" in d.message


def test_column_must_be_usable_as_placeholder() -> None:
    fe = model.Foreach("sample-id", model.Source(FILE, 2))
    d = only(workflow(job("a"), foreach=fe), "bad-column")
    assert d.line == 2 and "'sample-id'" in d.message


def test_max_concurrency_must_be_whole() -> None:
    fe = model.Foreach("sample_id", model.Source(FILE, 2), max_concurrency=-1)
    d = only(workflow(job("a"), foreach=fe), "bad-max-concurrency")
    assert d.line == 2 and "-1" in d.message


def test_input_name_must_be_usable_as_placeholder() -> None:
    d = only(workflow(job("a", 5, inputs={"my-reads": "r.txt"})), "bad-io-name")
    assert d.line == 5 and "'my-reads'" in d.message


# Dependencies ---------------------------------------------------------------------------


def test_unknown_dependency_suggests_closest_name() -> None:
    d = only(workflow(per_sample("trim"), per_sample("count", 14, after=("trimm",))),
             "unknown-dependency")
    assert d.line == 14 and "'trimm'" in d.message and "after=[trim]" in d.hint


def test_cycle_is_printed_in_order() -> None:
    wf = workflow(job("a", 1, after=("c",)), job("b", 2, after=("a",)), job("c", 3, after=("b",)))
    d = only(wf, "dependency-cycle")
    assert d.line == 1 and "a -> b -> c -> a" in d.message


def test_self_dependency_is_a_cycle() -> None:
    assert "a -> a" in only(workflow(job("a", after=("a",))), "dependency-cycle").message


def test_reading_an_output_needs_after() -> None:
    trim = per_sample("trim", 10, outputs={"t": "trimmed/{sample_id}.fq"})
    count = per_sample("count", 20, inputs={"reads": "trimmed/{sample_id}.fq"})
    d = only(workflow(trim, count), "missing-dependency")
    assert d.line == 20
    assert d.message == ("job count reads trimmed/{sample_id}.fq produced by trim but does not "
                         "run after it")
    assert "after=[trim]" in d.hint


def test_running_after_transitively_is_enough() -> None:
    wf = workflow(job("a", outputs={"o": "a.txt"}), job("b", after=("a",)),
                  job("c", inputs={"x": "a.txt"}, after=("b",)))
    assert validate(wf) == []


def test_absolute_and_relative_paths_to_the_same_object_match() -> None:
    wf = workflow(job("a", outputs={"o": "s3://my-bucket/demo/a.txt"}),
                  job("b", 8, inputs={"x": "a.txt"}))
    assert only(wf, "missing-dependency").line == 8


# Resources ------------------------------------------------------------------------------


@pytest.mark.parametrize("cpus", [0, -1, 0.3, 1.5, 257, "2", True])
def test_bad_cpus(cpus: Any) -> None:
    d = only(workflow(job("a", 4, cpus=cpus)), "bad-cpus")
    assert d.line == 4 and f"cpus={cpus!r}" in d.message


@pytest.mark.parametrize("cpus", [0.25, 0.5, 1, 4.0, 256])
def test_good_cpus(cpus: float) -> None:
    assert validate(workflow(job("a", cpus=cpus))) == []


@pytest.mark.parametrize("memory", ["lots", "4 parsecs", None, 2, "25 TiB", -5])
def test_bad_memory(memory: Any) -> None:
    d = only(workflow(job("a", 4, memory=memory)), "bad-memory")
    assert d.line == 4 and f"memory={memory!r}" in d.message


@pytest.mark.parametrize("gpus", [-1, 17, 1.5, "1"])
def test_bad_gpus(gpus: Any) -> None:
    d = only(workflow(job("a", 4, gpus=gpus)), "bad-gpus")
    assert d.line == 4 and f"gpus={gpus!r}" in d.message


@pytest.mark.parametrize("timeout", ["30s", 59, "0.5m"])
def test_timeout_under_a_minute(timeout: Any) -> None:
    d = only(workflow(job("a", 4, timeout=timeout)), "bad-timeout")
    assert d.line == 4 and "at least 60 s" in d.message


@pytest.mark.parametrize("timeout", ["soon", "1h and a bit", None])
def test_unparseable_timeout(timeout: Any) -> None:
    d = only(workflow(job("a", 4, timeout=timeout)), "bad-timeout")
    assert d.line == 4 and "not a duration" in d.message


def test_retries_beyond_batch_attempts_name_both_numbers() -> None:
    d = only(workflow(job("a", 4, retries=10)), "bad-retries")
    assert d.line == 4 and "retries=10" in d.message and "11 attempts" in d.message
    assert validate(workflow(job("a", retries=9))) == []


def test_negative_retries() -> None:
    assert "retries=-1" in only(workflow(job("a", retries=-1)), "bad-retries").message


def test_any_number_of_retry_exit_codes_fits() -> None:
    # the runner matches them (jobspec.retry_strategy): they take no evaluateOnExit rule
    codes = tuple(str(n) for n in range(1, 40))
    assert validate(workflow(job("a", 4, retries=2, retry_exit_codes=codes))) == []


def test_retry_exit_codes_without_retries_is_a_warning() -> None:
    [d] = validate(workflow(job("a", 4, retry_exit_codes=("3",))))
    assert (d.code, d.severity, d.line) == ("retry-codes-without-retries", "warning", 4)
    assert "retries=0" in d.message


@pytest.mark.parametrize("code", ["abc", "1*2", "", "-1"])
def test_retry_exit_code_must_be_a_batch_glob(code: str) -> None:
    d = only(workflow(job("a", retry_exit_codes=(code,))), "bad-retry-exit-codes")
    assert repr(code) in d.message


def test_retry_exit_code_globs_accepted() -> None:
    assert validate(workflow(job("a", retries=1, retry_exit_codes=("137", "13*")))) == []


# Placeholders ---------------------------------------------------------------------------


def test_undefined_placeholder_names_field_and_suggests_param() -> None:
    d = only(workflow(job("a", 6, command=("align", "--ref", "{genom}"))),
             "undefined-placeholder")
    assert d.line == 6 and "command[2]" in d.message and "{genom}" in d.message
    assert "{genome}" in d.hint


def test_misspelt_input_suggests_declared_one() -> None:
    j = per_sample("count", 6, inputs={"reads": "r/{sample_id}.fq"},
                   command=("wc", "{inputs.reeds}"))
    d = only(workflow(j), "undefined-placeholder")
    assert "no input named 'reeds'" in d.message and "{inputs.reads}" in d.hint


def test_parent_exists_only_for_outputs() -> None:
    j = job("a", inputs={"x": "in.txt"}, command=("ls", "{inputs.x.parent}"))
    d = only(workflow(j), "undefined-placeholder")
    assert "{inputs.x.parent}" in d.message and d.hint == "use {inputs.x}"


def test_once_job_cannot_use_sample_columns_in_command() -> None:
    d = only(workflow(job("report", 6, command=("echo", "{sample_id}"))), "undefined-placeholder")
    assert "{sample_id}" in d.message and "runs once" in d.message and "per=samples" in d.hint


def test_once_job_may_gather_per_sample_inputs() -> None:
    wf = workflow(per_sample("count"),
                  job("report", inputs={"c": "out/count/{sample_id}.txt"}, after=("count",)))
    assert validate(wf) == []


def test_once_job_output_cannot_use_sample_columns() -> None:
    d = only(workflow(job("report", outputs={"o": "r/{condition}.txt"})), "undefined-placeholder")
    assert "output o" in d.message and "{condition}" in d.message


def test_paths_cannot_use_inputs_or_outputs() -> None:
    j = job("a", inputs={"x": "in.txt"}, outputs={"o": "{inputs.x}.out"})
    d = only(workflow(j), "undefined-placeholder")
    assert "output o" in d.message and "params and sample columns" in d.message


def test_everything_defined_is_accepted() -> None:
    j = per_sample(
        "align", inputs={"reads": "raw/{sample_id}.fq", "ref": "refs/{genome}.fa"},
        outputs={"bam": "bam/{condition}/{sample_id}.bam"},
        command=("align", "{inputs.reads}", "{inputs.ref}", "-o", "{outputs.bam}"),
        environment={"TMPDIR": "{outputs.bam.parent}", "SAMPLE": "{sample_id}"},
    )
    assert validate(workflow(j)) == []


def test_per_sample_job_needs_foreach() -> None:
    d = only(workflow(per_sample("qc", 8), foreach=None), "per-sample-without-foreach")
    assert d.line == 8 and "'qc'" in d.message and "wf.foreach" in d.hint


def test_stdout_must_name_an_output() -> None:
    d = only(workflow(job("a", 8, stdout="log")), "bad-stdout")
    assert d.line == 8 and "stdout='log'" in d.message and "out" in d.message


# Paths ----------------------------------------------------------------------------------


def test_output_declared_by_two_jobs() -> None:
    wf = workflow(job("a", 10, outputs={"o": "shared.txt"}),
                  job("b", 20, outputs={"p": "s3://my-bucket/demo/shared.txt"}))
    d = only(wf, "duplicate-output")
    assert d.line == 20 and "'a'" in d.message and "'b'" in d.message and "line 10" in d.message


def test_per_sample_output_must_use_the_foreach_column() -> None:
    d = only(workflow(per_sample("qc", 8, outputs={"stats": "qc/{condition}.tsv"})),
             "shared-per-sample-output")
    assert d.line == 8 and "stats" in d.message and "{sample_id}" in d.message


@pytest.mark.parametrize("path", ["../up.txt", "a/../../b", "/etc/passwd", "s3://",
                                  "s3://Bad_Bucket/x", "s3://my-bucket", "", "http://h/x"])
def test_bad_paths(path: str) -> None:
    d = only(workflow(job("a", 5, inputs={"x": path})), "bad-path")
    assert d.line == 5 and "input x" in d.message


def test_non_string_path() -> None:
    assert "not a path string" in only(workflow(job("a", inputs={"x": 3})), "bad-path").message


@pytest.mark.parametrize("bucket", ["my-bucket", "s3://", "s3://My_Bucket/x", "s3://ok-bucket/../x",
                                   "s3://ab", "s3://ok-bucket//x"])
def test_bad_bucket(bucket: str) -> None:
    d = only(workflow(job("a"), bucket=bucket), "bad-bucket")
    assert d.line == 1 and repr(bucket) in d.message


def test_bucket_without_prefix_is_fine() -> None:
    assert validate(workflow(job("a"), bucket="s3://my.bucket-1")) == []


# The container --------------------------------------------------------------------------


def test_environment_too_large_for_container_overrides() -> None:
    d = only(workflow(job("a", 5, environment={"BIG": "x" * 8000})), "overrides-too-large")
    assert d.line == 5 and "8,192" in d.message
    size = int(d.message.split("about ")[1].split(" ")[0].replace(",", ""))
    assert 8000 < size < 9500


def test_a_job_whose_spec_outgrows_its_batch_job_definition() -> None:
    # the job definition holds the job's spec (command, paths, environment): 24 KiB at most
    d = only(workflow(job("a", 7, command=("x" * 25_000,))), "job-definition-too-large")
    assert d.line == 7 and "'a'" in d.message and "24,576" in d.message
    size = int(d.message.split("about ")[1].split(" ")[0].replace(",", ""))
    assert 25_000 < size < 28_000


def test_long_command_does_not_count_against_overrides() -> None:
    # The command travels in the task document; the override only holds the runner's name.
    assert validate(workflow(job("a", command=("x" * 20000,)))) == []


def test_shell_needs_exactly_one_string() -> None:
    d = only(workflow(job("a", 5, command=("sort", "x"), shell=True)), "bad-command")
    assert d.line == 5 and "shell=True" in d.message and "got 2" in d.message


def test_empty_command() -> None:
    assert "empty command" in only(workflow(job("a", command=())), "bad-command").message


def test_non_string_command_item() -> None:
    assert "5" in only(workflow(job("a", command=("head", "-n", 5))), "bad-command").message


@pytest.mark.parametrize("name", ["AWS_BATCH_JOB_ID", "ORCH_TASK_URI", "1X", "A-B"])
def test_reserved_or_invalid_env_names(name: str) -> None:
    d = only(workflow(job("a", 5, environment={name: "v"})), "bad-env")
    assert d.line == 5 and name in d.message


def test_missing_image() -> None:
    assert "'a'" in only(workflow(job("a", image=" ")), "missing-image").message


def test_job_without_outputs_is_a_warning() -> None:
    wf = workflow(job("a", 5, outputs={}))
    [d] = validate(wf)
    assert (d.code, d.severity, d.line) == ("no-outputs", "warning", 5)
    assert ensure_valid(wf) == [d]


# Putting it together --------------------------------------------------------------------


def test_ensure_valid_raises_with_every_diagnostic_sorted_by_line() -> None:
    wf = workflow(job("b", 30, cpus=0), job("a", 20, retries=11, outputs={}))
    with pytest.raises(WorkflowError) as exc:
        ensure_valid(wf)
    assert [(d.line, d.code) for d in exc.value.diagnostics] == [
        (20, "bad-retries"), (20, "no-outputs"), (30, "bad-cpus")]
    assert len(exc.value.errors) == 2


odd = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True),
                st.text(max_size=12), st.lists(st.text(max_size=5), max_size=3))


@settings(max_examples=60, deadline=None)
@given(cpus=odd, memory=odd, gpus=odd, retries=odd, timeout=odd, name=odd, arg=odd, env=odd,
       path=odd, after=odd, stdout=odd, codes=odd, column=odd, param=odd, bucket=odd, image=odd,
       per_sample=st.booleans())
def test_garbage_values_give_diagnostics_not_crashes(**v: Any) -> None:
    j = replace(job("a"), cpus=v["cpus"], memory=v["memory"], gpus=v["gpus"],
                retries=v["retries"], timeout=v["timeout"], image=v["image"],
                command=("run", v["arg"]), environment={"E": v["env"]},
                inputs={"x": v["path"]}, outputs={"o": v["path"]}, stdout=v["stdout"],
                retry_exit_codes=(v["codes"],), per_sample=v["per_sample"])
    wf = workflow(
        j, replace(job("b"), name=v["name"], after=(v["after"],)),
        foreach=model.Foreach(v["column"], model.Source(FILE, 2), max_concurrency=v["cpus"]),
        params=(model.Param(v["param"], v["env"], model.Source(FILE, 3)),), bucket=v["bucket"],
        name=v["name"],
    )
    for d in validate(wf):
        assert d.code and d.message and d.line in (1, 2, 3, 10)


def test_an_upload_trigger_matching_a_jobs_output_is_a_loop(tmp_path: Path) -> None:
    from orchestrator import Workflow

    wf = Workflow("loop", bucket="s3://b/p")
    samples = wf.foreach("sample_id")
    wf.on_upload("raw/{sample_id}.fastq.gz")
    wf.job("trim", image="i", command=["true"], inputs={"r": "raw/{sample_id}.fastq.gz"},
           outputs={"t": "raw/{sample_id}.trimmed.fastq.gz"}, per=samples)
    found = [d for d in validate(wf.build()) if d.code == "trigger-matches-output"]
    assert len(found) == 1 and "trim" in found[0].message and found[0].line > 0
