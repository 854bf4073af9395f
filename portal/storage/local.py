"""Files on the local disk under one root directory (the default backend)."""

import os
import tempfile
from pathlib import Path


class LocalStorage:
    name = "local"

    def __init__(self, root):
        self.root = Path(root)

    def _path(self, key):
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or "\x00" in key:
            raise ValueError(f"bad storage key {key!r}")
        return path

    def save(self, key, data, content_type=None):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file.
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)

    def read(self, key):
        """The bytes under `key`, or None if there is no such file."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def exists(self, key):
        return self._path(key).is_file()

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix=""):
        """Every key (sorted), for backups."""
        if not self.root.exists():
            return []
        found = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(k for k in found if k.startswith(prefix) and "/.upload-" not in k)

    def check(self):
        """Raise if the storage cannot be written (for /health)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise OSError(f"{self.root} is not writable")
