"""``python -m packer.cli``: the ``sitepack`` command without the console script."""

from . import main

main(prog_name="sitepack")
