"""Render bench/results/*.json into the README's benchmark table (between its markers)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from hub.settings import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench" / "results"
README = REPO_ROOT / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def results() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(RESULTS_DIR.glob("*.json"))]


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | volume | floor | measured | ratio to floor | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in runs:
        if r["benchmark"] == "row_rule_validation":
            lines.append(
                f"| row-rule validation ({r['rules']} rules), overhead over read+write Delta "
                f"| {r['rows']:,} rows | {r['floor_seconds_median']} s | {r['validated_seconds_median']} s "
                f"| +{r['overhead_ratio']:.0%} | at most +{r['target_overhead_ratio']:.0%} |"
            )
        elif r["benchmark"] == "simulator_memory":
            small, large = r["small"], r["large"]
            lines.append(
                f"| simulator peak memory, {large['days']} days (measured) against {small['days']} (floor) "
                f"({r['cases_per_day']:,} cases a working day) | {large['records']:,} records "
                f"| {small['peak_rss_mb']} MB | {large['peak_rss_mb']} MB | x{r['memory_ratio']} "
                f"| flat with volume; under {r['target_peak_rss_mb_at_10m']} MB at 10M cases |"
            )
        elif r["benchmark"] == "lakehouse_build":
            lines += lakehouse_rows(r)
        elif r["benchmark"] == "subject_serving":
            lines.append(serving_row(r))
    return "\n".join(lines)


def _stages(seconds: dict[str, float]) -> str:
    return ", ".join(f"{stage} {v:.0f} s" for stage, v in seconds.items())


def lakehouse_rows(r: dict[str, Any]) -> list[str]:
    floor = f"{r['floor_seconds_median']:.1f} s"
    target = f"at most x{r['target_full_build_ratio']:g}"
    if not r.get("complete", True):
        failed = r["failed"]
        stages = _stages(r["full_build_stages"])
        return [
            f"| lakehouse full build against Spark reading the landed files into Delta: did not finish "
            f"({stages}, then {failed['stage']} failed after {failed['seconds']:.0f} s: {failed['error']}) "
            f"| {r['cases']:,} cases ({r['batches']} batches) | {floor} "
            f"| over {r['full_build_seconds_at_least']:.0f} s | over x{r['full_build_ratio_at_least']} "
            f"| {target} |"
        ]
    volume = f"{r['cases_in_silver']:,} cases, {r['events_in_silver']:,} events ({r['batches']} batches)"
    full, step = _stages(r["full_build_stages_median"]), _stages(r["increment_stages_median"])
    return [
        f"| lakehouse full build ({full}) against Spark reading the landed files into Delta "
        f"| {volume} | {floor} | {r['full_build_seconds_median']:.1f} s | x{r['full_build_ratio']} "
        f"| {target} |",
        f"| lakehouse 1% increment, one more day ({step}), against the full build (floor) "
        f"| {r['increment_cases']:,} cases | {r['full_build_seconds_median']:.1f} s "
        f"| {r['increment_seconds_median']:.1f} s | {r['increment_ratio']:.0%} "
        f"| at most {r['target_increment_ratio']:.0%} |",
        *_smallest_increment_row(r),
    ]


def _smallest_increment_row(r: dict[str, Any]) -> list[str]:
    """What a build of the day costs whatever it carries: the 1% increment's share is read against it."""
    if "smallest_increment_seconds_median" not in r:
        return []
    stages = _stages(r["smallest_increment_stages_median"])
    return [
        f"| lakehouse smallest increment, the same day's smallest batch alone "
        f"({r['smallest_increment_department']}; {stages}), against the full build (floor) "
        f"| {r['smallest_increment_records_in_bronze']:,} records | {r['full_build_seconds_median']:.1f} s "
        f"| {r['smallest_increment_seconds_median']:.1f} s | {r['smallest_increment_ratio']:.0%} "
        f"| none: what any build of the day costs |"
    ]


