package scheduler

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/changeproof/changeproof/evidence"
)

// Metrics are the scheduler's Prometheus metrics, on a registry of their
// own (no global state).
type Metrics struct {
	reg         *prometheus.Registry
	lastRun     *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.GaugeVec
	status      *prometheus.GaugeVec
	findings    *prometheus.GaugeVec
	windowEnd   *prometheus.GaugeVec
	runs        *prometheus.CounterVec
	skipped     *prometheus.CounterVec
}

// NewMetrics creates the metrics, with the Go and process collectors.
func NewMetrics() *Metrics {
	job := []string{"job"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "changeproof_job_last_run_timestamp_seconds",
			Help: "When the job's last run finished (Unix time)."}, job),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "changeproof_job_last_success_timestamp_seconds",
			Help: "When the job's last successful run finished (Unix time)."}, job),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "changeproof_job_last_run_duration_seconds",
			Help: "How long the job's last run took."}, job),
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "changeproof_job_last_run_status",
			Help: "1 for the status of the job's last run (success, error, interrupted, missed), 0 for the others."}, []string{"job", "status"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "changeproof_job_last_run_findings",
			Help: "Findings of the job's last run that wrote evidence, by status."}, []string{"job", "status"}),
		windowEnd: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "changeproof_job_last_window_end_timestamp_seconds",
			Help: "End of the newest window the job recorded (Unix time): evidence freshness."}, job),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "changeproof_job_runs_total",
			Help: "Runs of the job by status."}, []string{"job", "status"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "changeproof_job_skipped_ticks_total",
			Help: "Schedule ticks skipped because the job's previous run was still going."}, job),
	}
	m.reg.MustRegister(m.lastRun, m.lastSuccess, m.duration, m.status, m.findings, m.windowEnd, m.runs, m.skipped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register makes a job's series exist (at zero) before its first run, so
// a dashboard sees the job at once.
func (m *Metrics) Register(job string) {
	for _, s := range evidence.RunStatuses {
		m.status.WithLabelValues(job, string(s))
		m.runs.WithLabelValues(job, string(s))
	}
	m.skipped.WithLabelValues(job)
}

// Observe records a run.
func (m *Metrics) Observe(r Result) {
	finished := r.Finished
	if r.Record != nil {
		finished = r.Record.Statement.Predicate.FinishedAt
	}
	if !finished.IsZero() {
		m.lastRun.WithLabelValues(r.Job).Set(float64(finished.UnixNano()) / 1e9)
	}
	m.duration.WithLabelValues(r.Job).Set(r.Duration.Seconds())
	for _, s := range evidence.RunStatuses {
		v := 0.0
		if s == r.Status {
			v = 1
		}
		m.status.WithLabelValues(r.Job, string(s)).Set(v)
	}
	m.runs.WithLabelValues(r.Job, string(r.Status)).Inc()
	if r.Status == evidence.RunSuccess && !finished.IsZero() {
		m.lastSuccess.WithLabelValues(r.Job).Set(float64(finished.UnixNano()) / 1e9)
	}
	// An interrupted window is collected again: it does not count.
	if r.Record != nil && r.Status != evidence.RunInterrupted && !r.Window.End.IsZero() {
		m.windowEnd.WithLabelValues(r.Job).Set(float64(r.Window.End.Unix()))
	}
	if r.Evidence != nil {
		counts := r.Evidence.Statement.Predicate.Counts
		for _, s := range evidence.Statuses {
			m.findings.WithLabelValues(r.Job, string(s)).Set(float64(counts[s]))
		}
	}
}

// Skipped counts a skipped tick.
func (m *Metrics) Skipped(job string) { m.skipped.WithLabelValues(job).Inc() }

// Handler serves /metrics, and /healthz from healthy: 200 "ok" while the
// scheduler takes runs, 503 once it is stopping.
func (m *Metrics) Handler(healthy func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !healthy() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("stopping\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
