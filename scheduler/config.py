"""What the jobs need to know about the programme: its time zone, revisit offsets, when tips go
out, and the quiet hours. Built from Settings once; the tests build it directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.settings import Settings

# Kinds that go out during quiet hours: what the person asked for themselves, and arrangements
# for a visit that happens the same day (a day-of change cannot wait until 07:00).
QUIET_EXEMPT_KINDS = frozenset({"requested", "visit-today"})


def parse_clock(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class QuietHours:
    """A nightly window in programme time, e.g. 21:00-07:00 (it may wrap past midnight)."""

    start: time = time(21, 0)
    end: time = time(7, 0)

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def until(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """When the quiet hours around `now` end (UTC), or None when it is not quiet."""
        local = now.astimezone(tz)
        if not self.contains(local.time()):
            return None
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(now.tzinfo)


PROGRAMME_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class SchedulerConfig:
    tz: ZoneInfo = PROGRAMME_TZ
    revisit_months: tuple[int, ...] = (1, 3, 6, 12)
    tips_day: int = 1
    tips_hour: int = 9
    quiet: QuietHours = QuietHours()
    # Sent at this hour on Mondays (staff) and on the 1st (coordinators).
    digest_hour: int = 8
    # Raw texts and photos of people who left are deleted after this many days.
    retention_days: int = 730
    media_root: Path = Path("data/media")
    # The site and newsletter kept current (reports/current.py), and what they link to; None
    # (a bare config, as in tests of other jobs) leaves publications alone.
    public_dir: Path | None = None
    # The data folder, whose visit-report drafts left by a process that died the retention job
    # deletes (reports/visit_report.py); None (a bare config) leaves them alone.
    data_dir: Path | None = None
    site_url: str | None = None
    bot_username: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SchedulerConfig:
        return cls(
            tz=settings.tz,
            revisit_months=tuple(int(m) for m in settings.revisit_months.split(",")),
            tips_day=settings.tips_day,
            tips_hour=settings.tips_hour,
            quiet=QuietHours(parse_clock(settings.quiet_start), parse_clock(settings.quiet_end)),
            retention_days=settings.retention_days,
            media_root=settings.media_dir,
            public_dir=settings.data_dir / "public",
            data_dir=settings.data_dir,
            site_url=settings.site_url,
            bot_username=settings.bot_username,
        )

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def local(self, day: date, hour: int = 0, minute: int = 0) -> datetime:
        """A wall-clock moment of the programme, as an aware datetime."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)


DEFAULT_CONFIG = SchedulerConfig()
