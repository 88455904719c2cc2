"""Mattermost server versions as comparable values: ``ServerVersion.parse("9.11.0") < "10.10"``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering


@total_ordering
@dataclass(frozen=True)
class ServerVersion:
    """A server's ``major.minor.patch``; compares with another one or a ``"X.Y[.Z]"`` string."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> ServerVersion:
        match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
        if match is None:
            raise ValueError(f"not a Mattermost version (X.Y or X.Y.Z): {text!r}")
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch or 0))

    def _key(self, other: object) -> tuple[int, int, int] | None:
        if isinstance(other, str):
            other = ServerVersion.parse(other)
        if not isinstance(other, ServerVersion):
            return None
        return (other.major, other.minor, other.patch)

    def __eq__(self, other: object) -> bool:
        key = self._key(other)
        return NotImplemented if key is None else (self.major, self.minor, self.patch) == key

    def __lt__(self, other: object) -> bool:
        key = self._key(other)
        return NotImplemented if key is None else (self.major, self.minor, self.patch) < key

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"
