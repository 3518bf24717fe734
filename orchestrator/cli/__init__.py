"""The `orchestrator` command. Each group of commands lives in its own module with a
``register(subparsers)`` function; handlers return an exit code. Typed errors from library
code become one clear message and exit code 2 (bad input) or 1 (a failed run or AWS error):
never a traceback."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from orchestrator.errors import LoadError, OrchestratorError, WorkflowError

COMMAND_MODULES = ("build", "aws", "local", "batch", "doctor", "report", "status")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orchestrator",
        description="Compile Python workflows to AWS Step Functions + AWS Batch, deploy, run.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:  # a missing module is a bug: let the import fail
        importlib.import_module(f"orchestrator.cli.{name}").register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
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
    except KeyboardInterrupt:
        print("interrupted: running jobs were stopped; finished stages are kept",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
