package measure

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Steal is the CPU time a virtual machine's hypervisor gave to others
// while a scenario was measured, summed over the machine's CPUs. A
// scheduler cannot start a run on a CPU that is not running: on a shared
// host a few seconds of heavy steal decide a p99 lag, whatever the
// scheduler does, so the report shows it beside the lags.
type Steal struct {
	Span        int64 `json:"span_ns"`         // how long it was watched
	Total       int64 `json:"total_ns"`        // stolen over Span
	WorstSecond int64 `json:"worst_second_ns"` // stolen in the worst second
	// Seconds is what was stolen in each whole second watched, in order;
	// -1 for a second whose reading failed.
	Seconds []int64 `json:"seconds_ns,omitempty"`
}

// Share returns the steal as a share of one CPU's time over the span, or
// false for a nil Steal or one not watched at all.
func (s *Steal) Share() (float64, bool) {
	if s == nil || s.Span <= 0 {
		return 0, false
	}
	return float64(s.Total) / float64(s.Span), true
}

// userHZ is the unit of /proc/stat's times: USER_HZ, 100 on every Linux
// architecture Go supports.
const userHZ = 100

// StolenTime returns the steal column of /proc/stat's "cpu" line: time
// stolen from this machine's CPUs since boot, summed over them.
func StolenTime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseStolen(b)
}

func parseStolen(stat []byte) (time.Duration, error) {
	sc := bufio.NewScanner(bytes.NewReader(stat))
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) == 0 || string(fields[0]) != "cpu" {
			continue
		}
		// cpu user nice system idle iowait irq softirq steal ...
		if len(fields) < 9 {
			return 0, fmt.Errorf("/proc/stat: cpu line has no steal column")
		}
		ticks, err := strconv.ParseInt(string(fields[8]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: steal: %w", err)
		}
		return time.Duration(ticks) * (time.Second / userHZ), nil
	}
	return 0, fmt.Errorf("/proc/stat: no cpu line")
}

// StealWatch reads StolenTime once a second, from WatchSteal to Stop.
type StealWatch struct {
	stop chan struct{}
	done chan Steal
}

// WatchSteal starts watching; it returns nil where there is no steal to
// read (not Linux, or a kernel without the column). The readings fall at
// the start plus whole seconds: a caller starting it half a second before
// a run of whole-second instants has each second's reading centred on one.
func WatchSteal() *StealWatch {
	first, err := StolenTime()
	if err != nil {
		return nil
	}
	w := &StealWatch{stop: make(chan struct{}), done: make(chan Steal, 1)}
	go w.watch(first)
	return w
}

func (w *StealWatch) watch(first time.Duration) {
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var st Steal
	prev := first
	// read adds the steal since the last reading; a whole second's is
	// also kept in Seconds, as -1 if it could not be read.
	read := func(whole bool) {
		now, err := StolenTime()
		if err != nil {
			if whole {
				st.Seconds = append(st.Seconds, -1)
			}
			return
		}
		st.WorstSecond = max(st.WorstSecond, int64(now-prev))
		st.Total += int64(now - prev)
		if whole {
			st.Seconds = append(st.Seconds, int64(now-prev))
		}
		prev = now
	}
	for {
		select {
		case <-tick.C:
			read(true)
		case <-w.stop:
			read(false)
			st.Span = int64(time.Since(start))
			w.done <- st
			return
		}
	}
}

// Stop ends the watch and returns what it saw; on a nil watch it returns
// nil.
func (w *StealWatch) Stop() *Steal {
	if w == nil {
		return nil
	}
	close(w.stop)
	st := <-w.done
	return &st
}
