"""What a soft bounce counts for, and how the count fades.

Mailman's bounce score, as its documentation gives the defaults: a list's `bounce_score_threshold` is 5.0,
a bounce counts at most once a day, and `bounce_info_stale_after` (7 days) forgets a score whose last bounce
is older. Mailman 2.1 weighed a hard bounce 1.0 and a soft one 0.5; here a hard bounce suppresses at once
(a mailbox that does not exist will not come back), so only soft bounces are scored, each 1.0.

Instead of Mailman's cliff (the whole score forgotten once the last bounce is a week old), the score
halves every `HALF_LIFE` (60 days). The cliff suits a daily list; on a weekly one the score would be forgotten
between two issues, so an address that is full every week would never be suppressed. With the half-life,
bouncing every day reaches 5 at the 6th bounce, every week at the 7th, every fortnight at the 9th; once a
month never does (its score levels off under 3.5). The list sets the threshold (lists.bounce_threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_THRESHOLD = 5.0  # Mailman's bounce_score_threshold
HALF_LIFE = timedelta(days=60)  # in place of Mailman's bounce_info_stale_after (7 days, a cliff)
ONCE_PER = timedelta(days=1)  # Mailman counts one bounce a day per member
SOFT_BOUNCE_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    at: datetime | None  # when `value` was last counted; None: never bounced


def decayed(score: Score, now: datetime) -> float:
    """The score as it stands at `now`: halved for every HALF_LIFE since it was counted."""
    if score.at is None or score.value <= 0:
        return 0.0
    elapsed = max((now - score.at).total_seconds(), 0.0)
    return score.value * 0.5 ** (elapsed / HALF_LIFE.total_seconds())


def add_soft_bounce(score: Score, now: datetime) -> tuple[Score, bool]:
    """The score after a soft bounce at `now`, and whether it counted (not within a day of the last one)."""
    if score.at is not None and timedelta(0) <= now - score.at < ONCE_PER:
        return score, False
    return Score(round(decayed(score, now) + SOFT_BOUNCE_WEIGHT, 4), now), True


def over_threshold(score: Score, now: datetime, threshold: float) -> bool:
    return threshold > 0 and decayed(score, now) >= threshold
