"""What both web apps (the wizard and the backup UI) share: the login gate and HTTPS."""
