"""The one atomic writer: old bytes or new, and never a temporary file left behind."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pytest

from orchestrator.atomic import TMP, clean_temporaries, write_atomic, write_bytes_atomic


@pytest.mark.parametrize("interrupt", [OSError(28, "No space left on device"),
                                       KeyboardInterrupt()])
def test_an_interrupted_write_keeps_the_old_bytes_and_leaves_no_temporary(
        tmp_path: Path, interrupt: BaseException) -> None:
    """Regression: Ctrl-C (KeyboardInterrupt) mid-write left a .orch-tmp- file behind, which a
    killed local run then kept in its runs folder."""
    target = tmp_path / "run.json"
    write_bytes_atomic(target, b"old")

    def half(out: IO[bytes]) -> None:
        out.write(b"ne")
        raise interrupt

    with pytest.raises(type(interrupt)):
        write_atomic(target, half)

    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_temporaries_a_killed_writer_left_are_cleaned(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / f"{TMP}abc").write_bytes(b"half")
    (tmp_path / "runs" / "kept.json").write_bytes(b"{}")
    assert clean_temporaries(tmp_path) == 1
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["kept.json"]
