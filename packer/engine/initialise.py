"""Domain ``init``: the backup log says what is backed up, where to, and how."""

from __future__ import annotations

import dataclasses
import json

from .domain import Domain


class InitialiseDomain(Domain):
    def initialise(self, deadline: float) -> bool:
        settings = self.state.settings
        site, log = settings.site, self.job.log
        log.info(f"site: {site.platform} {site.platform_version or ''} '{site.name}' at "
                 f"{settings.site_root}")
        if site.db:
            db = site.db
            log.info(f"database: {db['database']} at {db['host']}:{db['port']} as "
                     f"{db['user']}, prefix {site.prefix!r}")
        log.info(f"archive: {settings.archive} (format {settings.format}, part size "
                 f"{settings.part_size or 'unsplit'})")
        log.debug(f"profile: {json.dumps(dataclasses.asdict(settings.profile), sort_keys=True)}")
        self.state.progress.last_item = "initialised"
        return True
