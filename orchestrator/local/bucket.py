"""The workspace's bucket for reading, without starting the engine: `orchestrator plan --local`.

The bucket is opened exactly as a run opens it (:meth:`Workspace.open_store`: objects kept on
disk, the data folder served in place, the same ETags) behind moto in this process (no server,
no stack), so S3 calls see what a run's check function would see. Opening the store tidies the
workspace (temporary files of an interrupted run), so it happens under the workspace lock: a
plan waits for no run and is refused while one holds the workspace, like a second run. A
workspace that has no bucket yet is not created: an empty folder stands in for it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import boto3
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID

from orchestrator import model
from orchestrator.local import runlock, s3store, workspace

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION: Final = "us-east-1"
# Variables that would send the client elsewhere or make it look for a profile.
_CLEARED: Final = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL",
                   "AWS_ENDPOINT_URL_S3")


@contextlib.contextmanager
def _environment() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in _CLEARED if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.contextmanager
def open_kept(root: Path, wf: model.Workflow, data_dir: Path | None, *,
              wait: bool = False) -> Iterator[S3Client]:
    """An S3 client whose bucket ``wf.bucket_name`` is the workspace's kept bucket (with the
    data folder's files in place), for the duration of the block."""
    space = workspace.Workspace(root, wf.bucket_name)
    with contextlib.ExitStack() as stack:
        if space.mirror.is_dir():
            stack.enter_context(runlock.hold(root, f"plan-{os.getpid()}", wf.name, wait=wait))
        else:
            space = workspace.Workspace(Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="orch-plan-"))), wf.bucket_name)
        stack.enter_context(_environment())
        stack.enter_context(mock_aws())
        s3 = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing",
            region_name=REGION).client("s3", endpoint_url=f"https://s3.{REGION}.amazonaws.com")
        s3.create_bucket(Bucket=wf.bucket_name)
        store = space.open_store(prefix=wf.bucket_prefix, data_dir=data_dir,
                                 account_id=DEFAULT_ACCOUNT_ID, region_name=REGION)
        s3store.attach(wf.bucket_name, store)
        try:
            yield s3
        finally:
            store.cache.save()
