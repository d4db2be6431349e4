"""When each source runs: APScheduler triggers from ``schedule:``, and the next run derived from
the run log.

Job state is derived from the run log rather than kept in a job store: the schedule itself is in
sources.yaml and the last start of each source is in the ``runs`` table, so the next run after a
restart follows from them. A persistent job store would keep a second copy of the schedule that
goes stale when sources.yaml is edited. A run missed while the scheduler was down is run once
at start-up, not once per missed interval.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.sources import parse_every

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from crawler.sources import Source

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_EVERY = "1d"  # a source without a schedule is checked daily
MAX_JITTER = 300.0


def jitter_seconds(source: Source, interval: float | None) -> float:
    """Random delay added to each run so that sources do not start together."""
    if "jitter" in source.schedule:
        return float(source.schedule["jitter"])
    return min(MAX_JITTER, interval / 10) if interval else 60.0


def make_trigger(source: Source, start: datetime | None = None) -> BaseTrigger:
    tz = source.schedule.get("timezone", DEFAULT_TIMEZONE)
    if "cron" in source.schedule:
        trigger = CronTrigger.from_crontab(source.schedule["cron"], timezone=tz)
        trigger.jitter = jitter_seconds(source, None) or None
        return trigger
    seconds = parse_every(source.schedule.get("every", DEFAULT_EVERY))
    return IntervalTrigger(
        seconds=seconds,
        start_date=start,
        timezone=tz,
        jitter=jitter_seconds(source, seconds) or None,
    )


MAX_BACKOFF = 86400.0  # a blocked source is tried at least once a day


def base_interval(source: Source) -> float:
    """Seconds between two scheduled runs (for cron: between its next two fire times)."""
    if "cron" not in source.schedule:
        return parse_every(source.schedule.get("every", DEFAULT_EVERY))
    trigger = make_trigger(source)
    trigger.jitter = None
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    return (second - first).total_seconds() if first and second else MAX_BACKOFF


def backoff_seconds(source: Source, blocked_runs: int) -> float | None:
    """After ``blocked_runs`` blocked runs in a row: the interval doubled each time, at most a
    day; None when the source is not blocked."""
    if blocked_runs <= 0:
        return None
    return min(MAX_BACKOFF, base_interval(source) * 2**blocked_runs)


def next_run(
    source: Source,
    last_started: datetime | None,
    now: datetime | None = None,
    blocked_runs: int = 0,
) -> datetime:
    """When ``source`` should run next, given its last start (from the run log).

    Never run, or a run missed since the last start: now (once, however many were missed).
    A source whose last ``blocked_runs`` runs were blocked waits its backed-off interval.
    """
    now = now or datetime.now(UTC)
    if last_started is None:
        return now
    backoff = backoff_seconds(source, blocked_runs)
    if backoff is not None:
        due = last_started + timedelta(seconds=backoff)
        return max(now, due)
    if "cron" in source.schedule:
        due = make_trigger(source).get_next_fire_time(None, last_started + timedelta(seconds=1))
    else:
        due = last_started + timedelta(
            seconds=parse_every(source.schedule.get("every", DEFAULT_EVERY))
        )
    return now if due is None or due <= now else due


def spread(when: datetime, source: Source) -> datetime:
    """``when`` plus a random share of the source's jitter (start-up runs do not bunch)."""
    interval = source.interval_seconds
    return when + timedelta(seconds=random.uniform(0, jitter_seconds(source, interval)))


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
