"""sitepack's backup side: a site read, scanned, dumped and packed into one archive, step by step.

Site reading, scanning, the database dump, the archive writers, the step engine,
records, profiles, the backup web UI and the command line.

``packer`` may import ``restorer`` (the readers share the header layouts written once in
``restorer.formats``); never the other way round.
"""

from restorer import __version__

__all__ = ["__version__"]
