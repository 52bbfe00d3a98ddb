"""The restore session: its steps, the answers that drive it, the installer password, the finish."""
