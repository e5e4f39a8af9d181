"""deploy/: the Grafana dashboard and the Prometheus rules and config speak of the metrics
the app exposes, and nothing else.

The names come from the app itself: a scrape of /_metrics of the app under test (every
family, those read at scrape time too). Every PromQL expression is parsed
(``promql-parser``, the Rust parser Prometheus-compatible tools use) and each metric it
selects, and each label it matches, must be one the scrape shows. ``promtool`` checks the
rules, runs their unit tests and checks the config when it is installed (.ci/run puts it
there); the parser-based checks always run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
DASHBOARD = DEPLOY / "grafana" / "storefront.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"

# Series Prometheus makes itself for every target, and the labels it adds to every series.
PROMETHEUS_OWN = {"up"}
TARGET_LABELS = {"job", "instance"}
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}
# What Grafana replaces before a query reaches Prometheus, with a value of the same kind.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$job": ".+",
    "$route": ".+",
}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
SEVERITIES = {"page", "warning", "info"}


@pytest.fixture
def exposed(client) -> dict[str, set[str]]:
    """Every sample name /_metrics can show -> the labels its family carries (known for
    the families with samples; a few requests first give the request metrics theirs)."""
    client.get("/_health")
    client.get("/no-such-page")
    answer = client.get("/_metrics")
    assert answer.status_code == 200
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(answer.text):
        if not family.name.startswith("storefront_") or family.name.endswith("_created"):
            continue  # the client's own process collectors; counters' creation times
        labels = {label for sample in family.samples for label in sample.labels} - {"le"}
        for suffix in SUFFIXES.get(family.type, ("",)):
            names[family.name + suffix] = set(labels) | ({"le"} if suffix == "_bucket" else set())
    assert "storefront_http_requests_total" in names
    assert "storefront_shop_busy_share" in names  # the scrape-time families are there too
    return names


def selectors(expr: str) -> list[tuple[str, list[str]]]:
    """(metric name, label names matched) of every selector of a PromQL expression."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            labels = [m.name for m in node.matchers.matchers if m.name != "__name__"]
            found.append((node.name or "", labels))
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def check_expr(expr: str, exposed: dict[str, set[str]], where: str) -> list[str]:
    """What is wrong with one expression: it does not parse, or selects a metric or
    matches a label that the app does not expose."""
    try:
        found = selectors(expr)
    except ValueError as exc:
        return [f"{where}: does not parse ({exc}): {expr}"]
    problems = []
    for name, labels in found:
        if name in PROMETHEUS_OWN:
            continue
        if name not in exposed:
            problems.append(f"{where}: {name!r} is not a metric /_metrics exposes")
            continue
        known = exposed[name]
        unknown = set(labels) - TARGET_LABELS - known
        if known and unknown:
            problems.append(f"{where}: {name} has no label {sorted(unknown)}")
    if not found:
        problems.append(f"{where}: selects no metric: {expr}")
    return problems


def grafana_to_promql(expr: str) -> str:
    for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a Grafana variable this test does not know: {expr}"
    return expr


def dashboard_targets(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (panel["title"], target)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_dashboard_is_a_grafana_model_on_a_templated_prometheus():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    # No two panels on top of each other.
    cells = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))


def test_every_dashboard_query_uses_only_exposed_metrics_and_labels(exposed):
    dashboard = json.loads(DASHBOARD.read_text())
    problems = []
    for title, target in dashboard_targets(dashboard):
        problems += check_expr(grafana_to_promql(target["expr"]), exposed, title)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            inside = re.fullmatch(r"label_values\((.+), *(\w+)\)", variable["definition"])
            assert inside, variable["definition"]
            problems += check_expr(grafana_to_promql(inside[1]), exposed, variable["name"])
    assert not problems, "\n".join(problems)


