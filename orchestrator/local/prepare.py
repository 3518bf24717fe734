"""What a local run is given, checked before anything starts: the options of `run --local`
(and `plan --local`, which reads them the same way) and the workflow, sheet, params and data
they name. Light: no emulator is imported here, so a plan starts quickly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator import loader, model
from orchestrator.compiler import asl_text, compile_workflow
from orchestrator.errors import UsageError
from orchestrator.local import inputs, runlock, workspace
from orchestrator.samples import execution_input, only_samples, parse_params, read_sheet
from orchestrator.validate import ensure_valid


@dataclass(frozen=True)
class RunOptions:
    workflow_file: Path
    data_dir: Path | None = None
    out_dir: Path | None = None
    samples: Path | None = None
    params: tuple[str, ...] = ()
    force: tuple[str, ...] = ()  # stages to run again even where complete
    only: tuple[str, ...] = ()  # sample ids to run (all when empty)
    cores: float | None = None
    workdir: Path | None = None  # default: runlock.locate()
    poll_seconds: float = 0.2
    wait_for_lock: bool = False
    execution_name: str | None = None  # default: <workflow>-<run id>

    @property
    def state_dir(self) -> Path:
        return runlock.locate(self.workflow_file, self.workdir)


@dataclass(frozen=True)
class Prepared:
    workflow: model.Workflow
    definition: str
    samples: list[dict[str, str]]
    params: dict[str, str]  # as given: what goes into the execution input
    values: dict[str, str]  # params with declared defaults filled in: for local paths
    data_dir: Path | None
    force: tuple[str, ...] = ()
    only: tuple[str, ...] = ()


def prepare(opts: RunOptions) -> Prepared:
    """Everything that can be wrong with the inputs, found before anything starts."""
    wf = loader.load_one(opts.workflow_file)
    ensure_valid(wf)
    definition = asl_text(compile_workflow(wf))
    data_dir = opts.data_dir
    if data_dir is not None and not data_dir.is_dir():
        raise inputs.InputDataError(f"{data_dir}: no such data folder")
    if data_dir is None:
        default = opts.workflow_file.parent / "data" / wf.name
        data_dir = default if default.is_dir() else None
    samples: list[dict[str, str]] = []
    if wf.foreach is not None:
        sheet = opts.samples or (data_dir / "samples.csv" if data_dir else None)
        if sheet is None:
            raise UsageError(f"workflow {wf.name!r} runs per {wf.foreach.column}: "
                             "pass --samples FILE.csv")
        samples = read_sheet(sheet, wf)
        only_samples(wf, samples, opts.only)  # raises naming an unknown sample
    elif opts.only:
        raise UsageError(f"--only: workflow {wf.name!r} does not fan out over samples")
    elif opts.samples is not None:
        read_sheet(opts.samples, wf)  # raises: the workflow takes no samples
    params = parse_params(list(opts.params))
    execution_input(wf, samples=samples, params=params,  # raises on unknown/missing params
                    force=opts.force, only=opts.only)
    values = {**{p.name: p.default for p in wf.params if p.default is not None}, **params}
    mirror = workspace.Workspace(opts.state_dir, wf.bucket_name).mirror
    inputs.check_inputs(wf, samples, values, data_dir, mirror)
    return Prepared(wf, definition, samples, params, values, data_dir, opts.force, opts.only)
