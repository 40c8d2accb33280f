package s3store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/changeproof/changeproof/storage"
)

// R2 lock rule condition types, as the Cloudflare API names them.
const (
	R2Age        = "Age"        // locked for maxAgeSeconds after the object is written
	R2Date       = "Date"       // locked until a fixed date
	R2Indefinite = "Indefinite" // locked for ever
)

// R2LockRule is one rule of an R2 bucket's lock configuration
// (GET/PUT /accounts/{account}/r2/buckets/{bucket}/lock).
type R2LockRule struct {
	ID      string `json:"id"`
	Enabled bool   `json:"enabled"`
	// Prefix is the key prefix the rule covers; empty is the whole bucket.
	Prefix    string          `json:"prefix"`
	Condition R2LockCondition `json:"condition"`
}

// R2LockCondition says how long a rule locks an object.
type R2LockCondition struct {
	// Type is R2Age, R2Date or R2Indefinite.
	Type string `json:"type"`
	// MaxAgeSeconds is an Age rule's retention.
	MaxAgeSeconds int64 `json:"maxAgeSeconds,omitempty"`
	// Date is a Date rule's end of retention (RFC 3339).
	Date string `json:"date,omitempty"`
}

// R2Locks reads and replaces an R2 bucket's lock configuration: the result
// object of the Cloudflare API, {"rules": [...]}, as raw JSON so that rules
// and fields this package does not know are written back untouched.
// CloudflareLocks implements it with cloudflare-go; tests may fake it.
type R2Locks interface {
	GetBucketLock(ctx context.Context, account, bucket string) (json.RawMessage, error)
	PutBucketLock(ctx context.Context, account, bucket string, config json.RawMessage) error
}

// R2JurisdictionLocks is an R2Locks that can also address buckets in an
// R2 jurisdiction ("eu", "fedramp"), whose lock rules the Cloudflare API
// serves only to requests with the cf-r2-jurisdiction header. Opening an
// r2:// store whose endpoint names a jurisdiction needs one.
type R2JurisdictionLocks interface {
	R2Locks
	// InJurisdiction returns the R2Locks that reads and writes the lock
	// rules of buckets in jurisdiction.
	InJurisdiction(jurisdiction string) R2Locks
}

// CloudflareLocks returns the R2Locks that calls the Cloudflare API through
// api, e.g. cloudflare.NewWithAPIToken(os.Getenv("CLOUDFLARE_API_TOKEN")).
// The token needs the "Workers R2 Storage" read permission to open a store
// and the edit permission for ApplyR2Lock. It implements
// R2JurisdictionLocks.
func CloudflareLocks(api *cloudflare.API) R2Locks { return cloudflareLocks{api: api} }

type cloudflareLocks struct {
	api          *cloudflare.API
	jurisdiction string // "" for the default one
}

var _ R2JurisdictionLocks = cloudflareLocks{}

func (c cloudflareLocks) InJurisdiction(jurisdiction string) R2Locks {
	return cloudflareLocks{api: c.api, jurisdiction: jurisdiction}
}

// headers are the request headers of a lock API call.
func (c cloudflareLocks) headers() http.Header {
	h := http.Header{}
	if c.jurisdiction != "" {
		h.Set("cf-r2-jurisdiction", c.jurisdiction)
	}
	return h
}

// lockPath is the API path of a bucket's lock configuration.
func lockPath(account, bucket string) string {
	return "/accounts/" + url.PathEscape(account) + "/r2/buckets/" + url.PathEscape(bucket) + "/lock"
}

func (c cloudflareLocks) GetBucketLock(ctx context.Context, account, bucket string) (json.RawMessage, error) {
	r, err := c.api.Raw(ctx, http.MethodGet, lockPath(account, bucket), nil, c.headers())
	if err != nil {
		return nil, cloudflareError(err)
	}
	if !r.Success {
		return nil, fmt.Errorf("the Cloudflare API answered success=false: %s", responseInfos(r.Errors))
	}
	return r.Result, nil
}

