package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

// Claims make one process, on whichever host, the only collector of a job
// window. Before collecting a window a run puts a claim object with the
// store's create-only write:
//
//	claims/<job>/<window-start>_<window-end>/<generation>.json
//
// (times as in run record keys, <generation> six digits from 000000). The
// first Put of generation 000000 wins; every other process gets
// storage.ErrExists and leaves the window alone. A claim is settled once a
// run record names it (RunRecord.Claim). A claim that is neither settled nor
// recorded expires (a crashed run): another process may then put the next
// generation, create-only again, so exactly one taker wins, and its run
// record names the expired claim. Claims are never deleted: object-locked
// stores could not, and they are small.
//
// A window's claims form a chain: generation N counts only when generations
// 0 to N-1 all exist, so an object planted at a later generation (the keys
// are predictable) is passed over.
//
// Claims are coordination objects, not evidence: they are not signed, and
// verification and bundles ignore them. A claim's expiry is the earlier of
// what it says and the store's modification time of the object plus the
// reader's TTL, so a claim written with a far-future expiry cannot hold a
// window for longer than one TTL (plus the grace, ClaimMargin).
const ClaimsPrefix = "claims/"

// MaxClaimGeneration is the last generation of one window's claims.
const MaxClaimGeneration = 999999

const maxGeneration = MaxClaimGeneration

// ClaimMargin is a claim's safety margin for a TTL: min(TTL/10, 5m), but
// at least min(TTL/2, 5s). Its holder stops collecting this long before
// the claim expires, so that its last writes land before the expiry; a
// taker waits this long after the expiry (the grace). Between the two,
// the holder's writes and a taker's never overlap unless the hosts' clocks
// differ by more than the margin.
func ClaimMargin(ttl time.Duration) time.Duration {
	return max(min(ttl/10, 5*time.Minute), min(ttl/2, 5*time.Second))
}

// ErrClaimsExhausted says that a window's claims reached the last
// generation (MaxClaimGeneration): the window cannot be claimed again.
var ErrClaimsExhausted = errors.New("the window's claims reached their last generation")

var claimKeyRE = regexp.MustCompile(`^claims/(` + jobPattern + `)/(\d{8}T\d{6}\.\d{9}Z)_(\d{8}T\d{6}\.\d{9}Z)/(\d{6})\.json$`)

// ClaimPrefix is the key prefix of the claims on one window of a job.
func ClaimPrefix(job string, w schedules.Window) (string, error) {
	if err := CheckJob(job); err != nil {
		return "", err
	}
	if err := w.Validate(); err != nil {
		return "", fmt.Errorf("claim of job %s: %w", job, err)
	}
	return ClaimsPrefix + job + "/" + w.Start.UTC().Format(timeLayout) + "_" + w.End.UTC().Format(timeLayout) + "/", nil
}

// ClaimKey is where generation gen of the claim on window w of job is
// stored.
func ClaimKey(job string, w schedules.Window, gen int) (string, error) {
	prefix, err := ClaimPrefix(job, w)
	if err != nil {
		return "", err
	}
	if gen < 0 || gen > maxGeneration {
		return "", fmt.Errorf("claim generation %d: want 0 to %d", gen, maxGeneration)
	}
	return fmt.Sprintf("%s%06d.json", prefix, gen), nil
}

// ParsedClaimKey is a claim key taken apart.
type ParsedClaimKey struct {
	Job        string
	Window     schedules.Window
	Generation int
}

// ParseClaimKey takes a claim key apart.
func ParseClaimKey(key string) (ParsedClaimKey, error) {
	m := claimKeyRE.FindStringSubmatch(key)
	if m == nil {
		return ParsedClaimKey{}, errors.New("not a claim key (want claims/<job>/<start>_<end>/<generation>.json)")
	}
	start, err1 := time.Parse(timeLayout, m[2])
	end, err2 := time.Parse(timeLayout, m[3])
	if err := errors.Join(err1, err2); err != nil {
		return ParsedClaimKey{}, fmt.Errorf("claim key %s: %w", key, err)
	}
	w := schedules.Window{Start: start, End: end}
	if err := w.Validate(); err != nil {
		return ParsedClaimKey{}, fmt.Errorf("claim key %s: %w", key, err)
	}
	gen, _ := strconv.Atoi(m[4])
	return ParsedClaimKey{Job: m[1], Window: w, Generation: gen}, nil
}

