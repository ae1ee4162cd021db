"""Prometheus metrics in a registry owned by the app (no import-time global registration)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.memory_metrics import register_memory_metrics


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.callbacks = Counter(
            "qunke_callbacks_total", "Callbacks answered, by outcome", ["outcome"], registry=self.registry
        )
        self.refused = Counter(
            "qunke_callbacks_refused_total",
            "Callbacks refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "qunke_callback_ack_seconds",
            "Time from request to durable ack",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.callbacks_waiting = Gauge(
            "qunke_callbacks_waiting",
            "Callbacks received and not yet acknowledged: each waits for its inbox commit",
            registry=self.registry,
        )
        self.callbacks_waiting_peak = Gauge(
            "qunke_callbacks_waiting_peak",
            "The most callbacks waiting for their commit at once since start (each holds its request in memory)",
            registry=self.registry,
        )
        self._waiting_callbacks = _Waiting()
        self._outcomes: dict[str, Any] = {}
        # Read when scraped: the ack path only counts (a Gauge.set per callback took a lock each time).
        self.callbacks_waiting.set_function(lambda: self._waiting_callbacks.now)
        self.callbacks_waiting_peak.set_function(lambda: self._waiting_callbacks.peak)
        self.malloc_trims = Counter(
            "qunke_malloc_trims_total", "Times freed heap pages were handed back (malloc_trim)", registry=self.registry
        )
        self.malloc_trim_released = Counter(
            "qunke_malloc_trim_released_bytes_total",
            "Resident bytes the trims gave back (resident size before minus after, about)",
            registry=self.registry,
        )
        self.inbox_batch = Histogram(
            "qunke_inbox_batch_rows",
            "Callbacks per group commit",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250),
            registry=self.registry,
        )
        self.ingested = Counter(
            "qunke_ingest_events_total",
            "Inbound events processed, by result",
            ["result"],
            registry=self.registry,
        )
        self.ingest_stage_seconds = Histogram(
            "qunke_ingest_stage_seconds",
            "Where the ingest worker's time goes: yield (stepping aside for acks), claim (a batch's claim query), "
            "reread (a contact or group re-read from WeCom), handle (one event's handlers, re-reads and lock waits "
            "included), pull (a kf or archive pull), commit (a batch's done marks and commit)",
            ["stage"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

        self.pulled = Counter(
            "qunke_pulled_messages_total",
            "Messages and events read by the pullers, by channel and result (new or already stored)",
            ["channel", "result"],
            registry=self.registry,
        )
        self.pull_failures = Counter(
            "qunke_pull_item_failures_total",
            "Pulled items that could not be read (archive decrypt failures), by reason",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.cursor_resets = Counter(
            "qunke_cursor_resets_total",
            "Saved pull cursors the source no longer takes (kf 40058/95xxx, archive seq ahead), reset, by channel",
            ["channel"],
            registry=self.registry,
        )
        self.contacts_imported = Counter(
            "qunke_contacts_imported_total",
            "Contact relationships stored by the start-up import (batch/get_by_user)",
            registry=self.registry,
        )
        self.contact_import_failures = Counter(
            "qunke_contact_import_failures_total",
            "Start-up contact imports interrupted by a directory error (resumed later)",
            registry=self.registry,
        )
        self.group_sync_failures = Counter(
            "qunke_group_sync_failures_total",
            "Start-up group syncs that failed on a directory or database error (retried later)",
            registry=self.registry,
        )
        self.outbox_rows = Gauge(
            "qunke_outbox_rows",
            "Outbox rows by status (queued, deferred, sending, ...)",
            ["status"],
            registry=self.registry,
        )
        self.outbox_finished = Counter(
            "qunke_outbox_finished_total",
            "Outbox rows that reached sent, failed or unknown, by kind",
            ["kind", "status"],
            registry=self.registry,
        )
        self.outbox_deferred = Counter(
            "qunke_outbox_deferred_total", "Deferrals, by reason", ["reason"], registry=self.registry
        )
        self.api_paused = Counter(
            "qunke_api_paused_total", "Rate-limit answers that paused an API", ["api"], registry=self.registry
        )
        self.send_seconds = Histogram(
            "qunke_send_seconds",
            "Time for one send attempt against WeCom or the OA API",
            ["api"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )

        self.job_runs = Counter(
            "qunke_job_runs_total",
            "Scheduled job runs, by job and result (ok, failed)",
            ["job", "result"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "qunke_job_seconds",
            "Time one scheduled job run took",
            ["job"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.kf_handoffs = Counter(
            "qunke_kf_handoffs_total",
            "kf hand-offs to a person, by outcome: servicer (owner or on duty), pool_fallback (95014), "
            "pool_no_servicer (no owner, nobody on duty: queued, managers alerted), pool_unattended (nobody alerted)",
            ["outcome"],
            registry=self.registry,
        )
        self.oa_handoffs = Counter(
            "qunke_oa_handoffs_total",
            'OA hand-offs ("都不是" on an FAQ menu), by outcome: rep (owner or on duty alerted), managers (only '
            "service.managers alerted), unattended (nobody to alert)",
            ["outcome"],
            registry=self.registry,
        )

        self.retention_purged = Counter(
            "qunke_retention_purged_total",
            "Rows deleted by the daily retention purge (privacy.retention_days), by table",
            ["table"],
            registry=self.registry,
        )

        self.leads = Gauge(
            "qunke_leads",
            "1 while this process leads the duty (scheduler, kf, archive, import), else 0 (bot/duties.py)",
            ["duty", "identity"],
            registry=self.registry,
        )
        self.unwrap_process_failures = Counter(
            "qunke_archive_unwrap_process_failures_total",
            "Archive pages whose RSA unwrap process died or answered out of step (unwrapped in-process instead)",
            registry=self.registry,
        )
        self.oa_user_info = Counter(
            "qunke_oa_user_info_total",
            "OA user/info reads of new followers, by result: unionid (linked by it), no_unionid, failed (asked again "
            "on a later message)",
            ["result"],
            registry=self.registry,
        )

        register_memory_metrics(self.registry)  # where the memory is: a growth told apart at the next scrape

    def callback_waiting(self) -> _Waiting:
        """Count a callback while it waits for its commit; the peak says how many requests memory held at once."""
        return self._waiting_callbacks

    def callback_outcome(self, outcome: str) -> None:
        """Count one answered callback: `metrics.callbacks`, with each outcome's child looked up once."""
        child = self._outcomes.get(outcome)
        if child is None:
            child = self._outcomes[outcome] = self.callbacks.labels(outcome)
        child.inc()

    def job_finished(self, job: str, seconds: float, ok: bool) -> None:
        """The scheduler's listener: one run of `job` ended."""
        self.job_runs.labels(job=job, result="ok" if ok else "failed").inc()
        self.job_seconds.labels(job=job).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Waiting:
    """The waiting-callback count as a plain context manager: the ack path enters it once per callback, and a
    generator-based one cost several times as much."""

    __slots__ = ("now", "peak")

    def __init__(self) -> None:
        self.now = self.peak = 0

    def __enter__(self) -> None:
        self.now += 1
        if self.now > self.peak:
            self.peak = self.now

    def __exit__(self, *_exc: object) -> None:
        self.now -= 1
