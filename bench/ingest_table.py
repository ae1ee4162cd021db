"""Results of bench/ingest.py: one row per handler and round, medians across rounds, the table and the targets."""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from typing import Final

HANDLERS: Final = ("bare", "naive", "qunke")
TARGET_RATIO: Final = 0.5
TARGET_P99_MS: Final = 1000.0


@dataclass(frozen=True, slots=True)
class Row:
    backend: str
    handler: str
    rate: float  # callbacks/s in the throughput run
    p50_ms: float  # send to 200 in the burst run
    p99_ms: float
    sent: int
    acked: int
    stored: int | None  # rows in inbound_events afterwards; None for the bare handler
    ingested: int | None  # of those, marked done by Qunke's ingest worker before shutdown
    ratio: float = 1.0  # rate / bare rate of the same round (the median of those ratios once summarized)


def percentiles_ms(latencies_s: list[float]) -> tuple[float, float]:
    if not latencies_s:
        return float("nan"), float("nan")
    if len(latencies_s) == 1:
        return latencies_s[0] * 1e3, latencies_s[0] * 1e3
    p99 = statistics.quantiles(latencies_s, n=100, method="inclusive")[98]
    return statistics.median(latencies_s) * 1e3, p99 * 1e3


def summarize(rounds: list[Row], bare_rates: list[float]) -> Row:
    """Medians of rate, ratio and latencies over the rounds; row counts are summed."""
    first = rounds[0]
    return Row(
        first.backend,
        first.handler,
        statistics.median(r.rate for r in rounds),
        statistics.median(r.p50_ms for r in rounds),
        statistics.median(r.p99_ms for r in rounds),
        sum(r.sent for r in rounds),
        sum(r.acked for r in rounds),
        None if first.stored is None else sum(r.stored or 0 for r in rounds),
        None if first.ingested is None else sum(r.ingested or 0 for r in rounds),
        statistics.median(r.rate / bare for r, bare in zip(rounds, bare_rates, strict=True)),
    )


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print(
        f"{'backend':<11}{'handler':<8}{'callbacks/s':>12}{'× bare':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'acked/sent':>13}{'stored':>8}{'ingested':>10}  (p50/p99 at {args.burst} concurrent)"
    )
    for row in rows:
        stored = "-" if row.stored is None else str(row.stored)
        ingested = "-" if row.ingested is None else str(row.ingested)
        print(
            f"{row.backend:<11}{row.handler:<8}{row.rate:>12.0f}{row.ratio:>8.2f}{row.p50_ms:>9.1f}"
            f"{row.p99_ms:>9.1f}{f'{row.acked}/{row.sent}':>13}{stored:>8}{ingested:>10}"
        )
    print("  × bare: median of per-round ratios; ingested: rows Qunke's ingest worker, running beside the webhook")
    print("  as in production, had marked done when the round ended")
    for row in rows:
        if row.stored is not None:
            lost = "nothing lost" if row.stored == row.acked == row.sent else "MISMATCH: rows != acked deliveries"
            print(f"  check {row.backend}/{row.handler}: {row.stored} rows, {row.acked} acks, {row.sent} sent: {lost}")
    for row in (r for r in rows if r.handler == "qunke"):
        ratio_ok, p99_ok = row.ratio >= TARGET_RATIO, row.p99_ms < TARGET_P99_MS
        print(
            f"  target {row.backend}: qunke ≥ {TARGET_RATIO}× bare rate: {row.ratio:.2f}× "
            f"({'met' if ratio_ok else 'MISSED'}); p99 ack < {TARGET_P99_MS:.0f} ms at {args.burst} concurrent: "
            f"{row.p99_ms:.0f} ms ({'met' if p99_ok else 'MISSED'})"
        )
