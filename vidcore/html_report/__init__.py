"""A report to send: one self-contained HTML file of a run's evaluation.

``write_report(run_dir, out)`` gathers the figures (``content``), draws them
(``figures``), embeds frames of example mistakes as data URIs (``frames``) and
renders one page (``page``) with plotly.js inlined once, so the file opens offline
in any browser and makes no request outside itself.
"""

from vidcore.html_report.page import build_report, write_report

__all__ = ["build_report", "write_report"]
