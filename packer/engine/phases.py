"""The table a backup follows: domains in order, each domain's phases in order, and the
method that handles each phase.

    domain    title                      phases → handler
    init      Initialising               init → InitialiseDomain.initialise
    db        Backing up the database    dump → DatabaseDomain.dump, add → .add
    files     Backing up files           scan → FilesDomain.scan, archive → .archive
    finalise  Finalising the archive     prepare → FinaliseDomain.prepare, add → .add,
                                         close → .close_archive
                                         (closing → .closing: only after a kill during close)
    upload    Sending to off-site storage  send → UploadDomain.send (only with a profile's
                                         ``storage``; before it, every step first sends
                                         the parts no later step can change:
                                         UploadDomain.send_settled)

A handler returns True when its phase is done; the job then moves on to the next phase,
or to the first phase of the next domain. Full backups run all four domains,
files-only backups skip ``db`` (and carry no installer), database-only backups skip
``files`` (their archive holds ``installation/sql/*`` and ``installation/extrainfo.json``,
the layout the restorer imports from).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .database import DatabaseDomain
from .domain import Domain
from .files import FilesDomain
from .finalise import FinaliseDomain
from .initialise import InitialiseDomain
from .state import Settings
from .upload import UploadDomain

Handler = Callable[[Domain, float], bool]


@dataclasses.dataclass(frozen=True)
class DomainSpec:
    title: str
    weight: float               # share of the progress bar (normalised over a backup's domains)
    handler_class: type[Domain]
    phases: dict[str, Handler]  # in the order they run
    resume_only: dict[str, Handler] = dataclasses.field(default_factory=dict)

    def handler(self, phase: str) -> Handler:
        return self.phases.get(phase) or self.resume_only[phase]


DOMAINS: dict[str, DomainSpec] = {
    "init": DomainSpec("Initialising", 1.0, InitialiseDomain,
                       {"init": InitialiseDomain.initialise}),
    "db": DomainSpec("Backing up the database", 30.0, DatabaseDomain,
                     {"dump": DatabaseDomain.dump, "add": DatabaseDomain.add}),
    "files": DomainSpec("Backing up files", 64.0, FilesDomain,
                        {"scan": FilesDomain.scan, "archive": FilesDomain.archive}),
    "finalise": DomainSpec("Finalising the archive", 5.0, FinaliseDomain,
                           {"prepare": FinaliseDomain.prepare, "add": FinaliseDomain.add,
                            "close": FinaliseDomain.close_archive},
                           resume_only={"closing": FinaliseDomain.closing}),
    "upload": DomainSpec("Sending to off-site storage", 5.0, UploadDomain,
                         {"send": UploadDomain.send}),
}

DOMAINS_BY_TYPE = {
    "full": ("init", "db", "files", "finalise"),
    "files": ("init", "files", "finalise"),
    "db": ("init", "db", "finalise"),
}


def domain_keys(settings: Settings) -> tuple[str, ...]:
    """The domains a backup runs, in order."""
    keys = DOMAINS_BY_TYPE[settings.backup_type]
    return (*keys, "upload") if settings.profile.storage else keys


def first_phase(domain: str) -> str:
    return next(iter(DOMAINS[domain].phases))


def next_position(settings: Settings, domain: str, phase: str) -> tuple[str, str] | None:
    """The (domain, phase) after ``phase`` of ``domain``; None after the last one."""
    phases = list(DOMAINS[domain].phases)
    if phase in phases and phases.index(phase) + 1 < len(phases):
        return domain, phases[phases.index(phase) + 1]
    keys = domain_keys(settings)
    if keys.index(domain) + 1 < len(keys):
        following = keys[keys.index(domain) + 1]
        return following, first_phase(following)
    return None