// ClaimHolder is who holds a claim: the host, the process and a random id
// of the run (one per process), so that two processes with the same pid on
// two hosts, or one after a restart, are told apart.
type ClaimHolder struct {
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	RunID string `json:"runId"`
	// Lock, when set, identifies (LockID) a host lock that the holder
	// holds from before it claims a window until after it recorded the
	// run, and that every process of the host writing the store takes. A
	// claim of the same host and lock that no run record settles, met by
	// a process holding that lock, can only be a dead process's (a
	// crashed container restarted in the same pod): it is taken over at
	// once instead of after its expiry.
	Lock string `json:"lock,omitempty"`
}

// LockID identifies a host lock by what it locks (a store directory, a
// spool directory), without naming it: a short digest.
func LockID(identity string) string {
	sum := sha256.Sum256([]byte("changeproof host lock\x00" + identity))
	return hex.EncodeToString(sum[:8])
}

// NewClaimHolder is this process, with a new random run id.
func NewClaimHolder() ClaimHolder {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var id [8]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand)
	return ClaimHolder{Host: host, PID: os.Getpid(), RunID: hex.EncodeToString(id[:])}
}

func (h ClaimHolder) String() string { return fmt.Sprintf("%s/%d/%s", h.Host, h.PID, h.RunID) }

// Claim is the content of a claim object.
type Claim struct {
	Job        string           `json:"job"`
	Window     schedules.Window `json:"window"`
	Generation int              `json:"generation"`
	Holder     ClaimHolder      `json:"holder"`
	ClaimedAt  time.Time        `json:"claimedAt"`
	ExpiresAt  time.Time        `json:"expiresAt"`
	// TakesOver is the key of the expired claim this one took the window
	// over from.
	TakesOver string `json:"takesOver,omitempty"`
}

// WindowClaim is a claim this process won.
type WindowClaim struct {
	Key   string
	Claim Claim
	// TakenOverFrom is the expired claim it replaced, if any.
	TakenOverFrom *evidence.ClaimTakeover
}

// RunClaim is what the run record says about the claim.
func (c *WindowClaim) RunClaim() *evidence.RunClaim {
	return &evidence.RunClaim{Key: c.Key, TakenOverFrom: c.TakenOverFrom}
}

// ErrClaimHeld is wrapped by *HeldError.
var ErrClaimHeld = errors.New("the window is claimed by another run")

// HeldError says that another run holds a job window, or has collected it.
type HeldError struct {
	Job    string
	Window schedules.Window
	// Key is the claim that holds the window.
	Key string
	// Holder is who holds it (host/pid/run id).
	Holder string
	// Until is when the claim expires.
	Until time.Time
	// Record, when set, is the run record that settled the window: it was
	// collected, and is not collected again.
	Record string
}

func (e *HeldError) Error() string {
	if e.Record != "" {
		return fmt.Sprintf("job %s: window %s was collected by %s (run record %s)", e.Job, e.Window, e.Holder, e.Record)
	}
	return fmt.Sprintf("job %s: window %s is held by %s until %s (claim %s)", e.Job, e.Window, e.Holder, e.Until.UTC().Format(time.RFC3339), e.Key)
}

// Unwrap makes errors.Is(err, ErrClaimHeld) hold.
func (e *HeldError) Unwrap() error { return ErrClaimHeld }

// Claims puts and reads the claims of a store.
type Claims struct {
	// Store is the store itself, never a spool: a claim that only reached
	// this host's spool would claim nothing.
	Store storage.Store
	// Ledger reads the run records that settle claims; nil: claims are
	// settled only by expiring.
	Ledger *Ledger
	// TTL is how long a claim holds.
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Holder ClaimHolder
}

func (c *Claims) now() time.Time {
	if c.Now == nil {
		return time.Now().UTC()
	}
	return c.Now().UTC()
}

// current is the newest generation of the claims on a window.
type current struct {
	key     string
	gen     int
	claim   *Claim // nil when unreadable
	readErr error
	expires time.Time
}

// holder says who holds it.
func (cur *current) holder() string {
	if cur.claim == nil {
		return fmt.Sprintf("an unknown holder (unreadable claim: %v)", cur.readErr)
	}
	return cur.claim.Holder.String()
}

