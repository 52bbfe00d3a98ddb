"""Domain ``upload``: the archive's parts to the profile's off-site storage, as the backup goes.

A part is sent once no later step can change it: every part before the one the last
saved checkpoint writes into (a resume cuts back only that part and deletes later ones;
a format patches only the entry it is writing), except the parts the format rewrites at
close (``ArchiveWriter.rewritten_at_close``: JPA's first part). ``send_settled`` runs
before every phase handler while the archive is written; the ``send`` phase sends the
rest after close and completes the backup. Every piece stored saves the state
(``job.save``), so a killed backup resumes each upload where the server has it.

A storage failure does not fail the archive: uploading stops (open uploads aborted), the
local parts stay, and the backup ends ``upload-pending`` with its progress in the
record, for ``sitepack backups upload ID``. A backup that fails for good removes what
it stored or left open remotely (``discard``).
"""

from __future__ import annotations

import time
from pathlib import Path

from restorer.formats.parts import numbered_part

from ..archive import writer_class
from ..storage import Storage, StorageError, new_upload, open_storage
from ..storage.offsite import offsite_record
from .domain import Domain


class UploadDomain(Domain):
    _storage: Storage | None = None

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            settings = self.state.settings
            self._storage = open_storage(settings.profile.storage, settings.storage_folder)
        return self._storage

    # -- while the archive is written ------------------------------------------------------
    def send_settled(self, deadline: float) -> None:
        """Sends the parts no later step can change, until ``deadline``."""
        writer_state = self.state.checkpoints.writer
        if self.state.offsite.error or not writer_state:
            return
        writer = self.job.writer
        if writer is not None and writer.part_number > writer_state["part"]["index"]:
            self.job.save()  # a checkpoint in the new part settles the ones before it
            writer_state = self.state.checkpoints.writer
        final = Path(self.state.settings.archive)
        rewritten = writer_class(self.state.settings.format).rewritten_at_close
        for index in range(1, writer_state["part"]["index"]):
            if index not in rewritten and not self._send(numbered_part(final, index), deadline):
                return

    # -- after close ---------------------------------------------------------------------
    def send(self, deadline: float) -> bool:
        parts = [Path(p) for p in self.state.parts]
        for local in parts:
            if self.state.offsite.error is None and not self._send(local, deadline):
                return False
        self.job.complete(parts, offsite=offsite_record(self.storage, self.state.offsite.uploads,
                                                        self.state.offsite.error))
        return True

    def fraction(self, phase: str) -> float:
        uploads = self.state.offsite.uploads
        total = sum(u.size for u in uploads) or 1
        return sum(u.size for u in uploads if u.stored) / total

    # -- one part --------------------------------------------------------------------------
    def _send(self, local: Path, deadline: float) -> bool:
        """True once ``local`` is stored (or uploading stopped); False at the deadline."""
        offsite = self.state.offsite
        if offsite.error:
            return True
        upload = offsite.upload(local.name)
        if upload is None or not upload.stored:
            if time.monotonic() >= deadline:
                return False
            try:
                if upload is None:
                    upload = new_upload(local)
                    offsite.uploads.append(upload)
                self.state.progress.minor = f"sending {local.name} to {self.storage.location}"
                if not self.storage.upload(local, upload, deadline=deadline, saved=self.job.save):
                    return False
            except StorageError as exc:
                self._stop(exc)
                return True
            self.job.log.info(f"stored {local.name} on {self.storage.location} "
                              f"({upload.size} bytes, SHA-256 verified)")
        if self.state.settings.profile.storage["delete_local"]:
            local.unlink(missing_ok=True)
        return True

    def _stop(self, exc: StorageError) -> None:
        self.state.offsite.error = str(exc)
        for upload in self.state.offsite.uploads:
            if not upload.stored and upload.resume:
                try:
                    self.storage.abort(upload)
                except StorageError:  # unreachable too: the record keeps the id to abort later
                    pass
        self.job.warn(f"off-site upload stopped, every part not yet stored is kept locally: "
                      f"{exc}; finish it with `sitepack backups upload {self.state.id}`")

    def discard(self) -> None:
        """A backup failed for good: removes what it stored or left open remotely."""
        for upload in self.state.offsite.uploads:
            try:
                if upload.stored:
                    self.storage.delete(upload.name)
                else:
                    self.storage.abort(upload)
            except StorageError as exc:
                self.job.log.error(f"could not remove {upload.name} from off-site storage: {exc}")

