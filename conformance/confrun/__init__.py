"""mmplugin's conformance runner: the same plugin.API calls from a Go and a Python plugin on a
real Mattermost server, compared field by field (docs/protocol.md, "Conformance probes")."""
