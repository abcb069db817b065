"""Sales analytics: the funnel, where the time goes, speed to lead and 30-day coverage,
the sequences that convert, and money per event and campaign.

The public face: :func:`build_report` returns the whole report as plain data (what
``nurture report --json`` prints and the web app's analytics page shows);
:func:`render_html` makes the self-contained HTML report and :func:`chart_fragments`
the charts alone (inline SVG) for pages that lay them out themselves.
"""

from nurture.analytics.report import REPORT_KEYS, build_report, report_from_facts
from nurture.analytics.sequences import MiningOptions, mine, wilson

__all__ = [
    "REPORT_KEYS",
    "MiningOptions",
    "build_report",
    "mine",
    "report_from_facts",
    "wilson",
]
