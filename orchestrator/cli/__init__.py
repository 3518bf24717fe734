"""The `orchestrator` command. Each group of commands lives in its own module with a
``register(subparsers)`` function; handlers return an exit code. Typed errors from library
code become one clear message and exit code 2 (bad input) or 1 (a failed run or AWS error):
never a traceback. Building the parser imports no engine, boto3 or rich: each command module
imports what its command needs when it runs, so ``--help`` is quick and every command works
without the extras that other commands need."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from orchestrator import __version__
from orchestrator.cli import outpaths
from orchestrator.errors import LoadError, OrchestratorError, WorkflowError

COMMAND_MODULES = ("build", "aws", "local", "plan", "batch", "doctor", "report", "status",
                   "tui")
DISTRIBUTION = "batch-orchestrator"
# Top-level modules that only an extra installs, and that extra.
EXTRAS = {"moto": "local", "aws_lambda_powertools": "local", "stepfunctions": "sdk",
          "sagemaker": "sdk", "textual": "tui"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orchestrator",
        description="Compile Python workflows to AWS Step Functions + AWS Batch, deploy, run.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:  # a missing module is a bug: let the import fail
        importlib.import_module(f"orchestrator.cli.{name}").register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["run"] and "--local" in given:  # before the parser: it takes 0.2 s
        from orchestrator.local import gcphases, warmengine

        served = warmengine.run_remote(given)  # by a warm engine, when one runs
        if served is not None:
            return served
        with gcphases.paused():  # the engine's imports, too (see gcphases)
            return _main(given)
    return _main(given)


def _main(given: list[str]) -> int:
    args = parser().parse_args(given)
    try:
        code: int = args.func(args)
        return code
    except WorkflowError as exc:
        for d in exc.diagnostics:
            print(d.text(), file=sys.stderr)
        print(f"{len(exc.errors)} error(s); nothing was written", file=sys.stderr)
        return 2
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OrchestratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except BrokenPipeError:  # `orchestrator graph FILE | head`: the reader has had enough
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        print(f"error: {outpaths.describe(exc)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"error: `orchestrator {args.command}` needs the {extra!r} extra ({exc.name} is "
              f"not installed): pip install '{DISTRIBUTION}[{extra}]'", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: running jobs were stopped; finished stages are kept",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
