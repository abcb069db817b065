"""Sales analytics: the funnel, where the time goes, speed to lead and 30-day coverage,
the sequences that convert, and money per event and campaign.

The public face: :func:`build_report` returns the whole report as plain data (what
``nurture report --json`` prints and the web app's analytics page shows);
:func:`render_html` makes the self-contained HTML report and :func:`chart_fragments`
the charts alone (inline SVG) for pages that lay them out themselves. The submodule
:mod:`nurture.analytics.history` simulates histories with planted truths.
"""

from nurture.analytics.charts import CHARTS, chart_fragments
from nurture.analytics.html import render_html
from nurture.analytics.report import (
    REPORT_KEYS,
    Facts,
    build_report,
    read_facts,
    report_from_facts,
)
from nurture.analytics.sequences import MiningOptions, mine, wilson
from nurture.analytics.speed import INDUSTRY_30D

__all__ = [
    "CHARTS",
    "INDUSTRY_30D",
    "REPORT_KEYS",
    "Facts",
    "MiningOptions",
    "build_report",
    "chart_fragments",
    "mine",
    "read_facts",
    "render_html",
    "report_from_facts",
    "wilson",
]
