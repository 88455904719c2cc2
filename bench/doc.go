// Package bench measures a Python plugin against its Go twin in the same run: both are loaded
// by the runtime harness (Mattermost's own plugin.Environment over go-plugin's netrpc), the
// Python one through the real mmplugin-host, and driven with the same hook calls, API calls
// from inside hooks, ServeHTTP requests and activations.
//
// `make bench` runs BenchmarkTwins (bench_test.go), prints the table and writes it into
// docs/benchmarks.md between the markers, keeping the prose around it. The twins are
// bench/goplugin (Go, plugin.ClientMain) and bench/pyplugin/plugin.py (the mmplugin SDK).
//
// This package holds what the driver needs besides the harness: percentiles (stats.go), the
// processes and memory a plugin adds (procs.go), the raw unix-socket floor (pingpong.go) and
// the report (report.go). Nothing here asserts on time: numbers on a shared 2-core VM vary by
// ±20 %, so they are recorded and compared against goals, never used to fail a test.
package bench
