"""What ``privicore sync`` prints: a run's counts, its rejection reasons, its exit status.

Pure functions of a :class:`~privicore_async.contrib.progress.RunProgress`, whether it was
read from a journal (``--redis``, ``--status``) or made from a
:class:`~privicore_async.results.SyncReport` (a run in this process), and of the report's
device lines. With ``--json`` the same facts are records: one per device
(:func:`device_record`) when the run was here, then one summary (:func:`summary_record`).
"""

from __future__ import annotations

from collections import Counter

from ..contrib.progress import RunProgress
from ..results import DeviceSyncOutcome, SyncOutcome, SyncProgress, SyncReport, SyncSource

NO_REASON = "(no reason given)"
"""A rejection whose reason did not reach the client: on the real wire a status read answers
only "rejected"; the reason comes with a pushed ack."""


def reason_text(reason: object) -> str:
    """How a rejection reason is printed (:data:`NO_REASON` when there is none)."""
    return NO_REASON if reason is None else str(reason)


__all__ = [
    "NO_REASON",
    "device_record",
    "earlier_sources_line",
    "not_succeeded_lines",
    "progress_detail",
    "progress_of_report",
    "reason_text",
    "report_sources_line",
    "run_lines",
    "sources_line",
    "status_of",
    "summary_record",
    "sync_detail",
]

_MAX_REASONS = 10
_SUCCESSES = (SyncOutcome.SUCCEEDED, SyncOutcome.ACCEPTED)


def progress_of_report(report: SyncReport) -> RunProgress:
    """A finished run's report as counts."""
    counts = report.counts()
    reasons = Counter(reason_text(line.reason) for line in report.rejected)
    in_doubt = counts[SyncOutcome.IN_DOUBT]
    return RunProgress(
        total=len(report.outcomes),
        settled=len(report.outcomes) - in_doubt,
        in_doubt=in_doubt,
        succeeded=counts[SyncOutcome.SUCCEEDED],
        rejected=counts[SyncOutcome.REJECTED],
        timed_out=counts[SyncOutcome.TIMED_OUT],
        failed=counts[SyncOutcome.FAILED],
        accepted_no_id=counts[SyncOutcome.ACCEPTED],
        reasons=tuple(reasons.most_common()),
    )


def run_lines(title: str, progress: RunProgress, *, heading: str = "") -> list[str]:
    """The counts block: one line per outcome (rare ones only when they occur), reasons.

    ``title`` names the run (``run ID``, or ``sync`` for one without an id)."""
    rows = [
        ("succeeded", progress.succeeded),
        ("rejected", progress.rejected),
        ("timed out", progress.timed_out),
        ("failed", progress.failed),
    ]
    rare = [
        ("accepted (no command id)", progress.accepted_no_id),
        ("accepted, outcome pending", progress.accepted),
        ("in doubt", progress.in_doubt),
        ("not started", progress.not_started),
    ]
    rows += [(label, n) for label, n in rare if n]
    width = max(len(label) for label, _ in rows)
    digits = len(str(max(progress.total, 1)))
    lines = [f"{title}: {progress.total} devices{heading}"]
    lines += [f"  {label:<{width}}  {n:>{digits}}" for label, n in rows]
    if progress.reasons:
        lines.append("rejection reasons")
        lines += [f"  {reason}: {n}" for reason, n in progress.reasons[:_MAX_REASONS]]
        more = len(progress.reasons) - _MAX_REASONS
        if more > 0:
            lines.append(f"  ... and {more} more")
    return lines


def not_succeeded_lines(report: SyncReport) -> list[str]:
    """The devices that did not synchronise, each with how it ended (the first few)."""
    lines = [line for line in report.outcomes if line.outcome not in _SUCCESSES]
    if not lines:
        return []
    shown = [
        f"  {line.device_identifier}: {line.outcome.value.replace('_', ' ')}"
        + ("" if line.reason is None else f" ({reason_text(line.reason)})")
        for line in lines[:_MAX_REASONS]
    ]
    more = len(lines) - len(shown)
    tail = [f"  ... and {more} more (--json lists every device)"] if more > 0 else []
    return ["not synchronised", *shown, *tail]


def device_record(line: DeviceSyncOutcome) -> dict[str, object]:
    """One device's JSON line (its error object is left out: ``reason`` has its message)."""
    return {
        "type": "device",
        "device_identifier": line.device_identifier,
        "outcome": line.outcome.value,
        "command_id": line.command_id,
        "reason": line.reason,
        "source": line.source.value,
    }


def summary_record(
    run_id: str | None, progress: RunProgress, *, seconds: float | None = None
) -> dict[str, object]:
    """A run's counts as one JSON object (the last line after the device lines)."""
    record: dict[str, object] = {
        "type": "summary",
        "run_id": run_id,
        "total": progress.total,
        "succeeded": progress.succeeded,
        "rejected": progress.rejected,
        "timed_out": progress.timed_out,
        "failed": progress.failed,
        "accepted_no_id": progress.accepted_no_id,
        "accepted": progress.accepted,
        "in_doubt": progress.in_doubt,
        "not_started": progress.not_started,
        "reasons": dict(progress.reasons),
        "all_succeeded": progress.total > 0 and progress.all_succeeded,
    }
    if seconds is not None:
        record["seconds"] = round(seconds, 3)
    return record


def sources_line(skipped: int, resumed: int, resubmitted: int) -> str:
    """Where the lines came from when a run was resumed."""
    return (
        f"earlier attempts: skipped {skipped} (settled), resumed {resumed} (accepted), "
        f"resubmitted {resubmitted} (in doubt or failed)"
    )


def report_sources_line(report: SyncReport) -> str:
    """:func:`sources_line` of a report."""
    sources = report.sources()
    return sources_line(
        sources[SyncSource.JOURNAL], sources[SyncSource.RESUMED], sources[SyncSource.RESUBMITTED]
    )


def earlier_sources_line(earlier: RunProgress) -> str:
    """:func:`sources_line` of what a run's journal held before it was enqueued again."""
    return sources_line(
        earlier.succeeded + earlier.rejected + earlier.accepted_no_id,
        earlier.accepted + earlier.timed_out,
        earlier.in_doubt + earlier.failed,
    )


def status_of(progress: RunProgress) -> int:
    """The exit status: 0 when every device synchronised, 1 otherwise."""
    return 0 if progress.total > 0 and progress.all_succeeded else 1


def sync_detail(progress: SyncProgress) -> str:
    """The progress line's detail during a run in this process."""
    return (
        f"ok {progress.succeeded}  rejected {progress.rejected}  "
        f"timed out {progress.timed_out}  failed {progress.failed}"
    )


def progress_detail(progress: RunProgress) -> str:
    """The progress line's detail while workers run a queued run."""
    ok = progress.succeeded + progress.accepted_no_id
    return (
        f"ok {ok}  rejected {progress.rejected}  timed out {progress.timed_out}  "
        f"failed {progress.failed}  pending {progress.accepted}  in doubt {progress.in_doubt}"
    )
