"""`shoplake dashboard` without a browser: escaping of user text in the page, the local
services' guard on its server, its port kept in ports.json, the CLI. The rendering in headless
Chromium over the sample's real marts is in tests/demo/test_demo.py."""

from __future__ import annotations

import datetime
import json
import re
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from shoplake import dashboard as dmod
from shoplake import stack
from shoplake.cli import cli
from shoplake.report import page
from shoplake.settings import Settings, load_settings

HOSTILE = ("<script>alert(1)</script>", '"onmouseover=alert(2) x="', "%{x}</script><b>")


def results_with(names: tuple[str, ...]) -> dict:
    day = datetime.date(2026, 1, 1)
    return {
        "revenue": (
            ["order_date", "net_usd", "gross_usd", "orders"],
            [(day, Decimal("10.5"), Decimal("11"), 2)],
        ),
        "revenue_by_currency": (
            ["order_date", "currency_code", "net_local"],
            [(day, names[0], Decimal("3"))],
        ),
        "top_products": (
            ["product", "net_revenue_usd", "units_sold", "return_rate"],
            [(n, Decimal(9 - i), 1, 0.0) for i, n in enumerate(names)],
        ),
        "rfm": (["rfm_segment", "customers"], [(names[1], 4)]),
        "cohorts": (
            ["cohort_month", "months_since_first_order", "retention_rate"],
            [(names[2], 0, 1.0)],
        ),
        "pipeline": (
            [
                "run_date",
                "stage",
                "dataset",
                "rows_out",
                "rows_quarantined",
                "quarantine_rate",
                "files_loaded",
                "files_skipped",
                "last_run_status",
            ],
            [(day, names[0], names[1], 9, 1, 0.1, 1, 0, names[2])],
        ),
    }


def test_every_text_value_is_escaped_in_the_html_and_the_figure_json() -> None:
    text = page.render(
        results_with(HOSTILE),
        title="t",
        summary={HOSTILE[0]: HOSTILE[1]},
        job_runs=[{"dataset": HOSTILE[0], "source_object": HOSTILE[1], "duration_s": 1.0}],
        missing={"cohorts": HOSTILE[2]},
        script_src=("/a.js", "/b.js"),
    )
    for name in HOSTILE:
        assert name not in text
    # the only tags are the page's own: 2 script elements with src, 1 JSON data element
    assert len(re.findall(r"<script\b", text)) == 3
    data = re.search(
        r'<script type="application/json" id="shoplake-figures">(.*?)</script>', text, re.S
    )
    assert data is not None and "<" not in data.group(1) and ">" not in data.group(1)
    markup = text.replace(data.group(1), "")
    assert "onmouseover=" not in markup.replace("&quot;onmouseover=", "")  # no attribute injected
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup  # in the tables, as text
    figs = json.loads(data.group(1))
    # in the figures the names are entity-escaped: plotly.js shows them, never parses them as tags
    assert figs["products"]["data"][0]["y"][0] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    # user text never becomes part of a hover template (plotly.js would expand %{...} in it)
    for fig in figs.values():
        for trace in fig["data"]:
            assert "%{x}&lt;" not in trace.get("hovertemplate", "")


def test_the_static_report_inlines_plotly_js_and_loads_nothing() -> None:
    text = page.render(results_with(("a", "b", "c")))
    assert "plotly.js v" in text[:20_000]  # the library itself, inlined
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)=", text)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """The dashboard on a free port over a home with no warehouse yet."""
    s = load_settings(home=tmp_path / "home")
    port = dmod.choose_port(s)
    server = dmod.make_server(s, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", s
    finally:
        server.shutdown()
        server.server_close()


def test_server_answers_and_refuses_what_the_local_guard_refuses(
    served: tuple[str, Settings],
) -> None:
    url, _ = served
    page_503 = requests.get(url + "/", timeout=10)
    assert page_503.status_code == 503 and "No data yet" in page_503.text  # no warehouse: one line
    assert requests.get(url + "/healthz", timeout=10).json()["status"] == "ok"
    js = requests.get(url + "/static/plotly.min.js", timeout=10)
    assert js.status_code == 200 and js.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(url + "/static/dashboard.js", timeout=10).text == page.BOOT_JS
    assert requests.get(url + "/nope", timeout=10).status_code == 404
    # DNS rebinding: a foreign Host name
    assert requests.get(url + "/", headers={"Host": "evil.example"}, timeout=10).status_code == 421
    # a page elsewhere reading the dashboard
    cross = requests.get(url + "/", headers={"Origin": "http://evil.example"}, timeout=10)
    assert cross.status_code == 403
    assert not any(h.lower().startswith("access-control-") for h in cross.headers)
    assert requests.post(url + "/", data="x", timeout=10).status_code == 405


def test_page_headers_allow_scripts_from_the_dashboard_only(served: tuple[str, Settings]) -> None:
    url, _ = served
    headers = requests.get(url + "/", timeout=10).headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_port_is_kept_in_ports_json_and_survives_up(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path / "home")
    first = dmod.choose_port(s)
    assert stack.saved_ports(s.home)["dashboard"] == first
    assert dmod.choose_port(s) == first  # same URL next time
    # `shoplake up` rewrites ports.json with the components' ports: the dashboard's stays
    stack._prepare_home(s, {name: stack.free_port() for name in stack.COMPONENT_NAMES})
    assert stack.saved_ports(s.home)["dashboard"] == first
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", first))
        busy.listen()
        moved = dmod.choose_port(s)  # taken meanwhile: another one, saved
        assert moved != first and stack.saved_ports(s.home)["dashboard"] == moved
        with pytest.raises(dmod.DashboardError, match="in use"):
            dmod.choose_port(s, first)


def test_cli_help_and_a_taken_port_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    help_text = CliRunner().invoke(cli, ["dashboard", "--help"]).output
    assert "--port" in help_text and "127.0.0.1" in help_text
    monkeypatch.setenv("SHOPLAKE_HOME", str(tmp_path / "home"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["dashboard", "--port", str(port)])
    assert result.exit_code == 1
    assert (
        f"port {port} on 127.0.0.1 is in use" in result.output and "Traceback" not in result.output
    )
