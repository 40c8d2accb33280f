package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/internal/coveragepage"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/storage"
)

// DefaultServeListen is where `changeproof serve` listens by default.
const DefaultServeListen = "127.0.0.1:9465"

const (
	// serveCacheTTL is how long a computed report is served again.
	serveCacheTTL = 30 * time.Second
	// serveCacheSize bounds how many periods are cached at once.
	serveCacheSize = 32
	// defaultListLimit and maxListLimit bound an evidence listing page.
	defaultListLimit = 1000
	maxListLimit     = 10000
)

// servedPrefixes are the parts of a store the evidence API reads, in key
// order (a listing of all of them pages through them in this order).
var servedPrefixes = []string{ledger.EvidencePrefix, ledger.KeysPrefix, ledger.RawPrefix, ledger.RunsPrefix}

type serveFlags struct {
	store, configPath, listen, tokenEnv string
	pubkeys                             []string
}

func (app *App) serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--config FILE] [--store URL] [--listen ADDR] [--pubkey FILE] [--token-env NAME]",
		Short: "Serve coverage, the coverage page, the evidence and metrics over read-only HTTP",
		Long: `Serve a store read-only over HTTP, for compliance owners and dashboards:

  /                           the coverage page: per control its status and
                              coverage, per job a timeline of its windows
                              coloured by status with every gap and its
                              reason, exceptions and verification problems
                              (one self-contained HTML page, no script)
  /api/v1/coverage            the coverage report as JSON, the same as
                              ` + "`changeproof coverage --output json`" + `
  /api/v1/evidence?prefix=P   the objects under P (evidence/, runs/, raw/ or
                              keys/; all four by default) as JSON: key, size,
                              modTime; limit (default 1000) and after page it
  /api/v1/evidence/KEY        one object's bytes
  /metrics                    Prometheus metrics: coverage ratio per control
                              and per job, windows per job and status, the
                              end of each job's newest covered window
  /healthz                    200 ok

/, /api/v1/coverage and /metrics cover the period given by the from and to
query parameters (dates such as 2026-11-01 or RFC 3339 times; to is
exclusive), by default the 30 days before now; /metrics always the default.
The jobs and their schedules come from --config (without it, from the
store's verified run records, as ` + "`changeproof coverage`" + ` derives them);
evidence is trusted only when it verifies with --pubkey (default: the
config's key + ".pub"), and what does not verify is shown as a gap, never
as covered. A computed report is
reused for 30 seconds per period, so dashboards polling every few seconds do
not re-verify the whole store each time.

The server only reads: any method but GET and HEAD is refused (405). It
listens on 127.0.0.1:9465 by default. With --token-env NAME, every endpoint
but /healthz requires the header "Authorization: Bearer TOKEN" where TOKEN is
the value of the environment variable NAME (a token is never taken from a
flag, which other users can read in the process list, and never logged);
listening beyond the loopback interface without a token logs a warning.
Without a token, only requests addressed to an IP address or localhost are
answered (421 otherwise), so a web page cannot read the evidence through DNS
rebinding; serve under a DNS name with a token. SIGINT or SIGTERM stops it
gracefully.

Exit codes: 0 after a graceful stop; 2 on a usage error or when the store,
the config or the key cannot be read or the address cannot be listened on.`,
		Example: `  changeproof serve --config changeproof.yaml
  open http://127.0.0.1:9465/
  curl -s 'http://127.0.0.1:9465/api/v1/coverage?from=2026-10-01&to=2026-11-01' | jq '.controls'

  # On a shared network, with a token:
  export CHANGEPROOF_SERVE_TOKEN=$(openssl rand -hex 32)
  changeproof serve --config changeproof.yaml --listen 0.0.0.0:9465 --token-env CHANGEPROOF_SERVE_TOKEN
  curl -s -H "Authorization: Bearer $CHANGEPROOF_SERVE_TOKEN" http://host:9465/api/v1/coverage`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.serve(cmd, &f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.configPath, "config", "", "config file: its jobs, store, key and controls (without it, jobs are derived from the store's run records)")
	fs.StringVar(&f.store, "store", "", "evidence store URL (default: the config's store, else "+DefaultStore+")")
	fs.StringVar(&f.listen, "listen", DefaultServeListen, "address to listen on")
	fs.StringArrayVar(&f.pubkeys, "pubkey", nil, "trusted Ed25519 public key, SPKI PEM (repeatable; default: the config's key + \".pub\")")
	fs.StringVar(&f.tokenEnv, "token-env", "", "name of the environment variable holding the bearer token every endpoint but /healthz then requires")
	return cmd
}

