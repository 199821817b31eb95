package control

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/telegram"
)

// Metrics are the scheduler's Prometheus metrics, in a registry of their
// own (with the Go runtime's and the process's). Observe feeds them the
// loop's reports; the rest is read at each scrape.
type Metrics struct {
	registry *prometheus.Registry
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	lag      prometheus.Histogram
}

// NewMetrics returns the metrics of a scheduler of the given version.
func NewMetrics(version string) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scheduler_runs_total",
			Help: "Runs ended, by job and outcome (ok, failed, timeout, panic, canceled, skipped).",
		}, []string{"job", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_run_duration_seconds",
			Help:    "How long runs took, retries included, by job.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"job"}),
		// One histogram for the loop, not one per job: lag measures the
		// scheduler, and a per-job series would multiply its buckets.
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scheduler_fire_lag_seconds",
			Help:    "From a run's scheduled instant (jitter included) to its start.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60},
		}),
	}
	m.registry.MustRegister(m.runs, m.duration, m.lag,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "scheduler_build_info",
			Help:        "Always 1; the version label says which scheduler runs.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
	)
	return m
}

// Observe records the end of a run; Service.OnRunEnd calls it.
func (m *Metrics) Observe(r runtime.Report) {
	m.runs.WithLabelValues(r.Job, r.Outcome).Inc()
	if r.Outcome == runtime.OutcomeSkipped || r.Start.IsZero() {
		return // the run never started
	}
	m.duration.WithLabelValues(r.Job).Observe(r.End.Sub(r.Start).Seconds())
	m.lag.Observe(max(0, r.Start.Sub(r.Scheduled).Seconds()))
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// forget drops the series of a job that is gone, so that a reload that
// removes a job does not leave its series behind for ever.
func (m *Metrics) forget(job string) {
	m.runs.DeletePartialMatch(prometheus.Labels{"job": job})
	m.duration.DeleteLabelValues(job)
}

// jobsCollector reads the service's jobs at each scrape.
type jobsCollector struct {
	s                                *Service
	next, paused, running, jobsCount *prometheus.Desc
}

func newJobsCollector(s *Service) *jobsCollector {
	return &jobsCollector{
		s: s,
		next: prometheus.NewDesc("scheduler_next_fire_timestamp_seconds",
			"When the job fires next, in Unix seconds; absent while paused or when it never fires again.", []string{"job"}, nil),
		paused: prometheus.NewDesc("scheduler_job_paused",
			"1 while the job is paused by the operator.", []string{"job"}, nil),
		running: prometheus.NewDesc("scheduler_running_runs",
			"Runs executing now, over all jobs.", nil, nil),
		jobsCount: prometheus.NewDesc("scheduler_jobs",
			"Jobs configured.", nil, nil),
	}
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.next
	ch <- c.paused
	ch <- c.running
	ch <- c.jobsCount
}

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	entries := c.s.opts.Group.Entries()
	c.s.mu.Lock()
	paused := make(map[string]bool, len(c.s.paused))
	for name, p := range c.s.paused {
		paused[name] = p
	}
	c.s.mu.Unlock()
	for _, e := range entries {
		p := 0.0
		if paused[e.Name()] {
			p = 1
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, p, e.Name())
		if next := e.NextFire(); !next.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.next, prometheus.GaugeValue, float64(next.UnixNano())/1e9, e.Name())
		}
	}
	ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(c.s.Running()))
	ch <- prometheus.MustNewConstMetric(c.jobsCount, prometheus.GaugeValue, float64(len(entries)))
}

// WatchTelegram exports the Telegram client's counters, read from stats at
// each scrape.
func (m *Metrics) WatchTelegram(stats func() telegram.Stats) {
	m.registry.MustRegister(&telegramCollector{
		stats: stats,
		connected: prometheus.NewDesc("scheduler_telegram_connected",
			"1 while the Telegram client is logged in and connected.", nil, nil),
		sends: prometheus.NewDesc("scheduler_telegram_sends_total",
			"Messages posted to Telegram (send, file, forward).", nil, nil),
		sendErrors: prometheus.NewDesc("scheduler_telegram_send_errors_total",
			"Send, file and forward calls that failed after all retries.", nil, nil),
		floodWaits: prometheus.NewDesc("scheduler_telegram_flood_waits_total",
			"FLOOD_WAIT (and SLOWMODE_WAIT) answers received from Telegram.", nil, nil),
		floodWait: prometheus.NewDesc("scheduler_telegram_flood_wait_seconds_total",
			"Total wait those answers asked for.", nil, nil),
		requests: prometheus.NewDesc("scheduler_telegram_requests_total",
			"API calls made to Telegram, each once however often retried.", nil, nil),
	})
}

type telegramCollector struct {
	stats                                                         func() telegram.Stats
	connected, sends, sendErrors, floodWaits, floodWait, requests *prometheus.Desc
}

func (c *telegramCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connected, c.sends, c.sendErrors, c.floodWaits, c.floodWait, c.requests} {
		ch <- d
	}
}

func (c *telegramCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	connected := 0.0
	if s.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, connected)
	ch <- prometheus.MustNewConstMetric(c.sends, prometheus.CounterValue, float64(s.Sends))
	ch <- prometheus.MustNewConstMetric(c.sendErrors, prometheus.CounterValue, float64(s.SendErrors))
	ch <- prometheus.MustNewConstMetric(c.floodWaits, prometheus.CounterValue, float64(s.FloodWaits))
	ch <- prometheus.MustNewConstMetric(c.floodWait, prometheus.CounterValue, s.FloodWait.Seconds())
	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(s.Requests))
}
