"""Output and AWS errors shared by the commands that meet AWS: rich tables for people,
``--json`` for scripts, and boto3's exceptions as one line that says what to do. boto3 and rich
are imported when first used, not when the parser is built."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from orchestrator.aws.errors import AwsError, UsageError


def add_common(p: Any) -> None:
    p.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def session(region: str | None) -> Any:
    """A boto3 session per command: credentials and region are read now, not cached from
    earlier. botocore reads only AWS_DEFAULT_REGION; AWS_REGION (what the other SDKs read)
    counts too."""
    import boto3

    return boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)


def client(service: str, region: str | None) -> Any:
    with aws(f"creating the {service} client"):
        return session(region).client(service)


def dynamodb_table(region: str | None, name: str) -> Any:
    with aws("opening the job-state table"):
        return session(region).resource("dynamodb").Table(name)


@contextmanager
def aws(action: str) -> Iterator[None]:
    """boto3's exceptions as one-line errors with the fix."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    try:
        yield
    except NoRegionError:
        raise UsageError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) or pass "
                         "--region") from None
    except (NoCredentialsError, PartialCredentialsError):
        raise UsageError("no AWS credentials found: run `aws configure` or set AWS_PROFILE"
                         ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsError(f"{action}: {error.get('Code', 'error')}: "
                       f"{error.get('Message') or exc}") from None
    except BotoCoreError as exc:
        raise AwsError(f"{action}: {exc}") from None


def print_json(doc: Any) -> None:
    json.dump(doc, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    # Piped output (logs, grep, tests) is not folded at rich's 80-column default.
    console = Console(soft_wrap=False)
    if not console.is_terminal:
        console = Console(soft_wrap=False, width=max(console.width, 240))
    console.print(table)
