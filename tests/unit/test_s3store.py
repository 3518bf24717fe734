"""The local bucket on disk (orchestrator/local/s3store.py): durable, atomic, in place."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.s3.models import s3_backends

from orchestrator import atomic
from orchestrator.local import s3store

BUCKET = "kept"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def open_bucket(root: Path, data: tuple[Path, str] | None = None) -> object:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    store = s3store.DiskKeyStore(
        root, bucket_name=BUCKET, account_id=ACCOUNT, region_name="us-east-1", data=data,
        ephemeral=lambda k: k.startswith("tmp/"), etag_cache=root.parent / "etags.json")
    s3store.attach(BUCKET, store)
    return s3


def test_plain_moto_forgets_objects_when_the_process_ends(tmp_path: Path) -> None:
    """The gap (moto.md 13): without the store nothing survives."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        with pytest.raises(ClientError):
            s3.head_bucket(Bucket=BUCKET)


def test_objects_are_files_the_moment_they_are_put_and_survive_a_restart(
        tmp_path: Path) -> None:
    root = tmp_path / "s3"
    with mock_aws():
        s3 = open_bucket(root)
        s3.put_object(Bucket=BUCKET, Key="w/out/a.txt", Body=b"hello")  # type: ignore[attr-defined]
        assert (root / "w/out/a.txt").read_bytes() == b"hello"  # before the run ends
        s3.put_object(Bucket=BUCKET, Key="tmp/task.json", Body=b"{}")  # type: ignore[attr-defined]
        assert not (root / "tmp").exists()
    with mock_aws():
        s3 = open_bucket(root)
        got = s3.get_object(Bucket=BUCKET, Key="w/out/a.txt")  # type: ignore[attr-defined]
        assert got["Body"].read() == b"hello"
        assert got["ETag"] == '"' + hashlib.md5(b"hello").hexdigest() + '"'
        keys = [o["Key"] for o in s3.list_objects_v2(  # type: ignore[attr-defined]
            Bucket=BUCKET)["Contents"]]
        assert keys == ["w/out/a.txt"]
        s3.delete_object(Bucket=BUCKET, Key="w/out/a.txt")  # type: ignore[attr-defined]
        assert not (root / "w/out/a.txt").exists()


def test_multipart_etag_is_kept_across_restarts(tmp_path: Path) -> None:
    root = tmp_path / "s3"
    body = os.urandom(6 * 1024 * 1024)
    with mock_aws():
        s3 = open_bucket(root)
        up = s3.create_multipart_upload(Bucket=BUCKET, Key="big")  # type: ignore[attr-defined]
        parts = []
        for n, chunk in enumerate((body[:5 * 1024 * 1024], body[5 * 1024 * 1024:]), 1):
            r = s3.upload_part(Bucket=BUCKET, Key="big",  # type: ignore[attr-defined]
                               UploadId=up["UploadId"], PartNumber=n, Body=chunk)
            parts.append({"ETag": r["ETag"], "PartNumber": n})
        etag = s3.complete_multipart_upload(  # type: ignore[attr-defined]
            Bucket=BUCKET, Key="big", UploadId=up["UploadId"],
            MultipartUpload={"Parts": parts})["ETag"]
        assert etag.endswith('-2"')
    with mock_aws():
        s3 = open_bucket(root)
        head = s3.head_object(Bucket=BUCKET, Key="big")  # type: ignore[attr-defined]
        assert head["ETag"] == etag and head["ContentLength"] == len(body)


def test_data_folder_is_served_in_place_read_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "s1").mkdir(parents=True)
    (data / "s1" / "r1.fq").write_bytes(b"ACGT")
    root = tmp_path / "s3"
    with mock_aws():
        s3 = open_bucket(root, data=(data, "w"))
        got = s3.get_object(Bucket=BUCKET, Key="w/s1/r1.fq")  # type: ignore[attr-defined]
        assert got["Body"].read() == b"ACGT"
        s3.delete_object(Bucket=BUCKET, Key="w/s1/r1.fq")  # type: ignore[attr-defined]
    assert (data / "s1" / "r1.fq").read_bytes() == b"ACGT"  # never the user's file
    assert not list(root.rglob("r1.fq"))  # no duplicate


