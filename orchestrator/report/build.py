"""The run report as one self-contained HTML page: inline CSS and inline SVG, no scripts, no
network. Every string that comes from the run (ids, sample names, reasons) is escaped."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape

from orchestrator.report import stats
from orchestrator.report.model import ReportInput
from orchestrator.report.prices import PRICE_SOURCE, Prices

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px 32px;
color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid #d0d7de;padding-bottom:4px}
.sub{color:#59636e;margin-bottom:14px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:130px}
.card b{display:block;font-size:18px}.card .l{color:#59636e;font-size:12px}
table{border-collapse:collapse;margin-top:4px}
th,td{border-bottom:1px solid #e5e8eb;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.status{font-weight:600}.SUCCEEDED{color:#1a7f37}.FAILED,.TIMED_OUT,.ABORTED{color:#cf222e}
.RUNNING,.INTERRUPTED{color:#9a6700}
.reason{font-family:ui-monospace,Menlo,monospace;font-size:12px;white-space:pre-wrap;
word-break:break-word;max-width:760px}
.note{color:#59636e;font-size:12px}
details.error{border-left:3px solid #cf222e;padding:2px 10px;margin:0 0 12px}
details.error summary{cursor:pointer;color:#cf222e}details.error p{margin:4px 0}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;
border-radius:2px}
"""

DASH = "\u2013"  # an en dash: no value

COLORS = {"succeeded": "#2da44e", "failed": "#cf222e", "retried": "#fb8f44",
          "running": "#54aeff"}

LABEL_W, CHART_W, ROW_H, AXIS_H = 230, 940, 20, 26


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if t else DASH


def _money(x: Decimal | None) -> str:
    if x is None:
        return DASH
    return f"${x:.4f}" if x < 1 else f"${x:,.2f}"


def _hours(x: float | None) -> str:
    return DASH if x is None else f"{x:.4f}"


def _card(value: str, label: str) -> str:
    return f'<div class="card"><b>{value}</b><span class="l">{label}</span></div>'


def _summary(run: ReportInput, prices: Prices) -> str:
    use = stats.usage(run, prices)
    wall = ((run.ended - run.started).total_seconds()
            if run.started and run.ended else None)
    ran = sum(1 for j in run.jobs if j.attempts)
    n_skipped = sum(1 for j in run.jobs if j.status == "SKIPPED")
    attempts = sum(len(j.attempts) for j in run.jobs)
    cards = [
        _card(f'<span class="status {_e(run.status)}">{_e(run.status)}</span>', "status"),
        _card(_dur(wall), "wall time"),
        _card(f"{ran} / {n_skipped}", "jobs run / skipped"),
        _card(str(attempts), "attempts"),
        _card(_hours(use.vcpu_hours), "vCPU-hours"),
        _card(_hours(use.gpu_hours), "GPU-hours"),
        _card(DASH if use.transitions is None else f"{use.transitions:,}", "state transitions"),
        _card(_money(use.transitions_cost), "transitions cost"),
        _card(_money(use.batch_cost), "Batch compute cost"),
    ]
    notes = [f"Transition cost at ${prices.transitions_per_1000} per 1,000 ({PRICE_SOURCE})."]
    if use.transitions is None:
        notes.append("This run's record holds no state-transition count.")
    if use.unsized_attempts:
        notes.append(f"{use.unsized_attempts} attempt(s) of jobs whose vCPUs are unknown (the "
                     "workflow file was not found) are not counted in the hours.")
    if use.batch_cost is None and prices.vcpu_hour is not None:
        notes.append("Batch compute cost: unknown without the jobs' vCPUs.")
    elif use.batch_cost is None:
        notes.append("Batch compute cost: give a price per vCPU-hour "
                     "(--vcpu-hour-price) to see it.")
    else:
        notes.append(f"Batch compute cost at ${prices.vcpu_hour} per vCPU-hour.")
    if use.untimed_attempts:
        notes.append(f"{use.untimed_attempts} attempt(s) without recorded start/stop times "
                     "are not counted in the hours.")
    return (f'<div class="cards">{"".join(cards)}</div>'
            f'<p class="note">{_e(" ".join(notes))}</p>')