func (app *App) serve(cmd *cobra.Command, f *serveFlags) error {
	ctx := cmd.Context()
	var token string
	if f.tokenEnv != "" {
		if token = app.Getenv(f.tokenEnv); token == "" {
			return fail(ExitError, fmt.Errorf("--token-env %s: the environment variable %s is not set or empty", f.tokenEnv, f.tokenEnv))
		}
	}
	if _, _, err := net.SplitHostPort(f.listen); err != nil {
		return fail(ExitError, fmt.Errorf("--listen %q: want host:port, e.g. %s", f.listen, DefaultServeListen))
	}
	src, err := app.serveSource(cmd, f)
	if err != nil {
		return fail(ExitError, err)
	}
	logger := app.logger()
	srv := newCoverageServer(src, app.Now, token, logger)
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fail(ExitError, fmt.Errorf("--listen %s: %w", f.listen, err))
	}
	if token == "" && !isLoopback(f.listen) {
		logger.Warn("serving evidence beyond the loopback interface without a token: anyone who can reach the address can read it; set --token-env", "addr", ln.Addr().String())
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Computing a report verifies the store: give a large one time.
		WriteTimeout:   5 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(app.Stderr, "changeproof: serving %s at http://%s/ (%d job(s); %s)\n", src.storeURL, ln.Addr(), src.jobs, map[bool]string{true: "bearer token required", false: "no token"}[token != ""])
	if app.Listening != nil {
		app.Listening(ln.Addr().String())
	}
	select {
	case err := <-served:
		return fail(ExitError, fmt.Errorf("serving on %s: %w", ln.Addr(), err))
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		logger.Warn("requests still running at shutdown were cut off", "err", err)
	}
	return nil
}

// isLoopback reports whether a listen address only accepts local
// connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// coverageSource is what the server reads: a store and how to compute its
// coverage for a period.
type coverageSource struct {
	store    storage.Store
	storeURL string
	jobs     int
	// period resolves the from and to query parameters (either may be
	// empty) at a clock reading.
	period func(from, to string, now time.Time) (coverage.Period, error)
	// compute computes the report of a period at a clock reading.
	compute func(ctx context.Context, p coverage.Period, now time.Time) (*coverage.Report, error)
}

// coverageServer is the read-only HTTP API and page over one store.
type coverageServer struct {
	src      *coverageSource
	now      func() time.Time
	tokenSum *[sha256.Size]byte
	logger   *slog.Logger
	handler  http.Handler

	mu    sync.Mutex
	cache map[string]cachedReport
}

type cachedReport struct {
	rep *coverage.Report
	at  time.Time
}

func newCoverageServer(src *coverageSource, now func() time.Time, token string, logger *slog.Logger) *coverageServer {
	s := &coverageServer{src: src, now: now, logger: logger, cache: map[string]cachedReport{}}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		s.tokenSum = &sum
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /api/v1/coverage", s.coverage)
	mux.HandleFunc("GET /api/v1/evidence", s.list)
	mux.HandleFunc("GET /api/v1/evidence/{key...}", s.object)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "", fmt.Sprintf("no such endpoint %s (see `changeproof serve --help`)", r.URL.Path))
	})
	s.handler = mux
	return s
}

