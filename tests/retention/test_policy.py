"""The retention policy (packer/retention.py) on backups with known dates and sizes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packer import retention
from packer.profiles import parse_size
from restorer.errors import SitepackError

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


# Twelve backups across two years: ids grow with time; sizes in MiB-like units.
BACKUPS = [
    retention.Backup(1, at("2025-06-15 03:00"), 100),
    retention.Backup(2, at("2025-12-31 03:00"), 100),
    retention.Backup(3, at("2026-01-10 03:00"), 100),
    retention.Backup(4, at("2026-10-05 03:00"), 100),
    retention.Backup(5, at("2026-11-02 03:00"), 100),   # Monday, ISO week 45
    retention.Backup(6, at("2026-11-08 03:00"), 100),   # Sunday, ISO week 45
    retention.Backup(7, at("2026-11-20 03:00"), 100),
    retention.Backup(8, at("2026-12-01 03:00"), 200),
    retention.Backup(9, at("2026-12-01 15:00"), 200),   # second backup that day
    retention.Backup(10, at("2026-12-02 03:00"), 300),
    retention.Backup(11, at("2026-12-03 03:00"), 300),
    retention.Backup(12, at("2026-12-04 03:00"), 400),
]


def kept(policy: dict, backups=BACKUPS, protected=None) -> set[int]:
    return {d.backup.id for d in retention.decide(backups, {**retention.empty_policy(), **policy},
                                                  protected=protected) if d.keep}


@pytest.mark.parametrize("policy, expected", [
    ({"keep_last": 1}, {12}),
    ({"keep_last": 3}, {10, 11, 12}),
    ({"keep_last": 50}, set(range(1, 13))),
    # within 3 days of the newest (12-04 03:00): from 12-01 03:00 on, inclusive
    ({"keep_days": 3}, {8, 9, 10, 11, 12}),
    ({"keep_days": 1}, {11, 12}),
    # newest first while the running total fits: 400, +300, +300 = 1000; +200 = 1200 > 1100
    ({"keep_bytes": 1100}, {10, 11, 12}),
    ({"keep_bytes": 399}, set()),
    ({"keep_bytes": 10_000}, set(range(1, 13))),
    # the newest backup of each of the 3 newest days: 12-04, 12-03, 12-02 (not 12-01)
    ({"keep_daily": 3}, {10, 11, 12}),
    # 12-01 has two backups: the newer (15:00, #9) stands for the day
    ({"keep_daily": 4}, {9, 10, 11, 12}),
    # weeks 2026-W49 (#12), W47 (#7), W45 (#6, Sunday, newer than #5)
    ({"keep_weekly": 3}, {12, 7, 6}),
    ({"keep_monthly": 3}, {12, 7, 4}),
    # 2026-01 and 2025-12 are different months and years: #3 keeps 2026-01, #2 2025-12
    ({"keep_monthly": 5}, {12, 7, 4, 3, 2}),
    ({"keep_monthly": 6}, set(range(1, 13)) - {5, 6, 8, 9, 10, 11}),
    ({"keep_yearly": 2}, {12, 2}),
    ({"keep_yearly": 5}, {12, 2}),
    # any rule keeps: union of last 2 and 2 monthly
    ({"keep_last": 2, "keep_monthly": 2}, {11, 12, 7}),
    ({"keep_daily": 2, "keep_yearly": 2, "keep_bytes": 400}, {12, 11, 2}),
])
def test_each_rule_keeps_exactly_what_it_promises(policy, expected):
    assert kept(policy) == expected


def test_no_rule_keeps_everything():
    decisions = retention.decide(BACKUPS, retention.empty_policy())
    assert all(d.keep and d.why() == "no retention rule" for d in decisions)
    assert retention.describe(retention.empty_policy()) == "keep everything (no retention rule)"


def test_frozen_and_protected_backups_are_never_removed():
    backups = [b if b.id != 1 else retention.Backup(1, b.started, b.size, frozen=True)
               for b in BACKUPS]
    decisions = {d.backup.id: d for d in retention.decide(
        backups, {**retention.empty_policy(), "keep_last": 1}, protected={4: "just made"})}
    assert {i for i, d in decisions.items() if d.keep} == {1, 4, 12}
    assert decisions[1].why() == "frozen"
    assert decisions[4].why() == "just made"
    assert decisions[12].why() == "last 1 (#1)"
    assert decisions[5].why() == "no rule keeps it"


def test_decisions_come_newest_first_with_every_reason():
    decisions = retention.decide(BACKUPS, {**retention.empty_policy(), "keep_last": 2,
                                           "keep_daily": 1, "keep_yearly": 1})
    assert [d.backup.id for d in decisions] == list(range(12, 0, -1))
    assert decisions[0].why() == "last 2 (#1), daily 2026-12-04, yearly 2026"


def test_policy_validation():
    assert retention.validate(None, parse_size) == retention.empty_policy()
    assert retention.validate({"keep_bytes": "2G", "keep_last": "7", "keep_days": ""},
                              parse_size) == {**retention.empty_policy(), "keep_bytes": 2 << 30,
                                              "keep_last": 7}
    for bad, message in [({"keep_forever": 1}, "retention.keep_forever': unknown rule"),
                         ({"keep_last": 0}, "retention.keep_last': 0 must be a whole number"),
                         ({"keep_daily": -3}, "retention.keep_daily': -3"),
                         ({"keep_weekly": 1.5}, "retention.keep_weekly': 1.5"),
                         ({"keep_monthly": True}, "retention.keep_monthly': True"),
                         ([7], "'retention': must be an object")]:
        with pytest.raises(SitepackError, match=message.replace("(", r"\(")):
            retention.validate(bad, parse_size)


_times = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2027, 1, 1),
                      timezones=st.just(UTC))
_backups = st.lists(st.tuples(_times, st.integers(0, 1000), st.booleans()), max_size=40).map(
    lambda rows: [retention.Backup(i, t, size, frozen) for i, (t, size, frozen) in enumerate(rows, 1)])
_rule_value = st.one_of(st.none(), st.integers(1, 12))
_policies = st.fixed_dictionaries({rule: _rule_value for rule in retention.RULES})


@settings(max_examples=300, deadline=None)
@given(_backups, _policies)
def test_a_backup_is_kept_exactly_when_one_rule_or_its_freeze_keeps_it(backups, policy):
    together = kept(policy, backups)
    if not retention.is_active(policy):
        assert together == {b.id for b in backups}
        return
    unfrozen = [dataclasses.replace(b, frozen=False) for b in backups]
    alone = {rule: kept({rule: value}, unfrozen) for rule, value in policy.items()
             if value is not None}
    assert together == set().union(*alone.values()) | {b.id for b in backups if b.frozen}
    if "keep_bytes" in alone:
        assert sum(b.size for b in backups if b.id in alone["keep_bytes"]) <= policy["keep_bytes"]
    if "keep_last" in alone:
        assert len(alone["keep_last"]) == min(policy["keep_last"], len(backups))
