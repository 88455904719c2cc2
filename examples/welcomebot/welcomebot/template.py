"""The Go plugin's message templates: ``{{.UserDisplayName}}``, ``{{.Team.DisplayName}}``, ...

Configurations written for the Go Welcome Bot use Go's text/template field syntax. This renders
that subset (field paths on the template data, Go names mapped to the models' attributes), so
those configurations keep working unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmplugin.models import Channel, Team, User

_FIELD = re.compile(r"\{\{\s*\.([A-Za-z]\w*(?:\.[A-Za-z]\w*)*)\s*\}\}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass
class MessageTemplate:
    """What a message can refer to (the Go plugin's MessageTemplate)."""

    welcome_bot: User
    user: User
    team: Team
    townsquare: Channel | None
    direct_message: Channel

    @property
    def user_display_name(self) -> str:
        """Go's User.GetDisplayName(ShowNicknameFullName): nickname, full name or username."""
        full = f"{self.user.first_name} {self.user.last_name}".strip()
        return self.user.nickname or full or self.user.username


def _attribute(name: str) -> str:
    return _CAMEL.sub("_", name).lower()  # "DisplayName" -> "display_name"


def render(lines: list[str], data: MessageTemplate) -> str:
    """The message lines joined with newlines, each ``{{.Field.Path}}`` replaced."""

    def value(match: re.Match[str]) -> str:
        obj: object = data
        for part in match.group(1).split("."):
            obj = getattr(obj, _attribute(part), None)
            if obj is None:
                return ""  # an unknown field renders empty, like a nil in Go's templates
        return str(obj)

    return _FIELD.sub(value, "\n".join(lines))
