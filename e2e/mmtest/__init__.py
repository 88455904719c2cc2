"""mmtest: a real Mattermost server on a throwaway PostgreSQL, for mmplugin's end-to-end tests.

Modules: ``build`` (build and cache the server), ``postgres`` (throwaway cluster), ``server``
(``MattermostServer``), ``api`` (REST helpers over httpx), ``ws`` (WebSocket events over
websockets), ``bundle`` (plugin bundles, the Go twin plugin). ``python -m mmtest --help``
for the command line.

This module imports nothing beyond the standard library, so that ``python -m mmtest test``
can install the test requirements before ``api``/``ws``/``server`` are imported.
"""
