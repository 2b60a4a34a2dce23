"""SVG charts and the page shell: escaping, empty data, one mark per datum, nothing external."""

from __future__ import annotations

import re

from journeyline.quality.data_docs import external_requests, offline_page
from journeyline.reports import charts
from journeyline.reports.html import page, section, table


def marks(svg: str) -> int:
    return len(re.findall(r'class="mark', svg))


def test_labels_are_escaped_and_every_datum_is_one_mark() -> None:
    svg = charts.bar_chart([("<script>x</script>", 3.0), ("b & c", 1.0)], label="a < b")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "b &amp; c" in svg
    assert marks(svg) == 2
    assert 'data-chart="bar"' in svg


def test_charts_without_data_say_so_instead_of_drawing() -> None:
    assert charts.bar_chart([], label="Alerts").startswith('<p class="empty">')
    assert "no data" in charts.sankey([["a"], ["b"]], [("a", "b", 0)], label="Flow")
    assert "no data" in charts.line_chart(["r1"], {"s": [None]}, label="Trend")


def test_sankey_draws_a_band_per_link_and_a_node_per_stage() -> None:
    svg = charts.sankey(
        [["start"], ["lead"], ["customer"], ["lost"]],
        [("start", "lead", 10), ("lead", "customer", 3), ("lead", "lost", 5)],
        label="Flow",
    )
    assert svg.count("<path") == 3
    assert marks(svg) == 3 + 4  # three bands, four nodes
    assert "lead → lost: 5" in svg


def test_a_page_references_nothing_outside_itself() -> None:
    html = page(
        "t",
        "s",
        [
            (
                "a",
                "A",
                section(
                    "A",
                    table(["x"], [[1]]) + charts.funnel_chart([("v", 2), ("l", 1)], label="F"),
                    anchor="a",
                ),
            )
        ],
    )
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "http" not in html


def test_data_docs_pages_lose_their_cdn_requests() -> None:
    html = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js" integrity="sha" '
        'crossorigin="anonymous"></script>'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo.png">'
        '<link rel="icon" href="../../static/images/favicon.ico">'
    )
    out = offline_page(html, "../../../static")
    assert external_requests(out) == []
    assert 'href="../../../static/vendor/css/bootstrap.min.css"' in out
    assert '<script src="../../../static/vendor/js/jquery.min.js"></script>' in out
    assert "vega" not in out and "<img" not in out and "integrity" not in out
    assert 'href="../../../static/images/favicon.ico"' in out
