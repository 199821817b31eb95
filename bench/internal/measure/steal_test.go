package measure

import (
	"testing"
	"time"
)

func TestParseStolen(t *testing.T) {
	stat := []byte("cpu  1248201 0 123123 4119893 5623 0 2108 64717 0 0\n" +
		"cpu0 622543 0 60080 2064781 1657 0 603 32530 0 0\n")
	got, err := parseStolen(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 647170 * time.Millisecond; got != want {
		t.Errorf("parseStolen = %v, want %v (64,717 ticks of 10 ms)", got, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 3 4 5 6 7\n", "cpu 1 2 3 4 5 6 7 x\n"} {
		if _, err := parseStolen([]byte(bad)); err == nil {
			t.Errorf("parseStolen(%q) succeeded, want an error", bad)
		}
	}
}

func TestWatchSteal(t *testing.T) {
	w := WatchSteal()
	if w == nil {
		t.Skip("no steal column in /proc/stat here")
	}
	st := w.Stop()
	if st.Span <= 0 || st.Total < 0 || st.WorstSecond < 0 || st.WorstSecond > st.Total {
		t.Errorf("Stop = %+v, want a positive span and 0 <= worst second <= total", st)
	}
	if share, ok := st.Share(); !ok || share < 0 {
		t.Errorf("Share = %v, %v; want a share of at least 0", share, ok)
	}
	if _, ok := (*Steal)(nil).Share(); ok {
		t.Error("Share of a nil Steal reported a share")
	}
	if (*StealWatch)(nil).Stop() != nil {
		t.Error("Stop on a nil watch returned a result")
	}
}