// Acquire claims window w of job for this process. It returns a
// *HeldError when another run holds the window (its claim is neither
// expired nor settled) or, unless again is set, when a run record settled
// the window's claim (the window was collected). With again (a manual run
// collecting a window anew), a settled claim is followed by the next
// generation; so is the claim of an interrupted run, whose window is
// collected again, and, for a scheduled run (again unset), a claim settled
// only by a manual run: the schedule does not count manual runs as
// collecting its windows (LastWindowEnd), so neither do its claims. An
// expired claim is taken over with the next generation, once its grace
// (ClaimMargin) has passed too; so is, at once, a claim of this host and
// host lock that no record settles (ClaimHolder.Lock). It returns an error
// wrapping ErrClaimsExhausted when the window's claims reached
// MaxClaimGeneration. Any other error means the store could not be asked
// or written: nothing was claimed.
func (c *Claims) Acquire(ctx context.Context, job string, w schedules.Window, again bool) (*WindowClaim, error) {
	if c.TTL <= 0 {
		return nil, errors.New("claims: no TTL")
	}
	prefix, err := ClaimPrefix(job, w)
	if err != nil {
		return nil, err
	}
	// A lost race for a generation is looked at again: the winner's claim
	// then holds the window. The bound only stops a store that keeps
	// answering "exists" for keys it does not list.
	for range 3 {
		cur, err := c.current(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("job %s: reading the claims on window %s: %w", job, w, err)
		}
		gen := 0
		var over *evidence.ClaimTakeover
		if cur != nil {
			record, reopened, err := c.settledBy(ctx, job, cur, again)
			if err != nil {
				return nil, fmt.Errorf("job %s: reading the run records that settle claim %s: %w", job, cur.key, err)
			}
			now := c.now()
			switch {
			case record != "" && !again && !reopened:
				return nil, &HeldError{Job: job, Window: w, Key: cur.key, Holder: cur.holder(), Until: cur.expires, Record: record}
			case record != "":
			case c.ownDead(cur):
				// Its holder ran on this host under the lock this process
				// holds now: it is gone, and its claim ends here.
				ended := cur.expires
				if now.Before(ended) {
					ended = now
				}
				over = &evidence.ClaimTakeover{Key: cur.key, Holder: cur.holder(), ExpiredAt: ended}
			case now.Before(cur.expires.Add(ClaimMargin(c.TTL))):
				return nil, &HeldError{Job: job, Window: w, Key: cur.key, Holder: cur.holder(), Until: cur.expires}
			default:
				over = &evidence.ClaimTakeover{Key: cur.key, Holder: cur.holder(), ExpiredAt: cur.expires}
			}
			gen = cur.gen + 1
		}
		if gen > maxGeneration {
			return nil, fmt.Errorf("job %s: window %s: %w (%d, claim %s)", job, w, ErrClaimsExhausted, maxGeneration, cur.key)
		}
		key, err := ClaimKey(job, w, gen)
		if err != nil {
			return nil, err
		}
		now := c.now()
		cl := Claim{Job: job, Window: schedules.Window{Start: w.Start.UTC(), End: w.End.UTC()}, Generation: gen, Holder: c.Holder,
			ClaimedAt: now, ExpiresAt: now.Add(c.TTL)}
		if over != nil {
			cl.TakesOver = over.Key
		}
		data, err := json.Marshal(&cl)
		if err != nil {
			return nil, err
		}
		switch err := c.Store.Put(ctx, key, data); {
		case err == nil:
			return &WindowClaim{Key: key, Claim: cl, TakenOverFrom: over}, nil
		case !errors.Is(err, storage.ErrExists):
			return nil, fmt.Errorf("job %s: claiming window %s: %w", job, w, err)
		}
	}
	return nil, fmt.Errorf("job %s: claiming window %s: the store keeps refusing new claims as existing", job, w)
}

// ownDead reports whether cur is a claim of this host under the host lock
// this process holds (ClaimHolder.Lock): not settled (the caller checked),
// its run cannot be going on.
func (c *Claims) ownDead(cur *current) bool {
	h := c.Holder
	return h.Lock != "" && cur.claim != nil && cur.claim.Holder.Host == h.Host && cur.claim.Holder.Lock == h.Lock
}

// claimGeneration is the generation of key, a claim under prefix (the
// claims of one window); ok is false for any other key.
func claimGeneration(prefix, key string) (gen int, ok bool) {
	rest, found := strings.CutPrefix(key, prefix)
	digits, isJSON := strings.CutSuffix(rest, ".json")
	if !found || !isJSON || len(digits) != 6 {
		return 0, false
	}
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
		gen = gen*10 + int(d-'0')
	}
	return gen, true
}