func (c cloudflareLocks) PutBucketLock(ctx context.Context, account, bucket string, config json.RawMessage) error {
	h := c.headers()
	h.Set("Content-Type", "application/json")
	r, err := c.api.Raw(ctx, http.MethodPut, lockPath(account, bucket), []byte(config), h)
	if err != nil {
		return cloudflareError(err)
	}
	if !r.Success {
		return fmt.Errorf("the Cloudflare API answered success=false: %s", responseInfos(r.Errors))
	}
	return nil
}

// locksIn returns the R2Locks for buckets in jurisdiction ("" for the
// default one), or an error if locks cannot address it.
func locksIn(locks R2Locks, jurisdiction string) (R2Locks, error) {
	if jurisdiction == "" {
		return locks, nil
	}
	if j, ok := locks.(R2JurisdictionLocks); ok {
		return j.InJurisdiction(jurisdiction), nil
	}
	return nil, fmt.Errorf("the bucket is in R2 jurisdiction %q, but the Cloudflare client in use (%T) cannot address jurisdictions (it does not implement s3store.R2JurisdictionLocks), so it would read the lock rules of another bucket", jurisdiction, locks)
}

// responseInfos joins the messages of a Cloudflare error list.
func responseInfos(infos []cloudflare.ResponseInfo) string {
	if len(infos) == 0 {
		return "no error given"
	}
	var msgs []string
	for _, i := range infos {
		msgs = append(msgs, fmt.Sprintf("%d %s", i.Code, i.Message))
	}
	return strings.Join(msgs, "; ")
}

// cloudflareError marks the transient failures of a Cloudflare API call
// (5xx answers, rate limiting, network failures) with storage.ErrUnavailable.
func cloudflareError(err error) error {
	var svc *cloudflare.ServiceError
	var rl *cloudflare.RatelimitError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &svc), errors.As(err, &rl), errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded),
		strings.Contains(err.Error(), "exceeded available rate limit retries"),
		strings.Contains(err.Error(), "please try again later"):
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

// r2Locks turns storage.Options.Cloudflare into an R2Locks; nil when unset.
func r2Locks(v any) (R2Locks, error) {
	switch c := v.(type) {
	case nil:
		return nil, nil
	case *cloudflare.API:
		if c == nil {
			return nil, nil
		}
		return CloudflareLocks(c), nil
	case R2Locks:
		return c, nil
	default:
		return nil, fmt.Errorf("storage.Options.Cloudflare is a %T; want a *cloudflare.API or an s3store.R2Locks", v)
	}
}

// r2Config is a decoded lock configuration: the rules, each also kept as
// read, and the configuration's other fields.
type r2Config struct {
	fields map[string]json.RawMessage
	raw    []json.RawMessage
	rules  []R2LockRule
	bad    []error // one per rule that does not decode, in raw's order
}

// parseR2Config decodes the result of GetBucketLock. A rule that does not
// decode is kept (and written back) but never counts as a lock.
func parseR2Config(b json.RawMessage) (*r2Config, error) {
	c := &r2Config{fields: map[string]json.RawMessage{}}
	if len(b) == 0 || string(b) == "null" {
		return c, nil
	}
	if err := json.Unmarshal(b, &c.fields); err != nil {
		return nil, fmt.Errorf("the lock configuration is not a JSON object: %w", err)
	}
	if r, ok := c.fields["rules"]; ok && string(r) != "null" {
		if err := json.Unmarshal(r, &c.raw); err != nil {
			return nil, fmt.Errorf("the lock configuration's rules are not a JSON array: %w", err)
		}
	}
	c.rules = make([]R2LockRule, len(c.raw))
	c.bad = make([]error, len(c.raw))
	for i, r := range c.raw {
		c.bad[i] = json.Unmarshal(r, &c.rules[i])
	}
	return c, nil
}

// encode returns the configuration with extra rules appended.
func (c *r2Config) encode(extra ...R2LockRule) (json.RawMessage, error) {
	rules := slices.Clone(c.raw)
	for _, r := range extra {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		rules = append(rules, b)
	}
	fields := make(map[string]json.RawMessage, len(c.fields)+1)
	for k, v := range c.fields {
		fields[k] = v
	}
	if rules == nil {
		rules = []json.RawMessage{}
	}
	b, err := json.Marshal(rules)
	if err != nil {
		return nil, err
	}
	fields["rules"] = b
	return json.Marshal(fields)
}

