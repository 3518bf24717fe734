"""The HTML run report in a real headless browser (Debian's ``chromium``, installed by
scripts/dev-setup.sh when run as root): the page renders, the timeline holds one bar per
attempt, the console stays silent, and a PNG screenshot is written.

Set REPORT_SCREENSHOT=/some/file.png to keep the screenshot for a look."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from orchestrator.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "runrecords" / "failed_run.json"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",  # CI installs it: never skip there
    reason="chromium is not installed: run scripts/dev-setup.sh as root "
           "(apt-get install chromium) to test the HTML report in a browser")


def _chromium(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *FLAGS, *args, page.as_uri()], capture_output=True,
                          text=True, timeout=90, cwd=page.parent)


def _png_pixels(png: bytes) -> tuple[int, int, bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    data, pos = b"", 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        if png[pos + 4:pos + 8] == b"IDAT":
            data += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, zlib.decompress(data)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    runs = tmp_path / "ws" / "runs"
    runs.mkdir(parents=True)
    (runs / "20261201-090000-abc123.json").write_text(FIXTURE.read_text())
    out = tmp_path / "report.html"
    assert main(["report", "20261201-090000-abc123", "--workdir", str(tmp_path / "ws"),
                 "-o", str(out), "--vcpu-hour-price", "0.04"]) == 0
    return out


def test_report_renders_in_chromium(report: Path) -> None:
    dom = _chromium(report, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines()
               if ":CONSOLE" in line or "Uncaught" in line]
    assert console == []
    assert "<h1>demo" in dom.stdout
    bars = re.findall(r'<rect class="bar (\w+)" data-job="([^"]*)" data-attempt="(\d+)"',
                      dom.stdout)
    # 1 + 2 + 3 attempts of align, 1 + 1 of call; skipped jobs have no bar
    assert len(bars) == 8
    assert sum(1 for b in bars if b[1].startswith("align/&lt;script&gt;")) == 3
    assert "<script" not in dom.stdout  # the hostile sample id stayed text

    png = report.with_suffix(".png")
    shot = _chromium(report, f"--screenshot={png}", "--window-size=1400,1000",
                     "--hide-scrollbars")
    assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
    width, height, pixels = _png_pixels(png.read_bytes())
    assert (width, height) == (1400, 1000)
    assert len(set(pixels)) > 20  # drawn, not a blank page
    keep = os.environ.get("REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(png, keep)
