"""The Mattermost model types as typed dataclasses (generated from the pinned Go module).

One class per Go type the plugin API, hooks and driver use, named like the Go type
(``model.Post`` → ``Post``; other packages get a prefix: ``plugin.Context`` → ``PluginContext``,
also available as ``Context``). Attributes are the JSON names in snake_case; defaults are Go's
zero values, so ``Post(channel_id=channel_id, message="hi")`` is a complete post.

Go's nil is ``None``: pointers, slices, maps and ``[]byte`` are ``X | None``, and an empty
list/dict/bytes stays different from nil both ways. ``any`` values (``Post.props`` and the like)
are plain Python data; see mmplugin._values for how Go's dynamic types are kept.
"""

from mmplugin._gen.models import *  # noqa: F403
from mmplugin._gen.models import PluginContext
from mmplugin._gen.models import __all__ as _generated

Context = PluginContext
"""The ``*plugin.Context`` hooks receive: session, request and connection ids of the caller."""

__all__ = [*_generated, "Context"]
