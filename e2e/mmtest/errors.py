"""Errors raised by mmtest. Each message says what went wrong and what to do next."""


class MMTestError(Exception):
    """Base class for every mmtest error."""


class SetupError(MMTestError):
    """A tool or package the end-to-end tests need is missing or failed to build."""


class StartError(MMTestError):
    """PostgreSQL or the Mattermost server did not come up; the message has its log tail."""
