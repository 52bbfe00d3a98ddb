"""How a restore starts: the bundle's ``installation/restore.py``, kickstart.pyz and their command lines."""