// lockFor returns the enabled rule that covers prefix and locks objects
// longest, if it locks them at least retention from now; otherwise it
// explains, in one line, why no rule does.
func (c *r2Config) lockFor(prefix string, retention time.Duration, now time.Time) (R2LockRule, bool, string) {
	var best R2LockRule
	var bestLen time.Duration
	found := false
	var why []string
	for i, r := range c.rules {
		name := fmt.Sprintf("rule %q", r.ID)
		if c.bad[i] != nil {
			why = append(why, fmt.Sprintf("rule #%d does not decode (%v)", i+1, c.bad[i]))
			continue
		}
		if !strings.HasPrefix(prefix, r.Prefix) {
			why = append(why, fmt.Sprintf("%s covers prefix %q only", name, r.Prefix))
			continue
		}
		if !r.Enabled {
			why = append(why, name+" is disabled")
			continue
		}
		length, desc := r.Condition.length(now)
		if length < retention {
			why = append(why, fmt.Sprintf("%s %s", name, desc))
			continue
		}
		if !found || length > bestLen {
			best, bestLen, found = r, length, true
		}
	}
	if found {
		return best, true, ""
	}
	if len(c.rules) == 0 {
		return R2LockRule{}, false, "the bucket has no lock rules"
	}
	const most = 5
	if len(why) > most {
		why = append(why[:most], fmt.Sprintf("and %d more", len(why)-most))
	}
	return R2LockRule{}, false, strings.Join(why, "; ")
}

// forever stands for an Indefinite rule's retention.
const forever = time.Duration(1<<63 - 1)

// length returns how long the condition locks an object written at now, and
// says so in words when that is too short or unknown.
func (c R2LockCondition) length(now time.Time) (time.Duration, string) {
	switch c.Type {
	case R2Indefinite:
		return forever, "locks indefinitely"
	case R2Age:
		if c.MaxAgeSeconds <= 0 {
			return 0, "has no positive maxAgeSeconds"
		}
		if c.MaxAgeSeconds > int64(forever/time.Second) {
			return forever, "locks for longer than can be counted"
		}
		d := time.Duration(c.MaxAgeSeconds) * time.Second
		return d, "locks for only " + humanDuration(d)
	case R2Date:
		t, err := time.Parse(time.RFC3339, c.Date)
		if err != nil {
			return 0, fmt.Sprintf("has a date %q that is not RFC 3339", c.Date)
		}
		return t.Sub(now), "locks only until " + t.UTC().Format(time.RFC3339)
	default:
		return 0, fmt.Sprintf("has an unknown condition type %q", c.Type)
	}
}

// lockRuleInfo is the storage.LockRule of an R2 rule, for Describe.
func lockRuleInfo(r R2LockRule) *storage.LockRule {
	return &storage.LockRule{
		ID:            r.ID,
		Prefix:        r.Prefix,
		Condition:     r.Condition.Type,
		MaxAgeSeconds: r.Condition.MaxAgeSeconds,
		Date:          r.Condition.Date,
	}
}

