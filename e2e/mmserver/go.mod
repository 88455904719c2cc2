// Build-only module for the real Mattermost server used by the end-to-end tests.
// It is separate from the main module so that the server's dependencies never
// enter github.com/mmplugin/mmplugin's go.mod. See ../README.md for why this
// server/v8 pseudo-version was chosen.
module github.com/mmplugin/mmplugin/e2e/mmserver

go 1.24.11

tool github.com/mattermost/mattermost/server/v8/cmd/mattermost

require (
	github.com/mattermost/mattermost/server/public v0.1.22
	github.com/mattermost/mattermost/server/v8 v8.0.0-20260130160320-3321db82c3e7
)

// Replace directives of a dependency are not inherited; these two are copied
// verbatim from server/v8's own go.mod at the pinned commit.
replace github.com/olekukonko/tablewriter => github.com/olekukonko/tablewriter v0.0.5

replace github.com/vmihailenco/msgpack/v5 => github.com/mattermost/msgpack/v5 v5.0.0-20260120151306-2f9c67d7e57f
