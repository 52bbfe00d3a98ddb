"""sitepack's restore side: an archive read, extracted and its site restored, step by step.

Archive readers, extraction, database import, configuration rewriting, data replacement,
the restore session, the wizard and the launchers, one folder per job.

This package travels alone inside every site bundle (``installation/restorer``), so it
must never import ``packer``.
"""

__version__ = "0.1.0"
