"""The drills' metrics scraper (bench/drills/scrape.py): increases by phase, summed over
servers, a restarted server counted from zero, gauges at their peak, failed scrapes
counted; and against the app served over HTTP in this process, its /_metrics moving."""

from __future__ import annotations

import threading

import httpx
import pytest
from werkzeug.serving import make_server

from bench.drills.scrape import MetricsScraper, histogram_quantile, parse, table
from tests.fixtures.factories import add_products, host


def exposition(requests_2xx: float, requests_5xx: float, pending: float, fast: float = 0,
               slow: float = 0) -> str:  # fmt: skip
    """A /_metrics text: requests by status, a latency histogram, the outbox gauge."""
    total = fast + slow
    return f"""# HELP storefront_http_requests_total Requests.
# TYPE storefront_http_requests_total counter
storefront_http_requests_total{{route="/",method="GET",status="2xx"}} {requests_2xx}
storefront_http_requests_total{{route="/",method="GET",status="5xx"}} {requests_5xx}
storefront_http_requests_total{{route="/_metrics",method="GET",status="2xx"}} 7
storefront_http_requests_created{{route="/",method="GET",status="2xx"}} 1.7e9
# HELP storefront_http_request_duration_seconds Time.
# TYPE storefront_http_request_duration_seconds histogram
storefront_http_request_duration_seconds_bucket{{route="/",method="GET",le="0.1"}} {fast}
storefront_http_request_duration_seconds_bucket{{route="/",method="GET",le="1.0"}} {total}
storefront_http_request_duration_seconds_bucket{{route="/",method="GET",le="+Inf"}} {total}
storefront_http_request_duration_seconds_count{{route="/",method="GET"}} {total}
storefront_http_request_duration_seconds_sum{{route="/",method="GET"}} {total * 0.2}
# HELP storefront_outbox_depth Outbox rows by status.
# TYPE storefront_outbox_depth gauge
storefront_outbox_depth{{status="pending"}} {pending}
storefront_outbox_depth{{status="dead"}} 0
"""


class Servers:
    """Two fake app servers whose next answer the test sets (None: the server is down)."""

    def __init__(self) -> None:
        self.answers: dict[str, str | None] = {"a": None, "b": None}

    def get(self, url: str) -> str:
        answer = self.answers[url]
        if answer is None:
            raise httpx.ConnectError("refused")
        return answer


def test_increases_are_summed_by_phase_and_gauges_keep_their_peak():
    servers = Servers()
    scraper = MetricsScraper(["a", "b"], get=servers.get)
    servers.answers.update(a=exposition(100, 0, 0), b=exposition(50, 0, 0))
    scraper.sample()  # the baseline: nothing before it counts
    scraper.mark("normal")
    servers.answers.update(a=exposition(130, 0, 2), b=exposition(60, 0, 0))
    scraper.sample()
    servers.answers.update(a=exposition(150, 0, 1), b=exposition(70, 0, 1))
    scraper.mark("fault")
    servers.answers.update(a=exposition(160, 4, 9), b=None)  # b is down
    scraper.sample()
    rows = {row["phase"]: row for row in scraper.report()}
    assert list(rows) == ["normal", "fault"]  # the empty start is left out
    assert rows["normal"]["requests"] == (150 - 100) + (70 - 50)
    assert rows["normal"]["5xx"] == 0
    assert rows["normal"]["outbox_pending_max"] == 2
    assert (rows["normal"]["scrapes"], rows["normal"]["scrapes_failed"]) == (4, 0)
    assert rows["fault"]["requests"] == 10 + 4
    assert rows["fault"]["5xx"] == 4
    assert rows["fault"]["outbox_pending_max"] == 9
    assert (rows["fault"]["scrapes"], rows["fault"]["scrapes_failed"]) == (2, 1)
    assert scraper.errors == {"b": "fault: ConnectError: refused"}
    assert "fault" in table(scraper.report()).splitlines()[2]


def test_a_restarted_server_counts_from_zero():
    servers = Servers()
    scraper = MetricsScraper(["a"], get=servers.get)
    servers.answers["a"] = exposition(500, 3, 0)
    scraper.sample()
    scraper.mark("restart")
    servers.answers["a"] = None
    scraper.sample()
    servers.answers["a"] = exposition(20, 0, 0)  # a new process: its counters began at 0
    scraper.sample()
    servers.answers["a"] = exposition(45, 1, 0)
    scraper.sample()
    (row,) = scraper.report()
    assert row["requests"] == 45 + 1
    assert row["5xx"] == 1
    assert row["scrapes_failed"] == 1


def test_the_phase_latency_is_prometheus_histogram_quantile():
    servers = Servers()
    scraper = MetricsScraper(["a"], get=servers.get)
    servers.answers["a"] = exposition(0, 0, 0, fast=1000, slow=1000)
    scraper.sample()
    scraper.mark("load")
    servers.answers["a"] = exposition(100, 0, 0, fast=1090, slow=1010)  # 90 fast, 10 slow
    scraper.sample()
    (row,) = scraper.report()
    # The 95th of 100 falls 5/10 into the (0.1, 1.0] bucket.
    assert row["p95_ms"] == pytest.approx(550.0)
    assert histogram_quantile(0.5, {0.1: 90, 1.0: 100, float("inf"): 100}) == pytest.approx(
        0.1 * 50 / 90
    )
    assert histogram_quantile(0.99, {0.1: 0, 1.0: 0, float("inf"): 10}) == 1.0
    assert histogram_quantile(0.5, {0.1: 0, float("inf"): 0}) is None


def test_parse_splits_cumulative_samples_from_gauges():
    cumulative, gauges = parse(exposition(1, 2, 3, fast=4, slow=5))
    names = {name for name, _labels in cumulative}
    assert "storefront_http_requests_total" in names
    assert "storefront_http_request_duration_seconds_bucket" in names
    assert not any(name.endswith("_created") for name in names)
    assert gauges[("storefront_outbox_depth", (("status", "pending"),))] == 3


@pytest.fixture
def served(app):
    """The app under test over real HTTP on a loopback port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(10)


def test_the_scraper_reads_the_apps_own_metrics_moving(app, served, two_shops):
    acme, _globex = two_shops
    add_products(app, acme, "Anvil")
    base = f"http://127.0.0.1:{served.server_port}"
    scraper = MetricsScraper([f"{base}/_metrics"], interval=60)
    scraper.start()
    try:
        scraper.mark("shopping")
        with httpx.Client(base_url=base, headers=host(acme)) as shopper:
            for _ in range(5):
                assert shopper.get("/").status_code == 200
            for _ in range(3):
                assert shopper.get("/no-such-page").status_code == 404
        scraper.mark("quiet")
    finally:
        scraper.stop()
    rows = {row["phase"]: row for row in scraper.report()}
    shopping, quiet = rows["shopping"], rows["quiet"]
    assert shopping["requests"] == 8  # the scrapes' own requests left out
    assert shopping["4xx"] == 3
    assert shopping["5xx"] == 0
    assert shopping["p95_ms"] is not None and shopping["sql_per_request"] is not None
    assert shopping["outbox_pending_max"] is not None  # read from the database at scrape
    assert shopping["scrapes_failed"] == 0
    assert quiet["requests"] == 0
