// Build-only module for Mattermost 9.11.0 (the Extended Support Release), used by
// the end-to-end matrix. Started from the two requires and server/v8's own
// exclude block (dependencies' exclude/replace lines are not inherited), then
// filled in by `go build -mod=mod`; see ../../README.md.
module github.com/mmplugin/mmplugin/e2e/mmserver/v9.11

go 1.21.0

require (
	github.com/mattermost/mattermost/server/public v0.1.6
	github.com/mattermost/mattermost/server/v8 v8.0.0-20240725195723-b244bb621d4d
)

exclude (
	github.com/RoaringBitmap/roaring v0.7.0
	github.com/RoaringBitmap/roaring v0.7.1
	github.com/dyatlov/go-opengraph v0.0.0-20210112100619-dae8665a5b09
	github.com/willf/bitset v1.2.0
)
