package bench

import (
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		samples = append(samples, time.Duration(i)*time.Microsecond)
	}
	s := Summarize(samples)
	if s.N != 100 || s.P50 != 50*time.Microsecond || s.P99 != 99*time.Microsecond {
		t.Fatalf("Summarize(1..100 µs) = %+v, want N=100 P50=50µs P99=99µs", s)
	}
	if s.Mean != 50500*time.Nanosecond {
		t.Fatalf("mean = %v, want 50.5µs", s.Mean)
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Fatalf("Percentile of one sample = %v, want it", got)
	}
	if got := Summarize(nil); got != (Summary{}) {
		t.Fatalf("Summarize(nil) = %+v, want zero", got)
	}
}

func TestFormatting(t *testing.T) {
	cases := map[time.Duration]string{
		87300 * time.Nanosecond:  "87.3 µs",
		412 * time.Microsecond:   "412 µs",
		12400 * time.Microsecond: "12.4 ms",
		0:                        "–",
	}
	for d, want := range cases {
		if got := Micros(d); got != want {
			t.Errorf("Micros(%v) = %q, want %q", d, got, want)
		}
	}
	if got := Ratio(3, 2); got != "1.50×" {
		t.Errorf("Ratio(3, 2) = %q", got)
	}
	if got := Ratio(3, 0); got != "–" {
		t.Errorf("Ratio(3, 0) = %q", got)
	}
}