def test_kept_duplicates_of_data_files_are_removed(tmp_path: Path) -> None:
    """Workspaces of the copy-back engine held a copy of every input; the data folder wins."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "big").write_bytes(b"new input")
    root = tmp_path / "s3"
    (root / "w").mkdir(parents=True)
    (root / "w" / "big").write_bytes(b"old copy")
    (root / "w" / "out").write_bytes(b"an output")
    with mock_aws():
        s3 = open_bucket(root, data=(data, "w"))
        got = s3.get_object(Bucket=BUCKET, Key="w/big")  # type: ignore[attr-defined]
        assert got["Body"].read() == b"new input"
    assert sorted(p.name for p in (root / "w").iterdir()) == ["out"]
    assert (data / "big").read_bytes() == b"new input"


def test_data_etags_are_cached_by_size_and_mtime(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "x").write_bytes(b"1234")
    for _ in range(2):
        with mock_aws():
            s3 = open_bucket(tmp_path / "s3", data=(data, ""))
            s3.head_object(Bucket=BUCKET, Key="x")  # type: ignore[attr-defined]
            bucket_keys = s3_backends[ACCOUNT]["aws"].buckets[BUCKET].keys
            assert isinstance(bucket_keys, s3store.DiskKeyStore)
            bucket_keys.cache.save()
        monkeypatch.setattr(s3store, "md5_file", lambda p: pytest.fail("hashed again"))


def test_temporary_files_are_never_objects_and_are_cleaned_on_open(tmp_path: Path) -> None:
    root = tmp_path / "s3"
    (root / "w").mkdir(parents=True)
    (root / "w" / "a").write_bytes(b"kept")
    (root / "w" / f"{atomic.TMP}123").write_bytes(b"half")
    with mock_aws():
        s3 = open_bucket(root)
        keys = [o["Key"] for o in s3.list_objects_v2(  # type: ignore[attr-defined]
            Bucket=BUCKET)["Contents"]]
    assert keys == ["w/a"]
    assert sorted(p.name for p in (root / "w").iterdir()) == ["a"]


class Killed(BaseException):
    """A simulated kill: no `except Exception` cleanup runs, as after SIGKILL."""


_STEPS = ("open", "write", "fsync", "replace")


def _count_steps(root: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int | None,
                 exc: BaseException) -> int:
    """Put ``w/a`` = b"new"*N through the store; raise ``exc`` at syscall ``fail_at``."""
    seen = [0]

    def hook(name: str, real: object) -> object:
        def wrapped(*a: object, **k: object) -> object:
            seen[0] += 1
            if fail_at is not None and seen[0] == fail_at:
                raise exc
            return real(*a, **k)  # type: ignore[operator]
        return wrapped

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", hook("fsync", os.fsync))
        m.setattr(os, "replace", hook("replace", os.replace))
        real_open = open

        def opener(file: object, mode: str = "r", *a: object, **k: object) -> object:
            if "x" in mode:
                seen[0] += 1
                if fail_at is not None and seen[0] == fail_at:
                    raise exc
            return real_open(file, mode, *a, **k)  # type: ignore[call-overload]

        m.setattr(atomic, "open", opener, raising=False)
        with mock_aws():
            s3 = open_bucket(root)
            with contextlib.suppress(ClientError, Killed, OSError):
                s3.put_object(Bucket=BUCKET, Key="w/a",  # type: ignore[attr-defined]
                              Body=b"new" * 1000)
    return seen[0]


@settings(max_examples=16, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(step=st.integers(min_value=1, max_value=12), enospc=st.booleans())
def test_a_write_killed_or_failing_at_any_step_keeps_old_or_new_bytes(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        step: int, enospc: bool) -> None:
    root = tmp_path_factory.mktemp("kill") / "s3"
    (root / "w").mkdir(parents=True)
    (root / "w" / "a").write_bytes(b"old")
    (root / "w" / "b").write_bytes(b"other")
    exc: BaseException = OSError(errno.ENOSPC, "No space left on device") if enospc \
        else Killed()
    _count_steps(root, monkeypatch, step, exc)
    with mock_aws():  # the next run
        s3 = open_bucket(root)
        a = s3.get_object(Bucket=BUCKET, Key="w/a")  # type: ignore[attr-defined]
        body = a["Body"].read()
        assert body in (b"old", b"new" * 1000)
        assert a["ETag"].strip('"') == hashlib.md5(body).hexdigest()
        assert s3.get_object(Bucket=BUCKET,  # type: ignore[attr-defined]
                             Key="w/b")["Body"].read() == b"other"
    leftovers = [p for p in root.rglob("*") if p.name.startswith(atomic.TMP)]
    assert leftovers == []


def test_unwritable_folder_fails_the_put_and_keeps_the_old_object(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "s3"
    (root / "w").mkdir(parents=True)
    (root / "w" / "a").write_bytes(b"old")
    if os.geteuid() == 0:  # root ignores folder modes: the kernel's answer, simulated
        real_open = open

        def refuse(file: object, mode: str = "r", *a: object, **k: object) -> object:
            if "x" in mode and Path(str(file)).parent == root / "w":
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, mode, *a, **k)  # type: ignore[call-overload]

        monkeypatch.setattr(atomic, "open", refuse, raising=False)
    os.chmod(root / "w", 0o555)
    try:
        with mock_aws():
            s3 = open_bucket(root)
            with pytest.raises((ClientError, OSError)):  # in-process moto re-raises
                s3.put_object(Bucket=BUCKET, Key="w/a", Body=b"new")  # type: ignore[attr-defined]
            assert s3.get_object(Bucket=BUCKET,  # type: ignore[attr-defined]
                                 Key="w/a")["Body"].read() == b"old"
    finally:
        os.chmod(root / "w", 0o755)
    assert (root / "w" / "a").read_bytes() == b"old"


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from orchestrator.local import s3store
    path = Path(sys.argv[1])
    n = 0
    print("ready", flush=True)
    while True:
        n += 1
        body = bytes([n % 251]) * (1 << 20)
        s3store.write_bytes_atomic(path, body)
""")


@settings(max_examples=6, deadline=None)
@given(delay=st.floats(min_value=0.05, max_value=0.6))
def test_sigkill_during_writes_leaves_a_whole_file(tmp_path_factory: pytest.TempPathFactory,
                                                   delay: float) -> None:
    folder = tmp_path_factory.mktemp("sigkill")
    target = folder / "obj"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if target.exists():
        body = target.read_bytes()
        assert len(body) == 1 << 20 and len(set(body)) == 1
    atomic.clean_temporaries(folder)
    assert [p.name for p in folder.iterdir()] in ([], ["obj"])