// ServeHTTP refuses writes, checks the token, then routes.
func (s *coverageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h := rec.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		h.Set("Allow", "GET, HEAD")
		writeJSONError(rec, http.StatusMethodNotAllowed, "", "read-only: only GET and HEAD are allowed")
	case s.tokenSum != nil && r.URL.Path != "/healthz" && !s.authorized(r):
		h.Set("WWW-Authenticate", `Bearer realm="changeproof"`)
		writeJSONError(rec, http.StatusUnauthorized, "", "a bearer token is required: send the header Authorization: Bearer TOKEN")
	case s.tokenSum == nil && !hostWithoutName(r.Host):
		// DNS rebinding: a web page can point its own name at 127.0.0.1
		// and read the answers with script. Without a token, only
		// requests addressed to an IP address or localhost are served.
		writeJSONError(rec, http.StatusMisdirectedRequest, "", "without --token-env, only requests to an IP address or localhost are answered (Host "+strconv.Quote(r.Host)+"); serve with a token to use a DNS name")
	default:
		s.handler.ServeHTTP(rec, r)
	}
	// The token travels in a header, never logged; the query holds none.
	s.logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start).Round(time.Millisecond))
}

// hostWithoutName reports whether a Host header names an IP address or
// localhost: names a DNS rebinding attack cannot point elsewhere.
func hostWithoutName(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.EqualFold(host, "localhost") || net.ParseIP(host) != nil
}

// authorized compares the bearer token in constant time (of the digests,
// so the token's length does not leak either).
func (s *coverageServer) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// queryError is a bad query parameter, answered with 400.
type queryError struct {
	param string
	err   error
}

func (e *queryError) Error() string { return "query parameter " + e.err.Error() }

// report returns the report of the period the query asks for, computing
// it at most once per serveCacheTTL per period.
func (s *coverageServer) report(ctx context.Context, from, to string) (*coverage.Report, error) {
	key := from + "\x00" + to
	s.mu.Lock()
	defer s.mu.Unlock() // one computation at a time: each verifies the store
	now := s.now()
	if c, ok := s.cache[key]; ok && now.Sub(c.at) < serveCacheTTL && !now.Before(c.at) {
		return c.rep, nil
	}
	p, err := s.src.period(from, to, now)
	if err != nil {
		return nil, err
	}
	rep, err := s.src.compute(ctx, p, now)
	if err != nil {
		return nil, err
	}
	for k, c := range s.cache {
		if now.Sub(c.at) >= serveCacheTTL || len(s.cache) >= serveCacheSize {
			delete(s.cache, k)
		}
	}
	s.cache[key] = cachedReport{rep: rep, at: now}
	return rep, nil
}

// queryReport is report for a request's from and to, answering the error
// itself; nil means it did.
func (s *coverageServer) queryReport(w http.ResponseWriter, r *http.Request) *coverage.Report {
	q := r.URL.Query()
	rep, err := s.report(r.Context(), q.Get("from"), q.Get("to"))
	if err != nil {
		var qe *queryError
		if errors.As(err, &qe) {
			writeJSONError(w, http.StatusBadRequest, qe.param, err.Error())
			return nil
		}
		s.logger.Error("computing coverage", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "", "computing coverage: "+err.Error())
		return nil
	}
	return rep
}

func (s *coverageServer) coverage(w http.ResponseWriter, r *http.Request) {
	if rep := s.queryReport(w, r); rep != nil {
		writeJSON(w, http.StatusOK, rep)
	}
}

