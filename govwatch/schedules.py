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


def next_run(
    source: Source, last_started: datetime | None, now: datetime | None = None
) -> datetime:
    """When ``source`` should run next, given its last start (from the run log).

    Never run, or a run missed since the last start: now (once, however many were missed).
    """
    now = now or datetime.now(UTC)
    if last_started is None:
        return now
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
