"""The backup step engine: the job (``job.py``), its phase table and domain handlers, the output folder."""

from .job import BackupJob, StepReport, delete_backup, what_was_deleted, list_incomplete, run_to_completion
from .output import default_output_dir
from .password import archive_password_for, missing_password

__all__ = ["BackupJob", "StepReport", "run_to_completion", "list_incomplete", "delete_backup", "what_was_deleted",
           "default_output_dir", "archive_password_for", "missing_password"]
