package config

import (
	"fmt"
	"net"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
)

// DefaultListen is where `changeproof run` serves /healthz and /metrics:
// loopback only, unless the config says otherwise.
const DefaultListen = "127.0.0.1:9464"

// DefaultShutdownGrace is how long a run in progress may go on after
// SIGTERM before it is abandoned (and recorded as interrupted).
const DefaultShutdownGrace = 30 * time.Second

// DefaultClaimTTL is how long a run's claim on a job window holds before
// another process may take the window over (a crashed run's claim).
const DefaultClaimTTL = time.Hour

// Bounds of scheduler.claim_ttl.
const (
	minClaimTTL = time.Minute
	maxClaimTTL = 7 * 24 * time.Hour
)

// Scheduler configures `changeproof run`.
type Scheduler struct {
	// Listen is the address of /healthz and /metrics (default
	// 127.0.0.1:9464); "off" disables the listener.
	Listen string `yaml:"listen"`
	// MaxCatchUp is how many missed windows per job a start catches up at
	// most (default 31); older missed windows are recorded as missed.
	MaxCatchUp int `yaml:"max_catch_up"`
	// TimeZone is the default time zone of job schedules (default UTC).
	TimeZone string `yaml:"timezone"`
	// ShutdownGrace is how long a run may finish after SIGTERM before it
	// is abandoned (default 30s).
	ShutdownGrace string `yaml:"shutdown_grace"`
	// ClaimTTL is how long a run's claim on a job window holds (default
	// 1h): longer than the longest run, since a run is stopped when its
	// claim expires and another process may then take the window over.
	ClaimTTL string `yaml:"claim_ttl"`
}

// Job is one scheduled collection.
type Job struct {
	// Name identifies the job in run records, metrics and `--job`:
	// lower-case letters, digits, '.', '_' and '-', at most 63.
	Name string `yaml:"name"`
	// Collector is the registered collector the job runs.
	Collector string `yaml:"collector"`
	// Schedule is a cron spec: five fields ("0 2 * * *"), six with
	// seconds, a descriptor (@daily, @weekly, @hourly...) or "@every 1h".
	// Each run collects the window between the previous tick and this one.
	Schedule string `yaml:"schedule"`
	// TimeZone is the IANA zone the schedule is read in (default the
	// scheduler's timezone, else UTC).
	TimeZone string `yaml:"timezone"`
	// Scope is what the job collects from.
	Scope JobScope `yaml:"scope"`
	// Policy overrides keys of policies.<collector> for this job only.
	Policy ast.Node `yaml:"policy"`
	// Controls, when set, replaces the controls the collector's evidence is
	// mapped to for this job (control ids of the catalog).
	Controls []string `yaml:"controls"`
}

// JobScope is the GitHub scope of a job. Cloudflare Workers scripts and
// Pages projects are named in the deployments policy (the job's policy).
type JobScope struct {
	// Orgs are organisations: every non-archived repository.
	Orgs []string `yaml:"orgs"`
	// Repos are repositories, OWNER/NAME.
	Repos []string `yaml:"repos"`
	// Branches are the branches to examine (default: each repository's
	// default branch).
	Branches []string `yaml:"branches"`
}

// ListenAddr is the scheduler's listen address, "" when disabled.
func (c *Config) ListenAddr() string {
	switch c.Scheduler.Listen {
	case "":
		return DefaultListen
	case "off":
		return ""
	}
	return c.Scheduler.Listen
}

// MaxCatchUp is the catch-up limit.
func (c *Config) MaxCatchUp() int {
	if c.Scheduler.MaxCatchUp == 0 {
		return schedules.DefaultMaxCatchUp
	}
	return c.Scheduler.MaxCatchUp
}

// ShutdownGrace is how long a run may finish after SIGTERM.
func (c *Config) ShutdownGrace() time.Duration {
	if c.Scheduler.ShutdownGrace == "" {
		return DefaultShutdownGrace
	}
	d, _ := time.ParseDuration(c.Scheduler.ShutdownGrace) // checked by Parse
	return d
}

// ClaimTTL is how long a run's claim on a job window holds.
func (c *Config) ClaimTTL() time.Duration {
	if c.Scheduler.ClaimTTL == "" {
		return DefaultClaimTTL
	}
	d, _ := time.ParseDuration(c.Scheduler.ClaimTTL) // checked by Parse
	return d
}

func (c *Config) checkScheduler() error {
	s := c.Scheduler
	if s.Listen != "" && s.Listen != "off" {
		if _, _, err := net.SplitHostPort(s.Listen); err != nil {
			return fmt.Errorf("%s %q: want HOST:PORT such as 127.0.0.1:9464, or off", c.At("scheduler.listen"), s.Listen)
		}
	}
	if s.MaxCatchUp < 0 || s.MaxCatchUp > 10000 {
		return fmt.Errorf("%s %d: want 1..10000 (default %d)", c.At("scheduler.max_catch_up"), s.MaxCatchUp, schedules.DefaultMaxCatchUp)
	}
	if s.TimeZone != "" {
		if _, err := loadLocation(s.TimeZone); err != nil {
			return fmt.Errorf("%s %w", c.At("scheduler.timezone"), err)
		}
	}
	if g := s.ShutdownGrace; g != "" {
		if d, err := time.ParseDuration(g); err != nil || d < time.Second || d > time.Hour {
			return fmt.Errorf("%s %q: want a duration from 1s to 1h, such as 30s", c.At("scheduler.shutdown_grace"), g)
		}
	}
	if t := s.ClaimTTL; t != "" {
		if d, err := time.ParseDuration(t); err != nil || d < minClaimTTL || d > maxClaimTTL {
			return fmt.Errorf("%s %q: want a duration from 1m to 168h, longer than the job's longest run, such as 1h", c.At("scheduler.claim_ttl"), t)
		}
	}
	return nil
}

