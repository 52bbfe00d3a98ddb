"""sitepack's backup side: site reading, scanning, database dump, archive writers, the
step engine, records, profiles, the backup web UI and the command line.

``packer`` may import ``restorer`` (the readers share the header layouts written once in
``restorer.formats``); never the other way round.
"""

from restorer import __version__

__all__ = ["__version__"]
