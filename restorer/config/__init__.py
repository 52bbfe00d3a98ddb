"""Site configuration files (``configuration.php``, ``wp-config.php``) read and rewritten without PHP.

Rewritten so PHP reads back exactly the new values: Joomla's ``configuration.php`` and
WordPress' ``wp-config.php``."""
