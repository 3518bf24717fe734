"""Deploy with the AWS SAM CLI: check it can work, then `sam build` and `sam deploy`.

The CLI stages template.yaml, the definitions, the function code and the layer in one folder
(.orchestrator/sam/) so a deploy works from any project, not only from this repository.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestrator.aws.errors import AwsError, UsageError

SAM_INSTALL = ("install the AWS SAM CLI (pip install aws-sam-cli, or see https://docs.aws.amazon"
               ".com/serverless-application-model/latest/developerguide/install-sam-cli.html)")


def require_sam() -> str:
    path = shutil.which("sam")
    if path is None:
        raise UsageError(f"the `sam` command was not found: {SAM_INSTALL}")
    return path


def require_credentials(session: Any) -> None:
    """``session`` is a boto3 Session; no credentials means sam deploy would fail late."""
    if session.get_credentials() is None:
        raise UsageError("no AWS credentials found: run `aws configure` (or `aws sso login`), "
                         "or set AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def commands(sam: str, stack_name: str, *, guided: bool,
             parameters: Sequence[str] = (), region: str | None = None) -> list[list[str]]:
    """The sam invocations, in order. A guided deploy asks for parameters and saves them in
    samconfig.toml next to the staged template, so later deploys reuse them."""
    build = [sam, "build", "--template-file", "template.yaml"]
    deploy = [sam, "deploy", "--stack-name", stack_name, "--capabilities", "CAPABILITY_IAM"]
    if guided:
        deploy.append("--guided")
    else:
        deploy += ["--resolve-s3", "--no-confirm-changeset", "--no-fail-on-empty-changeset"]
    if region:  # sam, like botocore, would not read AWS_REGION by itself
        deploy += ["--region", region]
    if parameters:
        deploy += ["--parameter-overrides", *parameters]
    return [build, deploy]


def run(argvs: Sequence[Sequence[str]], cwd: Path) -> None:
    """Run each command in ``cwd`` with the terminal attached; stop at the first failure."""
    for argv in argvs:
        result = subprocess.run(list(argv), cwd=cwd, check=False)
        if result.returncode != 0:
            raise AwsError(f"`sam {argv[1]}` failed (exit {result.returncode}); its output is "
                           f"above. The staged files are in {cwd}")
