// Build-only module for Mattermost 10.10.0, used by the end-to-end matrix.
// Started from the two requires and server/v8's own exclude/replace lines
// (a dependency's are not inherited), then filled in by `go build -mod=mod`;
// see ../../README.md. server/public v0.1.15 is the tag 5 hours after the
// server commit: the proxy refuses the same-commit pseudo-version.
module github.com/mmplugin/mmplugin/e2e/mmserver/v10.10

go 1.24.3

require (
	github.com/mattermost/mattermost/server/public v0.1.15
	github.com/mattermost/mattermost/server/v8 v8.0.0-20250610231028-731bd7c4145f
)

exclude (
	github.com/RoaringBitmap/roaring v0.7.0
	github.com/RoaringBitmap/roaring v0.7.1
	github.com/dyatlov/go-opengraph v0.0.0-20210112100619-dae8665a5b09
	github.com/willf/bitset v1.2.0
)

replace github.com/ledongthuc/pdf => github.com/ledongthuc/pdf v0.0.0-20240201131950-da5b75280b06

replace github.com/olekukonko/tablewriter => github.com/olekukonko/tablewriter v0.0.5
