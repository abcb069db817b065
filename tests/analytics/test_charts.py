"""The report's charts: a legend never covers the bars it explains."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from sqlalchemy.orm import Session

from nurture.analytics import CHARTS, build_report, history


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_legend_lies_over_its_plot(planted_session: Session, planted: history.History) -> None:
    report = build_report(planted_session, since=planted.start, until=planted.until)
    legends = 0
    for name, draw in CHARTS.items():
        fig = draw(report, "en")
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            legends += 1
            box, plot = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
            assert not box.overlaps(plot), f"the legend of {name} covers the plot"
    assert legends >= 5