func loadLocation(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("%q: not an IANA time zone such as UTC or Europe/Berlin", name)
	}
	return loc, nil
}

// Location is the time zone a job's schedule is read in.
func (c *Config) Location(j *Job) *time.Location {
	name := j.TimeZone
	if name == "" {
		name = c.Scheduler.TimeZone
	}
	if name == "" {
		return time.UTC
	}
	loc, _ := loadLocation(name) // checked by Parse
	return loc
}

// ScheduleOf is a job's parsed schedule (checked by Parse).
func (c *Config) ScheduleOf(j *Job) *schedules.Schedule {
	s, _ := schedules.ParseSchedule(j.Schedule, c.Location(j))
	return s
}

// Job returns the job with this name.
func (c *Config) Job(name string) (*Job, error) {
	for i := range c.Jobs {
		if c.Jobs[i].Name == name {
			return &c.Jobs[i], nil
		}
	}
	names := make([]string, len(c.Jobs))
	for i, j := range c.Jobs {
		names[i] = j.Name
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s has no jobs: there is no job %q", orPath(c.path), name)
	}
	return nil, fmt.Errorf("%s has no job %q (jobs: %v)", orPath(c.path), name, names)
}

// checkJobs checks what can be checked without the collectors registry:
// names, schedules and time zones. CheckJobs checks the rest.
func (c *Config) checkJobs() error {
	seen := map[string]int{}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		key := func(k string) string { return c.At(fmt.Sprintf("jobs[%d].%s", i, k)) }
		if err := ledger.CheckJob(j.Name); err != nil {
			return fmt.Errorf("%s: %w", key("name"), err)
		}
		if prev, dup := seen[j.Name]; dup {
			return fmt.Errorf("%s %q: the name of jobs[%d] too; job names must be unique", key("name"), j.Name, prev)
		}
		seen[j.Name] = i
		if j.Collector == "" {
			return fmt.Errorf("%s: missing; name the collector the job runs", key("collector"))
		}
		if j.TimeZone != "" {
			if _, err := loadLocation(j.TimeZone); err != nil {
				return fmt.Errorf("%s %w", key("timezone"), err)
			}
		}
		if j.Schedule == "" {
			return fmt.Errorf("%s: missing; a cron spec such as \"@daily\" or \"0 2 * * *\"", key("schedule"))
		}
		if _, err := schedules.ParseSchedule(j.Schedule, c.Location(j)); err != nil {
			return fmt.Errorf("%s %q: %w", key("schedule"), j.Schedule, err)
		}
		if n := j.Policy; n != nil && n.Type() != ast.MappingType && n.Type() != ast.MappingValueType && n.Type() != ast.NullType {
			return fmt.Errorf("%s: want a mapping of policy keys", key("policy"))
		}
	}
	return nil
}

// CheckJobs fails for a job naming no known collector, or a control the
// catalog does not have; known and control come from the caller's
// registries.
func (c *Config) CheckJobs(known func(string) bool, control func(string) bool) error {
	for i := range c.Jobs {
		j := &c.Jobs[i]
		if !known(j.Collector) {
			return fmt.Errorf("%s: unknown collector %q", c.At(fmt.Sprintf("jobs[%d].collector", i)), j.Collector)
		}
		if j.Controls != nil && len(j.Controls) == 0 {
			return fmt.Errorf("%s: empty; leave the key out for the collector's controls, or name at least one", c.At(fmt.Sprintf("jobs[%d].controls", i)))
		}
		for k, id := range j.Controls {
			if !control(id) {
				return fmt.Errorf("%s: unknown control %q (see `changeproof controls`)", c.At(fmt.Sprintf("jobs[%d].controls[%d]", i, k)), id)
			}
		}
	}
	return nil
}

// JobAt is the position prefix of a job's key, for errors found later
// (a bad repository, a bad policy value).
func (c *Config) JobAt(j *Job, key string) string {
	for i := range c.Jobs {
		if &c.Jobs[i] == j {
			return c.At(fmt.Sprintf("jobs[%d].%s", i, key))
		}
	}
	return orPath(c.path) + ": job " + j.Name + ": " + key
}

// DecodeJobPolicy decodes a job's policy into dst: policies.<collector>
// first, then the job's own overrides on top.
func (c *Config) DecodeJobPolicy(j *Job, dst any) error {
	if err := c.DecodePolicy(j.Collector, dst); err != nil {
		return err
	}
	if j.Policy == nil || j.Policy.Type() == ast.NullType {
		return nil
	}
	if err := yaml.NodeToValue(j.Policy, dst, yaml.Strict()); err != nil {
		return Error(c.path, fmt.Errorf("jobs.%s.policy: %w", j.Name, err))
	}
	return nil
}
