"""What the demo prints at the end, and whether the run behaved as expected (pure functions)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import attrs

from ..results import DeviceSyncOutcome, SyncOutcome, SyncReport
from .run_summary import reason_text

__all__ = ["SUCCEEDS", "DemoRun", "summary_lines", "unexpected"]

SUCCEEDS = "succeeded"
"""The expectation of a device that should synchronise; any other is a rejection reason."""

_MAX_LISTED = 10
_LABELS = {
    SyncOutcome.SUCCEEDED: "succeeded",
    SyncOutcome.REJECTED: "rejected",
    SyncOutcome.TIMED_OUT: "timed out",
    SyncOutcome.FAILED: "failed",
    SyncOutcome.ACCEPTED: "accepted (no command id)",
    SyncOutcome.IN_DOUBT: "in doubt (may have run)",
}
_RARE = (SyncOutcome.ACCEPTED, SyncOutcome.IN_DOUBT)  # shown only when they occur


@attrs.frozen
class DemoRun:
    """The facts of one synchronisation run, as the summary reports them."""

    expected: Mapping[str, str]
    """Device id → :data:`SUCCEEDS` or the rejection reason the sandbox should give."""
    report: SyncReport
    status_requests: int
    """Status requests the sandbox served during the synchronisation."""
    commands: int
    """Commands the sandbox accepted during the synchronisation."""
    wall_time: float
    """Seconds from the sandbox's start to its close."""

    @property
    def as_expected(self) -> bool:
        """Every device ended the way the plan said."""
        return not unexpected(self.expected, self.report)


def unexpected(expected: Mapping[str, str], report: SyncReport) -> list[str]:
    """One line per device that did not end as ``expected`` (empty: all did)."""
    problems = [
        f"{line.device_identifier}: expected {expected.get(line.device_identifier, '?')}, "
        f"got {_describe(line)}"
        for line in report.outcomes
        if _ending(line, expected.get(line.device_identifier))
        != expected.get(line.device_identifier)
    ]
    reported = {line.device_identifier for line in report.outcomes}
    problems += [f"{device}: no outcome reported" for device in expected if device not in reported]
    return problems


def summary_lines(run: DemoRun) -> list[str]:
    """The summary block: counts, rejection reasons, throughput, polling cost, verdict."""
    return [
        *_count_lines(run.report),
        *_reason_lines(run.report),
        _throughput_line(run.report),
        _polling_line(run.status_requests, run.commands),
        f"wall time: {run.wall_time:.2f} s (sandbox start to close)",
        *_verdict_lines(run),
    ]


def _ending(line: DeviceSyncOutcome, expected: str | None) -> str:
    if line.outcome is SyncOutcome.SUCCEEDED:
        return SUCCEEDS
    if line.outcome is SyncOutcome.REJECTED:
        if line.reason is None and expected not in (None, SUCCEEDS):
            return expected  # a rejection as planned; the wire just did not say why
        return reason_text(line.reason)
    return f"<{line.outcome.value}>"  # never equal to an expectation


def _describe(line: DeviceSyncOutcome) -> str:
    label = _LABELS[line.outcome]
    return label if line.reason is None else f"{label} ({line.reason})"


def _count_lines(report: SyncReport) -> list[str]:
    counts = report.counts()
    shown = [o for o in SyncOutcome if o not in _RARE or counts[o]]
    width = max(len(_LABELS[o]) for o in shown)
    digits = len(str(len(report.outcomes)))
    return ["sync outcomes"] + [f"  {_LABELS[o]:<{width}}  {counts[o]:>{digits}}" for o in shown]


def _reason_lines(report: SyncReport) -> list[str]:
    reasons = Counter(reason_text(line.reason) for line in report.rejected)
    if not reasons:
        return ["rejection reasons: none"]
    return ["rejection reasons"] + [
        f"  {reason}: {count}" for reason, count in reasons.most_common()
    ]


def _throughput_line(report: SyncReport) -> str:
    devices = len(report.outcomes)
    rate = devices / report.elapsed if report.elapsed > 0 else 0.0
    return f"throughput: {devices} devices in {report.elapsed:.2f} s = {rate:.1f} devices/s"


def _polling_line(status_requests: int, commands: int) -> str:
    ratio = f"{status_requests / commands:.2f}" if commands else "n/a"
    return (
        f"status requests per command: {ratio} "
        f"({status_requests} status requests for {commands} sync commands)"
    )


def _verdict_lines(run: DemoRun) -> list[str]:
    problems = unexpected(run.expected, run.report)
    if not problems:
        return ["result: as expected (online devices synchronised, offline/unknown ones rejected)"]
    listed = [f"  {problem}" for problem in problems[:_MAX_LISTED]]
    more = len(problems) - len(listed)
    return [
        f"result: NOT as expected ({len(problems)} devices ended otherwise)",
        *listed,
        *([f"  ... and {more} more"] if more else []),
    ]
