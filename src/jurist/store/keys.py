"""API keys at rest: only SHA-256 digests are stored, in ``<data_dir>/api_keys.json`` (mode 0600)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class KeyRecord:
    digest: str
    created_at: int
    label: str = ""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return "sk-jurist-" + secrets.token_urlsafe(32)


class KeyFile:
    """The keys a server accepts when ``JURIST_API_KEYS`` is not set."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "api_keys.json"

    def load(self) -> list[KeyRecord]:
        if not self.path.exists():
            return []
        data = json.loads(self.path.read_text("utf-8"))
        return [KeyRecord(**entry) for entry in data.get("keys", [])]

    def create(self, label: str = "") -> str:
        """Add a new random key, store its digest, and return the key itself (shown once)."""
        key = generate_key()
        records = [*self.load(), KeyRecord(digest(key), int(time.time()), label)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"keys": [asdict(r) for r in records]}, fh, indent=2)
        tmp.replace(self.path)
        return key
