"""sitepack's restore side: archive readers, extraction, database import, configuration
rewriting, data replacement and the restore wizard.

This package travels alone inside every site bundle (``installation/restorer``), so it
must never import ``packer``.
"""

__version__ = "0.1.0"
