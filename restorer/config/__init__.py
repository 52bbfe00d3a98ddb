"""Site configuration files read without running PHP and rewritten so PHP reads back exactly
the new values: Joomla's ``configuration.php`` and WordPress' ``wp-config.php``."""