def serving_row(r: dict[str, Any]) -> str:
    endpoint, floor, targets = r["endpoint"], r["floor"], r["targets"]
    memory = r["api_memory_mb"]
    return (
        f"| `GET /v1/subjects/{{id}}` over HTTP (wrk, {r['load']['connections']} connections; "
        f"{_processes(r)}; token, "
        f"access policy, masking, audit record synced) against the same JSON from memory (floor): "
        f"p50 {endpoint['p50_ms']:.1f} ms, p99 {endpoint['p99_ms']:.1f} ms (floor p99 "
        f"{floor['p99_ms']:.1f} ms); API CPU a request {endpoint['cpu_ms_per_request']:.2f} ms "
        f"(floor {floor['cpu_ms_per_request']:.2f} ms); API resident memory "
        f"{memory['ready']['peak_rss_mb']:,.0f} MB at its peak, {memory['after_load']['rss_mb']:,.0f} MB "
        f"after the load{new_version_note(r)} | {r['subjects']:,} subjects "
        f"| {floor['requests_per_second']:,.0f} req/s "
        f"| {endpoint['requests_per_second']:,.0f} req/s | {r['ratio_to_floor']:.0%} "
        f"| at least {targets['ratio_to_floor']:.0%}, p99 at most {targets['p99_ms']:g} ms, "
        f"at least {targets['requests_per_second']:,.0f} req/s |"
    )


def _processes(r: dict[str, Any]) -> str:
    workers = r.get("api_workers", 1)
    pinned = " pinned to one core, wrk on the other" if workers == 1 else ", wrk on the same cores"
    return f"{workers} API process{'es' if workers > 1 else ''}{pinned}"


def new_version_note(r: dict[str, Any]) -> str:
    new = r.get("new_version")
    if new is None:
        return ""
    return (
        f"; a new gold version committed under load served {new['served_after_seconds']:g} s later, "
        f"{new['during']['non_2xx'] + new['during']['socket_errors']} failed requests meanwhile, "
        f"{new['api_memory_mb']['peak_rss_mb']:,.0f} MB at the API's peak"
    )


def _grew(small: float, large: float) -> str:
    return f"x{large / small:.2f}"


# Runs further apart than this were not one `make bench`: the machine's load may differ between them.
ONE_SITTING = dt.timedelta(hours=12)


def _apart(small: dict[str, Any], large: dict[str, Any]) -> str:
    """A warning when the two runs compared were measured in different sittings."""
    times = [dt.datetime.fromisoformat(r["measured_at"]) for r in (small, large) if "measured_at" in r]
    if len(times) == 2 and abs(times[1] - times[0]) > ONE_SITTING:
        return f" (runs {times[0]:%Y-%m-%d} and {times[1]:%Y-%m-%d}: not one sitting, compare with care)"
    return ""


def growth_table(runs: list[dict[str, Any]]) -> str:
    """How each benchmark's cost grows from one volume to the next one measured: the volume's
    factor beside the floor's and the measured figure's (a factor under the volume's is cost that
    does not grow with the data)."""
    lines = [
        "| benchmark | from | to | volume grew | floor grew | measured grew |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    lakehouse = sorted(
        (r for r in runs if r["benchmark"] == "lakehouse_build" and r.get("complete", True)),
        key=lambda r: r["cases_in_silver"],
    )
    for small, large in itertools.pairwise(lakehouse):
        lines.append(
            f"| lakehouse build | {small['cases_in_silver']:,} cases | {large['cases_in_silver']:,} cases "
            f"| {_grew(small['cases_in_silver'], large['cases_in_silver'])} "
            f"| {_grew(small['floor_seconds_median'], large['floor_seconds_median'])} "
            f"| full build {_grew(small['full_build_seconds_median'], large['full_build_seconds_median'])}, "
            f"1% increment {_grew(small['increment_seconds_median'], large['increment_seconds_median'])}"
            f"{_apart(small, large)} |"
        )
    serving = sorted((r for r in runs if r["benchmark"] == "subject_serving"), key=lambda r: r["subjects"])
    for small, large in itertools.pairwise(serving):
        cpu = [r["endpoint"]["cpu_ms_per_request"] for r in (small, large)]
        rate = [r["endpoint"]["requests_per_second"] for r in (small, large)]
        memory = [r["api_memory_mb"]["ready"]["peak_rss_mb"] for r in (small, large)]
        floor = [r["floor"]["requests_per_second"] for r in (small, large)]
        lines.append(
            f"| `GET /v1/subjects/{{id}}` | {small['subjects']:,} subjects | {large['subjects']:,} subjects "
            f"| {_grew(small['subjects'], large['subjects'])} | requests a second {_grew(*floor)} "
            f"| requests a second {_grew(*rate)}, CPU a request {_grew(*cpu)}, "
            f"resident memory {_grew(*memory)}{_apart(small, large)} |"
        )
    return "\n".join(lines)


def update_readme() -> None:
    runs = results()
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    rendered = f"{table(runs)}\n\nHow cost grows with size:\n\n{growth_table(runs)}"
    README.write_text(text[:start] + "\n" + rendered + "\n" + text[end:], encoding="utf-8")


if __name__ == "__main__":
    update_readme()
