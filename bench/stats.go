package bench

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Summary describes a set of latency samples.
type Summary struct {
	N    int
	P50  time.Duration
	P99  time.Duration
	Mean time.Duration
}

// Summarize computes the summary of samples (which it sorts in place). Percentiles use the
// nearest-rank method: P99 is the smallest sample at or above 99 % of all samples.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	slices.Sort(samples)
	var total time.Duration
	for _, s := range samples {
		total += s
	}
	return Summary{
		N:    len(samples),
		P50:  Percentile(samples, 50),
		P99:  Percentile(samples, 99),
		Mean: total / time.Duration(len(samples)),
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of sorted samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Nanos turns durations in nanoseconds (as the twins report them) into samples.
func Nanos(ns []int64) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n)
	}
	return out
}

// Micros formats d in microseconds with one decimal below 100 µs ("87.3 µs", "412 µs",
// "12.4 ms" from 10 ms on), the resolution that matters at these latencies.
func Micros(d time.Duration) string {
	us := float64(d) / float64(time.Microsecond)
	switch {
	case d <= 0:
		return "–"
	case us < 100:
		return fmt.Sprintf("%.1f µs", us)
	case us < 10000:
		return fmt.Sprintf("%.0f µs", us)
	default:
		return fmt.Sprintf("%.1f ms", us/1000)
	}
}

// Ratio formats a/b as "1.93×", or "–" when b is zero.
func Ratio(a, b float64) string {
	if b == 0 || a == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