func (s *coverageServer) page(w http.ResponseWriter, r *http.Request) {
	rep := s.queryReport(w, r)
	if rep == nil {
		return
	}
	var buf bytes.Buffer
	err := coveragepage.Render(&buf, rep, coveragepage.Options{
		EvidenceURL: func(key string) string { return "api/v1/evidence/" + key },
	})
	if err != nil {
		s.logger.Error("rendering the coverage page", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page needs nothing but its inline style.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// objectJSON is one object of an evidence listing.
type objectJSON struct {
	Key     string    `json:"key"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
}

type listingJSON struct {
	Prefix  string       `json:"prefix"`
	Objects []objectJSON `json:"objects"`
	// Truncated is true when more objects follow; Next is the after
	// parameter of the next page.
	Truncated bool   `json:"truncated"`
	Next      string `json:"next,omitempty"`
}

// servedPrefix reports whether key lies under a prefix the API serves.
func servedPrefix(key string) bool {
	for _, p := range servedPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func (s *coverageServer) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix := q.Get("prefix")
	prefixes := servedPrefixes
	if prefix != "" {
		if !servedPrefix(prefix) {
			writeJSONError(w, http.StatusBadRequest, "prefix", fmt.Sprintf("query parameter prefix %q: want one under %s", prefix, strings.Join(servedPrefixes, ", ")))
			return
		}
		prefixes = []string{prefix}
	}
	limit := defaultListLimit
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxListLimit {
			writeJSONError(w, http.StatusBadRequest, "limit", fmt.Sprintf("query parameter limit %q: want a number from 1 to %d", l, maxListLimit))
			return
		}
		limit = n
	}
	after := q.Get("after")
	out := listingJSON{Prefix: prefix, Objects: []objectJSON{}}
	for _, p := range prefixes {
		if after != "" && after >= p && !strings.HasPrefix(after, p) {
			continue // a page already past this prefix
		}
		for obj, err := range s.src.store.List(r.Context(), p) {
			if err != nil {
				s.logger.Error("listing the store", "prefix", p, "err", err)
				writeJSONError(w, http.StatusBadGateway, "", fmt.Sprintf("listing %s: %v", p, err))
				return
			}
			if obj.Key <= after {
				continue
			}
			if len(out.Objects) == limit {
				out.Truncated, out.Next = true, out.Objects[limit-1].Key
				writeJSON(w, http.StatusOK, out)
				return
			}
			out.Objects = append(out.Objects, objectJSON{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime.UTC()})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *coverageServer) object(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if err := storage.ValidateKey(key); err != nil {
		writeJSONError(w, http.StatusBadRequest, "key", err.Error())
		return
	}
	if !servedPrefix(key) {
		writeJSONError(w, http.StatusBadRequest, "key", fmt.Sprintf("key %q: only objects under %s are served", key, strings.Join(servedPrefixes, ", ")))
		return
	}
	data, err := s.src.store.Get(r.Context(), key)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		writeJSONError(w, http.StatusNotFound, "key", fmt.Sprintf("no object %s in the store", key))
		return
	case errors.Is(err, storage.ErrInvalidKey):
		writeJSONError(w, http.StatusBadRequest, "key", err.Error())
		return
	case err != nil:
		s.logger.Error("reading the store", "key", key, "err", err)
		writeJSONError(w, http.StatusBadGateway, "", fmt.Sprintf("reading %s: %v", key, err))
		return
	}
	h := w.Header()
	if strings.HasSuffix(key, ".json") {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", key[strings.LastIndexByte(key, '/')+1:]))
	_, _ = w.Write(data)
}

// metrics serves the default period's coverage in the Prometheus format,
// from a registry of this server's own (never the global one).
func (s *coverageServer) metrics(w http.ResponseWriter, r *http.Request) {
	rep, err := s.report(r.Context(), "", "")
	if err != nil {
		// Could not check is not a number: fail the scrape (up == 0).
		s.logger.Error("computing coverage for /metrics", "err", err)
		http.Error(w, "computing coverage: "+err.Error(), http.StatusInternalServerError)
		return
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(coverageCollector{rep})
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).ServeHTTP(w, r)
}

var (
	controlRatioDesc = prometheus.NewDesc("changeproof_control_coverage_ratio",
		"Share of the control's expected windows in the last 30 days covered by verified evidence (1 when none was expected).", []string{"framework", "control"}, nil)
	jobRatioDesc = prometheus.NewDesc("changeproof_job_coverage_ratio",
		"Share of the job's expected windows in the last 30 days covered by verified evidence (1 when none was expected).", []string{"job"}, nil)
	jobWindowsDesc = prometheus.NewDesc("changeproof_job_windows",
		"Expected windows of the job in the last 30 days, by status (pass, fail, not_verifiable and error are covered; the others are gaps).", []string{"job", "status"}, nil)
	jobLastCoveredDesc = prometheus.NewDesc("changeproof_job_last_covered_window_end_timestamp_seconds",
		"End of the job's newest window covered by verified evidence, in seconds since the epoch; 0 when none is.", []string{"job"}, nil)
	jobStaleDesc = prometheus.NewDesc("changeproof_job_stale",
		"1 when a window of the job has ended that no verified evidence covers yet after its newest covered one.", []string{"job"}, nil)
	exceptionsDesc = prometheus.NewDesc("changeproof_coverage_exceptions",
		"Findings of covered windows in the last 30 days that did not pass.", nil, nil)
	problemsDesc = prometheus.NewDesc("changeproof_coverage_verification_problems",
		"Stored objects that affect coverage and do not verify.", nil, nil)
)

// coverageCollector exports one report.
type coverageCollector struct{ rep *coverage.Report }

func (coverageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{controlRatioDesc, jobRatioDesc, jobWindowsDesc, jobLastCoveredDesc, jobStaleDesc, exceptionsDesc, problemsDesc} {
		ch <- d
	}
}

func (c coverageCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, ctl := range c.rep.Controls {
		gauge(controlRatioDesc, ctl.Ratio, ctl.Framework, ctl.ID)
	}
	for _, j := range c.rep.Jobs {
		gauge(jobRatioDesc, j.Ratio, j.Name)
		for _, st := range coverage.WindowStatuses {
			gauge(jobWindowsDesc, float64(j.Counts[st]), j.Name, string(st))
		}
		last := 0.0
		if t := j.Freshness.LastCoveredEnd; !t.IsZero() {
			last = float64(t.Unix())
		}
		gauge(jobLastCoveredDesc, last, j.Name)
		stale := 0.0
		if j.Freshness.Stale {
			stale = 1
		}
		gauge(jobStaleDesc, stale, j.Name)
	}
	gauge(exceptionsDesc, float64(len(c.rep.Exceptions)))
	gauge(problemsDesc, float64(len(c.rep.Problems)))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeJSONError answers {"error": msg, "parameter": param}.
func writeJSONError(w http.ResponseWriter, code int, param, msg string) {
	writeJSON(w, code, struct {
		Error     string `json:"error"`
		Parameter string `json:"parameter,omitempty"`
	}{msg, param})
}

// serveSource opens what serve reads, as `changeproof coverage` does: the
// jobs (the config's, else derived from the store's run records at each
// computation), the trusted keys and the store, read-only.
func (app *App) serveSource(cmd *cobra.Command, f *serveFlags) (*coverageSource, error) {
	cfg, catalog, err := app.loadConfig(f.configPath)
	if err != nil {
		return nil, err
	}
	if f.configPath != "" && len(cfg.Jobs) == 0 {
		return nil, fmt.Errorf("%s has no jobs: coverage is about scheduled jobs (see `changeproof run --help`)", f.configPath)
	}
	v, err := trustedVerifier(f.pubkeys, cfg)
	if err != nil {
		return nil, err
	}
	url := orDefault(f.store, cfg.Store, DefaultStore)
	st, opts, err := app.openForVerify(cmd, url)
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	if opts.Prefix != "" {
		return nil, fmt.Errorf("--store %s is a file in a store, not a store", redact(url))
	}
	var specs []coverage.Spec
	if f.configPath != "" {
		if specs, err = SpecsFromConfig(cfg, catalog); err != nil {
			return nil, err
		}
	}
	order := make([]string, len(catalog.Controls))
	for i, c := range catalog.Controls {
		order[i] = c.ID
	}
	return &coverageSource{
		store: st, storeURL: st.Describe().URL, jobs: len(specs),
		period: servePeriod,
		compute: func(ctx context.Context, p coverage.Period, now time.Time) (*coverage.Report, error) {
			specs := specs
			if specs == nil {
				var err error
				if specs, err = coverage.SpecsFromRuns(ctx, st, v, nil); err != nil {
					return nil, err
				}
			}
			return coverage.Compute(ctx, coverage.Input{Store: st, Verifier: v, Specs: specs, Period: p, Now: now, Catalog: order})
		},
	}, nil
}

// servePeriod resolves the from and to query parameters as coverage
// resolves --from and --to: dates or RFC 3339 times; by default the 30
// days before now.
func servePeriod(from, to string, now time.Time) (coverage.Period, error) {
	p, _, err := coveragePeriod(from, to, now)
	if err != nil {
		// coveragePeriod names the flag first: --from or --to.
		param := "from"
		if strings.HasPrefix(err.Error(), "--to") {
			param = "to"
		}
		msg := strings.NewReplacer("--from", "from", "--to", "to").Replace(err.Error())
		return p, &queryError{param: param, err: errors.New(msg)}
	}
	return p, nil
}