// checkR2Lock reads the bucket's lock rules and refuses to write unless one
// covers the prefix for the retention (or AllowUnlocked is set).
func (s *Store) checkR2Lock(ctx context.Context, set settings, opts storage.Options) error {
	locks, err := r2Locks(opts.Cloudflare)
	if err != nil {
		return fmt.Errorf("%s: %w", s.url, err)
	}
	days := humanDuration(set.retention)
	fix := fmt.Sprintf("run `changeproof storage lock %s` to add a rule, or pass --allow-unlocked to write anyway (the evidence will record that the store is not write-once)", s.url)
	if locks == nil {
		if !opts.AllowUnlocked && !opts.ReadOnly {
			return fmt.Errorf("%s: cannot check the lock rules of R2 bucket %q: no Cloudflare API client (set CLOUDFLARE_API_TOKEN), or pass --allow-unlocked to write without checking (the evidence will record that the store is not write-once)", s.url, s.loc.Bucket)
		}
		s.unlockedR2(set, opts, "its bucket lock rules were not checked (no Cloudflare API token)")
		return nil
	}
	locks, err = locksIn(locks, s.loc.Jurisdiction)
	if err != nil {
		return fmt.Errorf("%s: %w", s.url, err)
	}
	raw, err := locks.GetBucketLock(ctx, s.loc.Account, s.loc.Bucket)
	if err != nil {
		return fmt.Errorf("%s: reading the lock rules of R2 bucket %q: %w", s.url, s.loc.Bucket, err)
	}
	cfg, err := parseR2Config(raw)
	if err != nil {
		return fmt.Errorf("%s: reading the lock rules of R2 bucket %q: %w", s.url, s.loc.Bucket, err)
	}
	rule, ok, why := cfg.lockFor(s.loc.Prefix, set.retention, s.now())
	if !ok {
		if !opts.AllowUnlocked && !opts.ReadOnly {
			return fmt.Errorf("%s: no enabled lock rule of R2 bucket %q keeps objects under prefix %q for at least %s (%s): %s",
				s.url, s.loc.Bucket, s.loc.Prefix, days, why, fix)
		}
		s.unlockedR2(set, opts, fmt.Sprintf("no enabled bucket lock rule keeps objects under prefix %q for at least %s (%s)", s.loc.Prefix, days, why))
		return nil
	}
	length, _ := rule.Condition.length(s.now())
	var kept string
	switch rule.Condition.Type {
	case R2Indefinite:
		kept = "indefinitely"
	case R2Age:
		kept = "for " + humanDuration(length) + " after they are written"
	case R2Date:
		kept = "until " + rule.Condition.Date
	}
	s.desc.WORM = true
	s.desc.Protection = fmt.Sprintf("R2 bucket lock rule %q covers prefix %q: R2 refuses to delete or overwrite those objects %s. "+
		"The rule is a bucket setting that a Cloudflare account administrator can change or remove, which lifts the protection "+
		"(closer to S3 Object Lock GOVERNANCE than COMPLIANCE). Writes are create-only (If-None-Match) and carry a SHA-256 checksum",
		rule.ID, rule.Prefix, kept)
	s.desc.Lock = &storage.LockInfo{
		Kind:             storage.LockR2BucketLock,
		RetentionSeconds: int64(set.retention / time.Second),
		Rule:             lockRuleInfo(rule),
	}
	return nil
}

// unlockedR2 records that an R2 store writes without a lock.
func (s *Store) unlockedR2(set settings, opts storage.Options, why string) {
	if !opts.ReadOnly {
		set.log.Warn("R2 bucket not locked: evidence written there is NOT write-once", "store", s.url, "reason", why)
	}
	s.desc.WORM = false
	s.desc.Protection = fmt.Sprintf("NOT write-once: in R2 bucket %s %s, so anyone allowed to delete or overwrite objects in it can remove or replace the evidence; "+
		"changeproof itself only refuses to overwrite (conditional writes with If-None-Match)", s.loc.Bucket, why)
	s.desc.Lock = &storage.LockInfo{Kind: storage.LockNone}
}

// ApplyR2LockAt is ApplyR2Lock for the bucket and prefix of an r2://
// location, in the location's jurisdiction: locks must implement
// R2JurisdictionLocks when loc.Jurisdiction is set.
func ApplyR2LockAt(ctx context.Context, locks R2Locks, loc Location, retention time.Duration) (R2LockRule, error) {
	if loc.Scheme != SchemeR2 {
		return R2LockRule{}, fmt.Errorf("%s: R2 lock rules are for r2:// stores", loc)
	}
	if locks == nil {
		return R2LockRule{}, fmt.Errorf("R2 bucket %s: no Cloudflare API client (set CLOUDFLARE_API_TOKEN)", loc.Bucket)
	}
	in, err := locksIn(locks, loc.Jurisdiction)
	if err != nil {
		return R2LockRule{}, fmt.Errorf("R2 bucket %s: %w", loc.Bucket, err)
	}
	return ApplyR2Lock(ctx, in, loc.Account, loc.Bucket, loc.Prefix, retention)
}