def _ticks(total: float) -> list[float]:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400,
                 21600, 43200, 86400):
        if total / step <= 10:
            break
    return [i * step for i in range(int(total // step) + 1)]


def _timeline(run: ReportInput) -> str:
    bars = stats.bars(run)
    extent = stats.span(run)
    if not bars or extent is None:
        return '<p class="note">No job attempts to show.</p>'
    t0, t1 = extent
    total = (t1 - t0).total_seconds()
    rows = max(b.row for b in bars) + 1
    height = AXIS_H + rows * ROW_H + 8
    width = LABEL_W + CHART_W + 20

    def x(t: datetime) -> float:
        return LABEL_W + (t - t0).total_seconds() / total * CHART_W

    parts = [f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="timeline of job attempts">',
             '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eaeef2"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#8c959f" stroke-width="3"/>'
             '</pattern></defs>']
    for tick in _ticks(total):
        tx = LABEL_W + tick / total * CHART_W
        parts.append(f'<line x1="{tx:.1f}" y1="{AXIS_H - 6}" x2="{tx:.1f}" y2="{height - 8}" '
                     'stroke="#eaeef2"/>')
        parts.append(f'<text x="{tx:.1f}" y="{AXIS_H - 10}" text-anchor="middle">'
                     f'{_e(_dur(tick).replace(".0 s", " s"))}</text>')
    labels: dict[int, str] = {}
    for b in bars:
        labels.setdefault(b.row, b.job.key)
    for row, label in labels.items():
        y = AXIS_H + row * ROW_H
        if row % 2:
            parts.append(f'<rect x="0" y="{y}" width="{width}" height="{ROW_H}" '
                         'fill="#f6f8fa"/>')
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{LABEL_W - 8}" y="{y + ROW_H - 6}" text-anchor="end">'
                     f'<title>{_e(label)}</title>{_e(short)}</text>')
    for b in bars:
        y = AXIS_H + b.row * ROW_H + 3
        x0 = x(b.start)
        w = max(2.0, x(b.end) - x0)
        fill = "url(#hatch)" if b.estimated else COLORS[b.outcome]
        secs = b.attempt.seconds
        tip = (f"{b.job.key} attempt {b.attempt.number}: {b.outcome}"
               + (f", {_dur(secs)}" if secs is not None else "")
               + (f", exit code {b.attempt.exit_code}" if b.attempt.exit_code is not None
                  else "")
               + (f" ({b.attempt.reason})" if b.attempt.reason else "")
               + (" — times not recorded; drawn in the gap before the next attempt"
                  if b.estimated else ""))
        stroke = f' stroke="{COLORS[b.outcome]}" stroke-width="1.5"' if b.estimated else ""
        parts.append(f'<rect class="bar {b.outcome}" data-job="{_e(b.job.key)}" '
                     f'data-attempt="{b.attempt.number}" x="{x0:.1f}" y="{y}" '
                     f'width="{w:.1f}" height="{ROW_H - 6}" rx="2" fill="{fill}"{stroke}>'
                     f'<title>{_e(tip)}</title></rect>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{c}"></i>{name}</span>'
                     for name, c in COLORS.items())
    legend += ('<span><i style="background:repeating-linear-gradient(45deg,#8c959f 0 2px,'
               '#eaeef2 2px 5px)"></i>times not recorded</span>')
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def _stage_table(run: ReportInput) -> str:
    head = ("<tr><th>stage</th><th>jobs</th><th>succeeded</th><th>failed</th><th>skipped</th>"
            "<th>attempts</th><th>min</th><th>median</th><th>mean</th><th>max</th>"
            "<th>total</th></tr>")
    rows = [f"<tr><td>{_e(s.stage)}</td><td class=n>{s.jobs}</td>"
            f"<td class=n>{s.succeeded}</td><td class=n>{s.failed}</td>"
            f"<td class=n>{s.skipped}</td><td class=n>{s.attempts}</td>"
            f"<td class=n>{_dur(s.min_s)}</td><td class=n>{_dur(s.median_s)}</td>"
            f"<td class=n>{_dur(s.mean_s)}</td><td class=n>{_dur(s.max_s)}</td>"
            f"<td class=n>{_dur(s.total_s if s.timed else None)}</td></tr>"
            for s in stats.stage_stats(run)]
    return f'<table id="stages">{head}{"".join(rows)}</table>'


def _failures(run: ReportInput) -> str:
    fails = stats.failures(run)
    if not fails:
        return '<p class="note">No attempt failed.</p>'
    head = "<tr><th>job</th><th>attempt</th><th>exit code</th><th>reason</th></tr>"
    rows = [f'<tr><td>{_e(f.key)}</td><td class=n>{f.attempt or DASH}'
            f'{"" if f.final else " (retried)"}</td>'
            f'<td class=n>{DASH if f.exit_code is None else f.exit_code}</td>'
            f'<td class="reason">{_e(f.reason or "no reason recorded")}</td></tr>'
            for f in fails]
    return f'<table id="failures">{head}{"".join(rows)}</table>'


def _skipped(run: ReportInput) -> str:
    skipped = stats.skipped(run)
    if not skipped:
        return '<p class="note">Nothing was skipped.</p>'
    rows = [f"<tr><td>{_e(stage)}</td><td class=n>{len(samples)}</td>"
            f"<td>{_e(', '.join(s or '(whole stage)' for s in samples))}</td></tr>"
            for stage, samples in skipped.items()]
    return ('<table id="skipped"><tr><th>stage</th><th>skipped</th><th>samples '
            '(outputs already complete; job not submitted)</th></tr>'
            f'{"".join(rows)}</table>')


def build_report(run: ReportInput, prices: Prices) -> str:
    """The whole page, deterministic for a given input."""
    error = ""
    if run.error or run.cause:  # folded when long: the cause can list every failed sample
        fold = "" if len(run.cause) <= 300 else " (click for the cause)"
        error = (f'<details class="error"{" open" if not fold else ""}><summary>'
                 f'<b>{_e(run.error or "error")}</b>{fold}</summary>'
                 f'<p class="reason">{_e(run.cause)}</p></details>')
    title = f"{run.workflow} run {run.run_id}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{_e(run.workflow)} <span class=note>run {_e(run.run_id)}</span></h1>"
        f'<div class="sub">started {_e(_when(run.started))} · ended {_e(_when(run.ended))}'
        "</div>"
        f"{error}{_summary(run, prices)}"
        f"<h2>Timeline (one bar per job attempt)</h2>{_timeline(run)}"
        f"<h2>Stages</h2>{_stage_table(run)}"
        f"<h2>Failures</h2>{_failures(run)}"
        f"<h2>Skipped</h2>{_skipped(run)}"
        "</body></html>\n"
    )
