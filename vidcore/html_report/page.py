"""The report page: one HTML file with plotly.js, figures, frames and data all inside.

Rendered with Jinja2 (autoescaping: class names and paths are text, never markup);
the model card's markdown goes through markdown-it-py with raw HTML disabled. The
figures' numbers are also embedded as JSON (``<script id="report-data">``) for
anyone who wants to read them back with a script.
"""

from __future__ import annotations

import os
from pathlib import Path

from vidcore.html_report import figures
from vidcore.html_report.content import report_content
from vidcore.html_report.frames import clip_frames

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evaluation report: {{ c.run.name }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #212529; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #dee2e6; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #dee2e6; padding: 0.3em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #495057; font-size: 0.92em; }
.warn { background: #fff3bf; padding: 0.5em 0.8em; border-left: 4px solid #f08c00; }
.ok { background: #ebfbee; padding: 0.5em 0.8em; border-left: 4px solid #2f9e44; }
.strip img { margin-right: 3px; border-radius: 3px; vertical-align: middle; }
.card { background: #f8f9fa; padding: 0.2em 1em; border-radius: 6px; }
.card h1 { font-size: 1.25em; } .card h2 { font-size: 1.1em; border: none; }
</style>
<script>{{ plotly_js | safe }}</script>
</head>
<body>
<h1>Evaluation report: {{ c.run.name }}</h1>
<p>Head <b>{{ c.run.head }}</b> on <b>{{ c.run.backbone }}</b> features
{%- if c.run.preset %} (preset {{ c.run.preset }}){% endif %}. Its verdict
({{ verdict.label }}) is right on <b id="verdict-top1">{{ pct(verdict.top1) }}</b> of
{{ c.run.clips }} test clips of split {{ c.run.split }}; 95% interval
{{ pct(verdict.top1_ci[0]) }} to {{ pct(verdict.top1_ci[1]) }}.</p>
<p class="note">Made {{ c.made_at }} with vidcore {{ c.vidcore_version }} from
<code>{{ c.run.dir }}</code>.</p>

<h2>Dataset and split</h2>
<ul>
<li>dataset: <code>{{ c.dataset.path }}</code>{% if c.dataset.format %}
  ({{ c.dataset.format }}, split from {{ c.dataset.splits_source }}){% endif %}</li>
<li>{{ c.dataset.classes }} classes; split {{ c.dataset.split }}
{%- if c.dataset.readable %}: {{ c.dataset.train }} training clips from
  {{ c.dataset.groups.train }} recordings, {{ c.dataset.test }} test clips from
  {{ c.dataset.groups.test }} recordings{% endif %}</li>
{% if c.run.failed %}<li>{{ c.run.failed }} test clips could not be read and are not
  counted</li>{% endif %}
</ul>
{% if not c.dataset.readable %}
<p class="warn">The dataset could not be read here, so the split was not checked.</p>
{% elif c.dataset.leaking_groups %}
<p class="warn" id="leakage">Leakage: {{ c.dataset.leaking_groups }} recordings have clips on
both sides of the split ({{ c.dataset.leaking_group_names[:10] | join(", ") }}), so the test
figures are too kind.</p>
{% else %}
<p class="ok" id="leakage">Leakage check passed: no recording has clips on both sides of the
split (clips of one recording share actor and scene; validation is carved from training by
whole recordings too).</p>
{% endif %}

<h2>Accuracy, with 95% intervals</h2>
<table id="accuracy">
<tr><th>aggregator</th><th>top-1</th><th>95% interval</th><th>top-5</th>
<th>mean class accuracy</th><th>95% interval</th></tr>
{% for a in c.aggregators %}
<tr><td>{{ a.label }}{% if a.primary %} (verdict){% endif %}</td>
<td class="num">{{ pct(a.top1) }}</td>
<td class="num">{{ pct(a.top1_ci[0]) }} to {{ pct(a.top1_ci[1]) }}</td>
<td class="num">{{ pct(a.top5) }}</td><td class="num">{{ pct(a.mean_class_accuracy) }}</td>
<td class="num">{{ pct(a.mean_class_accuracy_ci[0]) }} to
  {{ pct(a.mean_class_accuracy_ci[1]) }}</td></tr>
{% endfor %}
</table>
<p class="note">Intervals: seeded percentile bootstrap that resamples whole recordings, not
clips, since clips of one recording are not independent. Another test set of this many
recordings would land within them 95 times in 100.</p>
{{ fig.intervals | safe }}

<h2>Calibration: does "90% sure" mean right nine times in ten?</h2>
<table id="calibration">
<tr><th>aggregator</th><th>ECE</th><th>temperature</th><th>ECE after temperature</th></tr>
{% for e in c.calibration %}
<tr><td>{{ e.aggregator }}</td><td class="num">{{ "%.3f" | format(e.ece) }}</td>
<td class="num">{{ "%.3f" | format(e.temperature) if e.temperature else "none fitted" }}</td>
<td class="num">{% if e.ece_calibrated is not none %}{{ "%.3f" | format(e.ece_calibrated) }}
{%- elif e.temperature %}not measured: evaluate the run again{% else %}-{% endif %}</td></tr>
{% endfor %}
</table>
<p class="note">Expected calibration error: the test clips are put in 15 equal-width bins of
shown confidence; ECE is the clip-weighted mean gap between a bin's share right and its mean
confidence (0 = the confidence means what it says). The mode vote's confidence is the share of
frames that voted, not a probability. Temperatures are fitted on the validation recordings.</p>
{{ fig.reliability | safe }}

<h2>Confusion matrix ({{ c.confusion.aggregator }})</h2>
{% for caption, html in fig.confusion %}<p class="note">{{ caption }}: rows true class,
columns predicted; blue right, red mistaken, white no clip.</p>{{ html | safe }}{% endfor %}

<h2>Most confused pairs</h2>
{% if not pairs %}<p>No mistakes: every test clip is right.</p>{% else %}
<table id="pairs">
<tr><th>true class</th><th>taken for</th><th>clips</th><th>share of the class</th>
<th>example mistakes (frames, confidence)</th></tr>
{% for p in pairs %}
<tr><td>{{ p.true }}</td><td>{{ p.predicted }}</td><td class="num">{{ p.clips }}</td>
<td class="num">{{ pct(p.share) }}</td><td>
{% for ex in p.examples %}<div class="strip" title="{{ ex.path }}">
{% for uri in ex.frames %}<img src="{{ uri }}" alt="frame of {{ ex.path }}">{% endfor %}
{% if not ex.frames %}<span class="note">(clip not found here)</span>{% endif %}
<span class="note">{{ ex.path }}, {{ pct(ex.confidence) }}</span></div>{% endfor %}
</td></tr>
{% endfor %}
</table>{% endif %}

<h2>Accuracy per class ({{ c.confusion.aggregator }})</h2>
{{ fig.per_class | safe }}

<h2>Model card</h2>
<div class="card">{{ card | safe }}</div>

<p class="note">Made {{ c.made_at }} with vidcore {{ c.vidcore_version }}.</p>
<script type="application/json" id="report-data">{{ data | tojson }}</script>
</body>
</html>
"""


def _figure_html(fig, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config=PLOTLY_CONFIG)


def _figures(content: dict) -> dict:
    return {"intervals": _figure_html(figures.interval_bars(content["aggregators"]),
                                      "fig-intervals"),
            "reliability": _figure_html(figures.reliability_figure(content["calibration"]),
                                        "fig-reliability"),
            "confusion": [(caption, _figure_html(f, f"fig-confusion-{i}")) for i, (caption, f)
                          in enumerate(figures.confusion_figures(content["confusion"]))],
            "per_class": _figure_html(figures.class_accuracy_figure(content["per_class"]),
                                      "fig-per-class")}


def _with_frames(pairs: list[dict], root: str | None) -> list[dict]:
    """The confused pairs with each example's frames as data URIs ([] when unreadable)."""
    return [{**p, "examples": [{**ex, "frames": clip_frames(Path(root) / ex["path"])
                                if root else []} for ex in p["examples"]]} for p in pairs]


def render(content: dict) -> str:
    """The HTML page of a ``report_content`` result."""
    from jinja2 import Environment
    from markdown_it import MarkdownIt
    from plotly.offline import get_plotlyjs

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    verdict = next(a for a in content["aggregators"] if a["primary"])
    return env.from_string(TEMPLATE).render(
        c=content, verdict=verdict, fig=_figures(content),
        pairs=_with_frames(content["confused_pairs"], content["dataset"].get("root")),
        card=MarkdownIt("commonmark", {"html": False}).enable("table").render(
            content["model_card"]),
        plotly_js=get_plotlyjs(), data=content, pct=lambda v: f"{v:.1%}")


def build_report(run_dir: str | os.PathLike, split: int | None = None) -> str:
    """The self-contained HTML report of an evaluated run.

    Raises:
        RunError: the run is not evaluated (on ``split``) or its recordings are unknown.
    """
    return render(report_content(run_dir, split))


def write_report(run_dir: str | os.PathLike, out: str | os.PathLike,
                 split: int | None = None) -> Path:
    """Write the report of a run to ``out`` (atomically) and return its path.

    Raises:
        RunError: as ``build_report``.
        InputError: ``out`` cannot be written.
    """
    from vidcore.errors import InputError
    from vidcore.runs import write_text

    html = build_report(run_dir, split)
    out = Path(out).expanduser()
    try:
        write_text(out, html)
    except OSError as err:
        raise InputError(f"cannot write the report to {out}: {err.strerror}; choose another "
                         "--out path") from err
    return out