// ApplyR2Lock makes sure an enabled lock rule of the R2 bucket keeps the
// objects under prefix (a store prefix: empty or ending in '/') for at
// least retention, for `changeproof storage lock`. If a rule already does,
// it returns that rule and changes nothing. Otherwise it adds an Age rule
// for prefix, keeping every existing rule as it was, and reads the rules
// back to confirm. The read-modify-write is not atomic: do not edit the
// bucket's lock rules elsewhere at the same moment. It addresses the bucket
// in the jurisdiction locks is for (the default one for CloudflareLocks);
// ApplyR2LockAt takes it from a Location.
func ApplyR2Lock(ctx context.Context, locks R2Locks, account, bucket, prefix string, retention time.Duration) (R2LockRule, error) {
	if retention < time.Second {
		return R2LockRule{}, fmt.Errorf("R2 bucket %s: retention %s is not positive", bucket, retention)
	}
	if locks == nil {
		return R2LockRule{}, fmt.Errorf("R2 bucket %s: no Cloudflare API client (set CLOUDFLARE_API_TOKEN)", bucket)
	}
	read := func() (*r2Config, error) {
		raw, err := locks.GetBucketLock(ctx, account, bucket)
		if err != nil {
			return nil, fmt.Errorf("reading the lock rules of R2 bucket %s: %w", bucket, err)
		}
		cfg, err := parseR2Config(raw)
		if err != nil {
			return nil, fmt.Errorf("reading the lock rules of R2 bucket %s: %w", bucket, err)
		}
		return cfg, nil
	}
	cfg, err := read()
	if err != nil {
		return R2LockRule{}, err
	}
	now := time.Now()
	if rule, ok, _ := cfg.lockFor(prefix, retention, now); ok {
		return rule, nil
	}
	rule := R2LockRule{
		ID:      newRuleID(cfg, prefix, retention),
		Enabled: true,
		Prefix:  prefix,
		Condition: R2LockCondition{
			Type:          R2Age,
			MaxAgeSeconds: int64((retention + time.Second - 1) / time.Second),
		},
	}
	body, err := cfg.encode(rule)
	if err != nil {
		return R2LockRule{}, fmt.Errorf("encoding the lock rules of R2 bucket %s: %w", bucket, err)
	}
	if err := locks.PutBucketLock(ctx, account, bucket, body); err != nil {
		return R2LockRule{}, fmt.Errorf("adding lock rule %q to R2 bucket %s: %w", rule.ID, bucket, err)
	}
	after, err := read()
	if err != nil {
		return R2LockRule{}, fmt.Errorf("added lock rule %q, but checking it: %w", rule.ID, err)
	}
	got, ok, why := after.lockFor(prefix, retention, now)
	if !ok {
		return R2LockRule{}, fmt.Errorf("added lock rule %q to R2 bucket %s, but reading the rules back shows no rule covering prefix %q for %s: %s",
			rule.ID, bucket, prefix, humanDuration(retention), why)
	}
	if len(after.raw) < len(cfg.raw) {
		return got, fmt.Errorf("added lock rule %q to R2 bucket %s, but the bucket now has %d other rules where it had %d: someone changed them meanwhile; check them",
			rule.ID, bucket, len(after.raw)-1, len(cfg.raw))
	}
	return got, nil
}

// newRuleID names the rule ApplyR2Lock adds, unlike any existing rule.
func newRuleID(cfg *r2Config, prefix string, retention time.Duration) string {
	scope := prefix
	if scope == "" {
		scope = "whole bucket"
	}
	base := fmt.Sprintf("changeproof %s %s", scope, humanDuration(retention))
	taken := func(id string) bool {
		return slices.ContainsFunc(cfg.rules, func(r R2LockRule) bool { return r.ID == id })
	}
	id := base
	for n := 2; taken(id); n++ {
		id = fmt.Sprintf("%s (%d)", base, n)
	}
	return id
}