// Superseded returns the claim that took wc's window over (its next
// generation), or nil while wc is the window's newest claim.
func (c *Claims) Superseded(ctx context.Context, wc *WindowClaim) (*HeldError, error) {
	pk, err := ParseClaimKey(wc.Key)
	if err != nil {
		return nil, err
	}
	prefix, _ := ClaimPrefix(pk.Job, pk.Window)
	cur, err := c.current(ctx, prefix)
	if err != nil || cur == nil || cur.gen <= pk.Generation {
		return nil, err
	}
	return &HeldError{Job: pk.Job, Window: pk.Window, Key: cur.key, Holder: cur.holder(), Until: cur.expires}, nil
}

// current reads the newest generation of the claims under prefix whose
// generations below it all exist; nil when there is no generation 000000.
// Generations after a gap are passed over: planted, they claim nothing.
func (c *Claims) current(ctx context.Context, prefix string) (*current, error) {
	var have []bool // have[g]: generation g exists
	top, topMod := -1, time.Time{}
	for obj, err := range c.Store.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		gen, ok := claimGeneration(prefix, obj.Key)
		if !ok {
			continue // not a claim of this window: never one of ours
		}
		if gen >= len(have) {
			have = append(have, make([]bool, gen+1-len(have))...)
		}
		have[gen] = true
		if gen > top {
			top, topMod = gen, obj.ModTime
		}
	}
	if len(have) == 0 || !have[0] {
		return nil, nil
	}
	gen := 0
	for gen+1 < len(have) && have[gen+1] {
		gen++
	}
	cur, mod := &current{key: fmt.Sprintf("%s%06d.json", prefix, gen), gen: gen}, time.Time{}
	if gen == top {
		mod = topMod
	}
	if mod.IsZero() {
		info, err := c.Store.Stat(ctx, cur.key)
		if err != nil {
			return nil, err
		}
		mod = info.ModTime
	}
	cur.expires = mod.UTC().Add(c.TTL)
	data, err := c.Store.Get(ctx, cur.key)
	if err != nil {
		return nil, err
	}
	var cl Claim
	if err := json.Unmarshal(data, &cl); err != nil {
		cur.readErr = err
		return cur, nil
	}
	if cl.ExpiresAt.IsZero() {
		cur.readErr = errors.New("no expiresAt")
		return cur, nil
	}
	cur.claim = &cl
	if cl.ExpiresAt.Before(cur.expires) {
		cur.expires = cl.ExpiresAt.UTC()
	}
	return cur, nil
}

// settledBy is the run record (verified with the ledger's key) that names
// the claim cur, or "" when none does; reopened when that run was
// interrupted (shutdown abandoned it: its window is collected again) or,
// unless again, when it was a manual run (the schedule collects the window
// itself, as LastWindowEnd says).
// Records are read newest first, back to one TTL before the claim was made:
// the run that holds a claim records after it claimed.
func (c *Claims) settledBy(ctx context.Context, job string, cur *current, again bool) (key string, reopened bool, err error) {
	if c.Ledger == nil {
		return "", false, nil
	}
	from := cur.expires.Add(-2 * c.TTL)
	if cur.claim != nil && cur.claim.ClaimedAt.Before(from) {
		from = cur.claim.ClaimedAt
	}
	err = c.Ledger.runRecords(ctx, job, true, func(e *RunEntry) bool {
		p := e.Statement.Predicate
		if p.Claim != nil && p.Claim.Key == cur.key {
			key = e.Key
			reopened = p.Status == evidence.RunInterrupted || (!again && p.Trigger == evidence.TriggerManual)
			return false
		}
		return !p.FinishedAt.Before(from.Add(-c.TTL))
	})
	return key, reopened, err
}

// Recorded returns the newest run record of job's schedule (verified with
// the ledger's key; manual and interrupted runs passed over, as
// LastWindowEnd does) when its window reaches the end of w: w was dealt
// with, by this or another process. It returns nil otherwise.
func (l *Ledger) Recorded(ctx context.Context, job string, w schedules.Window) (*RunEntry, error) {
	var found *RunEntry
	err := l.runRecords(ctx, job, true, func(e *RunEntry) bool {
		p := e.Statement.Predicate
		if p.Trigger == evidence.TriggerManual || p.Status == evidence.RunInterrupted {
			return true
		}
		if !p.Window.End.Before(w.End) {
			found = e
		}
		return false
	})
	return found, err
}