def test_the_dashboard_shows_every_family_the_app_exposes(exposed):
    """A metric added to the app without a panel fails here: add one (or say why not)."""
    dashboard = json.loads(DASHBOARD.read_text())
    shown = {
        name
        for _title, target in dashboard_targets(dashboard)
        for name, _labels in selectors(grafana_to_promql(target["expr"]))
    }
    families = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in exposed}
    missing = {f for f in families if not any(re.sub(r"_(total|bucket|sum|count)$", "", s) == f
                                              for s in shown)}  # fmt: skip
    assert not missing, f"no panel shows {sorted(missing)}"


def load_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    groups = document["groups"]
    assert len({g["name"] for g in groups}) == len(groups), "group names repeat"
    rules = []
    for group in groups:
        assert set(group) <= {"name", "interval", "rules", "limit"}, group["name"]
        assert group["rules"], f"group {group['name']} has no rules"
        rules += group["rules"]
    return rules


def test_the_alert_rules_are_well_formed_and_use_only_exposed_metrics(exposed):
    rules = load_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names repeat"
    problems = []
    for rule in rules:
        name = rule.get("alert", "?")
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels",
                             "annotations"}, name  # fmt: skip
        assert re.fullmatch(r"Storefront[A-Z][A-Za-z]+", name), name
        assert DURATION.match(str(rule["for"])), f"{name}: for: {rule['for']}"
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert "$__" not in rule["expr"] and "$job" not in rule["expr"], name
        problems += check_expr(rule["expr"], exposed, name)
    assert not problems, "\n".join(problems)
    # The ones the operators' guide promises.
    for promised in ("StorefrontHighErrorRate", "StorefrontSlowRequests",
                     "StorefrontOutboxBacklog", "StorefrontWebhookFailures",
                     "StorefrontMailFailures", "StorefrontNoisyNeighbour",
                     "StorefrontJobsFailing"):  # fmt: skip
        assert promised in names


def test_the_neighbour_alert_wants_one_shop_busy_and_the_fleet_busy():
    """Half of an idle fleet's worker time is nobody's problem: both conditions, joined."""
    rule = next(r for r in load_rules() if r["alert"] == "StorefrontNoisyNeighbour")
    expr = promql_parser.parse(rule["expr"])
    assert isinstance(expr, promql_parser.BinaryExpr)
    names = {name for name, _ in selectors(rule["expr"])}
    assert names == {"storefront_shop_busy_share", "storefront_http_request_duration_seconds_sum"}
    assert " and on () " in " ".join(rule["expr"].split())


def test_the_scrape_config_names_the_path_the_token_file_and_the_rules():
    config = yaml.safe_load(CONFIG.read_text())
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "storefront" and job["metrics_path"] == "/_metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"].startswith("/")
    assert "credentials" not in job["authorization"]  # a file, never the token itself


def promtool() -> str:
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not found:
        pytest.skip("promtool is not installed (.ci/run installs it; the parser checks ran)")
    return found


def test_promtool_checks_the_rules_and_runs_their_unit_tests():
    tool = promtool()
    checked = subprocess.run([tool, "check", "rules", str(ALERTS)], capture_output=True,
                             text=True, timeout=60, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([tool, "test", "rules", ALERT_TESTS.name], cwd=ALERT_TESTS.parent,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_promtool_checks_the_config(tmp_path):
    """The example config as shipped, but for the token file's path (promtool opens it)."""
    tool = promtool()
    token = tmp_path / "storefront-metrics.token"
    token.write_text("a-token\n")
    config = CONFIG.read_text().replace("/etc/prometheus/storefront-metrics.token", str(token))
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    checked = subprocess.run([tool, "check", "config", str(tmp_path / "prometheus.yml")],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_check_catches_a_misspelt_metric_a_wrong_label_and_bad_syntax(exposed):
    """The checks above would pass on anything if these did not fail."""
    assert check_expr("rate(storefront_http_request_total[5m])", exposed, "x")
    assert check_expr('storefront_http_requests_total{state="5xx"}', exposed, "x")
    assert check_expr("sum(rate(storefront_http_requests_total[5m])", exposed, "x")
    assert not check_expr('sum by (job) (storefront_http_requests_total{status="5xx"})',
                          exposed, "x")  # fmt: skip
