"""What the restore knows of each platform: Joomla's users, WordPress' prefix-bound keys, bcrypt."""
