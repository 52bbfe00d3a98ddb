"""Retention policy: which backups of a profile a quota keeps, and why (pure functions).

A profile's ``retention`` holds the rules, each off when ``None``:

- ``keep_last`` N: the N newest backups;
- ``keep_days`` D: every backup started within D days of the newest one (measured from
  the newest backup, as restic's ``--keep-within``: backups that stopped running never
  age everything out);
- ``keep_bytes`` S: the newest backups whose sizes together fit in S bytes;
- ``keep_daily`` / ``keep_weekly`` / ``keep_monthly`` / ``keep_yearly`` N: the newest
  backup of each of the N most recent days / ISO weeks / months / years that have one
  (restic's ``forget`` policy; calendar buckets in UTC, as the records' times).

A backup is kept when any rule keeps it. Frozen backups and the ``protected`` ones (the
backup just made, the newest good one) are always kept. A policy with no rule keeps
everything: pruning never starts from a profile nobody configured.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from restorer.errors import SitepackError

RULES = ("keep_last", "keep_days", "keep_bytes", "keep_daily", "keep_weekly", "keep_monthly",
         "keep_yearly")

_CALENDAR: dict[str, tuple[str, Callable[[dt.datetime], str]]] = {
    "keep_daily": ("daily", lambda t: t.strftime("%Y-%m-%d")),
    "keep_weekly": ("weekly", lambda t: "%04d-W%02d" % t.isocalendar()[:2]),
    "keep_monthly": ("monthly", lambda t: t.strftime("%Y-%m")),
    "keep_yearly": ("yearly", lambda t: t.strftime("%Y")),
}


@dataclasses.dataclass(frozen=True)
class Backup:
    """What the policy needs to know of one backup record."""
    id: int
    started: dt.datetime  # UTC
    size: int
    frozen: bool = False


@dataclasses.dataclass
class Decision:
    backup: Backup
    reasons: list[str]  # why it is kept; empty: it goes

    @property
    def keep(self) -> bool:
        return bool(self.reasons)

    def why(self) -> str:
        return ", ".join(self.reasons) if self.reasons else "no rule keeps it"


def empty_policy() -> dict:
    return {rule: None for rule in RULES}


def validate(value, parse_size: Callable[[str], int]) -> dict:
    """A checked policy from a profile's ``retention`` (a dict of rules, numbers or
    ``None``; ``keep_bytes`` may be a size such as ``"20G"``). Raises ``SitepackError``
    naming the bad rule."""
    if value in (None, ""):
        return empty_policy()
    if not isinstance(value, dict):
        raise SitepackError(f"profile setting 'retention': must be an object with "
                            f"{', '.join(RULES)}")
    unknown = sorted(set(value) - set(RULES))
    if unknown:
        raise SitepackError(f"profile setting 'retention.{unknown[0]}': unknown rule "
                            f"(known: {', '.join(RULES)})")
    policy = empty_policy()
    for rule in RULES:
        raw = value.get(rule)
        if raw in (None, ""):
            continue
        if rule == "keep_bytes" and isinstance(raw, str):
            raw = parse_size(raw)
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise SitepackError(f"profile setting 'retention.{rule}': {raw!r} must be a whole "
                                f"number of at least 1 (or empty for no such rule)")
        policy[rule] = raw
    return policy


def is_active(policy: dict) -> bool:
    return any(policy.get(rule) is not None for rule in RULES)


def describe(policy: dict) -> str:
    """The policy in one line (``keep last 7, 4 weekly``)."""
    words = {"keep_last": "last {}", "keep_days": "{} days", "keep_bytes": "at most {} bytes",
             "keep_daily": "{} daily", "keep_weekly": "{} weekly",
             "keep_monthly": "{} monthly", "keep_yearly": "{} yearly"}
    active = [words[rule].format(policy[rule]) for rule in RULES if policy.get(rule) is not None]
    return "keep " + ", ".join(active) if active else "keep everything (no retention rule)"


def decide(backups: Iterable[Backup], policy: dict, *, protected: dict[int, str] | None = None
           ) -> list[Decision]:
    """One decision per backup, newest first. ``protected``: id → why it must stay."""
    ordered = sorted(backups, key=lambda b: (b.started, b.id), reverse=True)
    decisions = [Decision(b, []) for b in ordered]
    for decision in decisions:
        if decision.backup.frozen:
            decision.reasons.append("frozen")
        if protected and decision.backup.id in protected:
            decision.reasons.append(protected[decision.backup.id])
    if not is_active(policy):
        for decision in decisions:
            decision.reasons.append("no retention rule")
        return decisions
    _keep_last(decisions, policy["keep_last"])
    _keep_days(decisions, policy["keep_days"])
    _keep_bytes(decisions, policy["keep_bytes"])
    for rule, (label, bucket) in _CALENDAR.items():
        _keep_calendar(decisions, policy[rule], label, bucket)
    return decisions


def _keep_last(decisions: Sequence[Decision], count: int | None) -> None:
    for rank, decision in enumerate(decisions[:count or 0], 1):
        decision.reasons.append(f"last {count} (#{rank})")


def _keep_days(decisions: Sequence[Decision], days: int | None) -> None:
    if days is None or not decisions:
        return
    since = decisions[0].backup.started - dt.timedelta(days=days)
    for decision in decisions:
        if decision.backup.started >= since:
            decision.reasons.append(f"within {days} days of the newest")


def _keep_bytes(decisions: Sequence[Decision], limit: int | None) -> None:
    if limit is None:
        return
    total = 0
    for decision in decisions:
        total += decision.backup.size
        if total > limit:
            return
        decision.reasons.append(f"fits in {limit} bytes")


def _keep_calendar(decisions: Sequence[Decision], count: int | None, label: str,
                   bucket: Callable[[dt.datetime], str]) -> None:
    if not count:
        return
    seen: list[str] = []
    for decision in decisions:  # newest first: the first one of a bucket is its newest
        key = bucket(decision.backup.started)
        if key in seen:
            continue
        if len(seen) == count:
            return
        seen.append(key)
        decision.reasons.append(f"{label} {key}")
