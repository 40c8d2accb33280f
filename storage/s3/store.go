// Package s3store is the s3:// and r2:// storage backend: evidence in an S3
// bucket (AWS or an S3-compatible server) or a Cloudflare R2 bucket, written
// create-only and locked against deletion.
//
// Every Put is a conditional create (If-None-Match: *): an existing key is
// refused with storage.ErrExists and never replaced. Every Put carries the
// SHA-256 checksum of the data (x-amz-checksum-sha256), so the server stores
// exactly what was signed or nothing. Get asks for the stored checksum and
// the SDK checks the content against it when the server returns one.
// Objects are at most MaxObjectSize bytes.
//
// On S3 every object also gets S3 Object Lock retention: COMPLIANCE mode by
// default (GOVERNANCE by option) until now + the configured retention (1095
// days by default), and optionally a legal hold. Open checks, without
// writing anything, that the bucket has Object Lock enabled and refuses a
// bucket without it unless storage.Options.AllowUnlocked is set; the store
// then sends no lock headers and Describe reports WORM false.
//
// A bucket with Object Lock is versioned: a delete without a version ID
// only puts a delete marker in front of the locked version, and a plain PUT
// (without If-None-Match) adds a newer version in front of it. On such a
// bucket Get, Stat and List therefore read object versions: every key with
// a version is listed, even behind a delete marker, and Get reads the
// key's oldest version, the one written create-only and locked. Tampering
// (storage.TamperChecker) reports the keys that have delete markers or
// more than one version.
//
// R2 has no per-object lock: immutability comes from the bucket's lock rules,
// read through the Cloudflare API at Open. Open refuses to write unless an
// enabled rule covers the store's prefix for at least the retention (or
// AllowUnlocked is set). ApplyR2Lock adds such a rule.
//
// Credentials come from the standard AWS chain (environment, shared config
// and credentials files, SSO, web identity, container and instance roles).
// Errors that mean "try again later" (network failures, 5xx answers,
// throttling) wrap storage.ErrUnavailable.
package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/changeproof/changeproof/storage"
)

// DefaultRetention is the retention used when storage.Options.Retention is
// zero: three years, a common evidence-keeping period for SOC 2 and ISO
// 27001 audits.
const DefaultRetention = 1095 * 24 * time.Hour

// MaxObjectSize is the largest object, in bytes, that Put writes and Get
// reads: 256 MiB. Envelopes and raw facts are far smaller. Get never
// allocates more than this whatever size the server reports, so an object
// planted in the bucket cannot exhaust the reader's memory; it returns an
// error naming the key instead.
const MaxObjectSize = 256 << 20

// defaultMaxAttempts is how often a request is tried before a transient
// failure is returned.
const defaultMaxAttempts = 4

// Store is a create-only store in an S3 or R2 bucket. Its methods are safe
// for concurrent use.
type Store struct {
	client    *s3.Client
	loc       Location
	url       string // loc.String(), for messages
	retention time.Duration
	now       func() time.Time
	// objectLock is true when Put sets S3 Object Lock retention.
	objectLock bool
	lockMode   types.ObjectLockMode
	legalHold  bool
	// versioned is true when objects are read by version (buckets with
	// Object Lock, which are always versioned).
	versioned bool
	readOnly  bool
	maxSize   int64 // MaxObjectSize; tests lower it
	pageSize  int32 // entries per listing page; 0 is the server's default (1,000)
	log       *slog.Logger
	desc      storage.Description
}

var _ storage.TamperChecker = (*Store)(nil)

var _ storage.Store = (*Store)(nil)

// Open opens the store an s3:// or r2:// URL names (see ParseURL). It has
// the storage.Opener signature: register it for both schemes. Open checks
// the bucket's lock (Object Lock for S3, lock rules for R2) and writes
// nothing.
func Open(ctx context.Context, rawURL string, opts storage.Options) (storage.Store, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, loc, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// settings are the checked Options.
type settings struct {
	retention time.Duration
	lockMode  types.ObjectLockMode
	now       func() time.Time
	log       *slog.Logger
}

// check validates the options for loc's backend.
func check(loc Location, opts storage.Options) (settings, error) {
	set := settings{retention: opts.Retention, now: opts.Now, log: opts.Logger}
	if set.retention == 0 {
		set.retention = DefaultRetention
	}
	if set.retention < time.Second {
		return set, fmt.Errorf("%s: retention %s: want at least one second", loc, opts.Retention)
	}
	if set.now == nil {
		set.now = time.Now
	}
	if set.log == nil {
		set.log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAttempts < 0 {
		return set, fmt.Errorf("%s: max attempts %d is negative", loc, opts.MaxAttempts)
	}
	switch loc.Scheme {
	case SchemeS3:
		switch strings.ToUpper(opts.LockMode) {
		case "", string(types.ObjectLockModeCompliance):
			set.lockMode = types.ObjectLockModeCompliance
		case string(types.ObjectLockModeGovernance):
			set.lockMode = types.ObjectLockModeGovernance
		default:
			return set, fmt.Errorf("%s: lock mode %q: want COMPLIANCE or GOVERNANCE", loc, opts.LockMode)
		}
	case SchemeR2:
		if opts.LockMode != "" {
			return set, fmt.Errorf("%s: R2 has no object lock modes (got lock mode %q): its bucket lock rules protect the objects", loc, opts.LockMode)
		}
		if opts.LegalHold {
			return set, fmt.Errorf("%s: R2 has no legal holds: its bucket lock rules protect the objects", loc)
		}
	}
	return set, nil
}

// open opens the store at loc.
func open(ctx context.Context, loc Location, opts storage.Options) (*Store, error) {
	set, err := check(loc, opts)
	if err != nil {
		return nil, err
	}
	client, err := newClient(ctx, &loc, opts, set.log)
	if err != nil {
		return nil, err
	}
	s := &Store{
		client:    client,
		loc:       loc,
		url:       loc.String(),
		retention: set.retention,
		now:       set.now,
		readOnly:  opts.ReadOnly,
		maxSize:   MaxObjectSize,
		log:       set.log,
	}
	switch loc.Scheme {
	case SchemeS3:
		err = s.checkObjectLock(ctx, set, opts)
	case SchemeR2:
		err = s.checkR2Lock(ctx, set, opts)
	}
	if err != nil {
		return nil, err
	}
	s.desc.URL = s.url
	return s, nil
}

// newClient builds the S3 client for loc, filling in loc.Region and
// loc.Endpoint from the AWS configuration where the URL left them out.
func newClient(ctx context.Context, loc *Location, opts storage.Options, log *slog.Logger) (*s3.Client, error) {
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = defaultMaxAttempts
	}
	var httpClient config.HTTPClient = opts.HTTPClient
	if opts.HTTPClient == nil {
		httpClient = awshttp.NewBuildableClient().
			WithTimeout(5 * time.Minute).
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = 10 * time.Second }).
			WithTransportOptions(func(t *http.Transport) {
				t.TLSHandshakeTimeout = 10 * time.Second
				t.ResponseHeaderTimeout = time.Minute
			})
	}
	lopts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		// The SDK's own warnings go to our logger, not straight to stderr.
		config.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			level := slog.LevelWarn
			if c == logging.Debug {
				level = slog.LevelDebug
			}
			log.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
		})),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 5 * time.Second
				// One process writing a few objects: no client-side retry
				// quota, whose exhaustion would be one more error to explain.
				o.RateLimiter = ratelimit.None
				o.Retryables = append(o.Retryables, retry.RetryableErrorCode{
					Codes: map[string]struct{}{"ConditionalRequestConflict": {}},
				})
			})
		}),
		// Put always sends its own SHA-256 checksum: the SDK need not
		// compute another (the zero value would mean "unset", i.e. the
		// default WhenSupported, not "off").
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		// Validate response checksums only where asked (Get asks), which
		// S3-compatible servers that return no checksums tolerate.
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if loc.Region != "" {
		lopts = append(lopts, config.WithRegion(loc.Region))
	}
	if loc.Profile != "" {
		lopts = append(lopts, config.WithSharedConfigProfile(loc.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lopts...)
	if err != nil {
		return nil, fmt.Errorf("%s: loading the AWS configuration: %w", loc, err)
	}
	if cfg.Region == "" {
		if loc.Endpoint == "" {
			return nil, fmt.Errorf("%s: no region: add ?region=REGION to the URL or set AWS_REGION", loc)
		}
		cfg.Region = "us-east-1" // S3-compatible servers mostly ignore it
	}
	loc.Region = cfg.Region
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = loc.PathStyle
		// Objects written by Put always have a checksum; one without is
		// not worth a log line per Get.
		o.DisableLogOutputChecksumValidationSkipped = true
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
		}
	})
	if ep := client.Options().BaseEndpoint; loc.Endpoint == "" && ep != nil {
		// From AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the shared config:
		// it gets the checks of ?endpoint=, as it goes into Describe().URL,
		// the evidence and messages.
		e, err := checkEndpoint(*ep, "the S3 endpoint from the AWS configuration (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or endpoint_url in the shared config)")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
		loc.Endpoint = e
	}
	return client, nil
}

// checkObjectLock reads the bucket's Object Lock configuration and sets how
// Put locks objects and what Describe says.
func (s *Store) checkObjectLock(ctx context.Context, set settings, opts storage.Options) error {
	out, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.loc.Bucket)})
	enabled := err == nil && out.ObjectLockConfiguration != nil &&
		out.ObjectLockConfiguration.ObjectLockEnabled == types.ObjectLockEnabledEnabled
	switch code := errorCode(err); {
	case err == nil, code == "ObjectLockConfigurationNotFoundError":
	case code == "NoSuchBucket":
		return fmt.Errorf("%s: bucket %q does not exist", s.url, s.loc.Bucket)
	default:
		return s.fail("reading the Object Lock configuration of bucket "+s.loc.Bucket, "", err)
	}
	if enabled {
		s.objectLock = true
		s.versioned = true
		s.lockMode = set.lockMode
		s.legalHold = opts.LegalHold
		s.desc.WORM = true
		s.desc.Protection = s3Protection(set.lockMode, set.retention, opts.LegalHold)
		s.desc.Lock = &storage.LockInfo{
			Kind:             storage.LockS3ObjectLock,
			Mode:             string(set.lockMode),
			RetentionSeconds: int64(set.retention / time.Second),
			LegalHold:        opts.LegalHold,
		}
		return nil
	}
	if !opts.AllowUnlocked && !opts.ReadOnly {
		return fmt.Errorf("%s: bucket %q does not have S3 Object Lock enabled, so evidence there could be overwritten or deleted: "+
			"use a bucket created with Object Lock (aws s3api create-bucket --object-lock-enabled-for-bucket) or enable it on this one "+
			"(aws s3api put-object-lock-configuration --bucket %s --object-lock-configuration ObjectLockEnabled=Enabled), "+
			"or pass --allow-unlocked to write anyway (the evidence will record that the store is not write-once)",
			s.url, s.loc.Bucket, s.loc.Bucket)
	}
	if !opts.ReadOnly {
		set.log.Warn("S3 bucket has no Object Lock: evidence written there is NOT write-once", "store", s.url)
	}
	s.desc.WORM = false
	s.desc.Protection = fmt.Sprintf("NOT write-once: bucket %s has no S3 Object Lock, so anyone allowed to delete or overwrite objects in it can remove or replace the evidence; "+
		"changeproof itself only refuses to overwrite (conditional writes with If-None-Match)", s.loc.Bucket)
	s.desc.Lock = &storage.LockInfo{Kind: storage.LockNone}
	return nil
}

// s3Protection describes S3 Object Lock protection for Describe.
func s3Protection(mode types.ObjectLockMode, retention time.Duration, legalHold bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "S3 Object Lock, %s mode: the object version each write creates is locked for %s", mode, humanDuration(retention))
	if mode == types.ObjectLockModeCompliance {
		b.WriteString("; nobody, not even the account's root user, can change or delete that version or shorten its lock before then")
	} else {
		b.WriteString("; only users granted s3:BypassGovernanceRetention can delete that version or shorten its lock before then")
	}
	if legalHold {
		b.WriteString("; every object also carries a legal hold, which keeps it until someone with s3:PutObjectLegalHold removes the hold")
	}
	b.WriteString(". Writes are create-only (If-None-Match) and carry a SHA-256 checksum. " +
		"The bucket is versioned: a principal allowed s3:DeleteObject can still hide a locked version behind a delete marker, " +
		"and one allowed s3:PutObject without If-None-Match can put a newer version in front of it; " +
		"changeproof reads the oldest version and verify reports both")
	return b.String()
}

// humanDuration writes a retention in days when it is whole days.
func humanDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := int64(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}

// objectKey is the bucket key of a store key.
func (s *Store) objectKey(key string) *string { return aws.String(s.loc.Prefix + key) }

// Put stores data under key if the key is free: a conditional create with
// the data's SHA-256 checksum and, on an Object Lock bucket, the lock
// retention. It returns an error wrapping storage.ErrExists if the key is
// taken, storage.ErrInvalidKey for a bad key, storage.ErrUnavailable for a
// transient failure, and the context's error if ctx ends first. A store
// opened with Options.ReadOnly refuses every Put.
//
// If an attempt's answer is lost and the SDK's retry finds the key taken,
// Put compares the stored object's checksum with the data's: equal means
// the earlier attempt stored it, and Put succeeds; a transient failure of
// that check is ErrUnavailable. Data over MaxObjectSize is refused.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if s.readOnly {
		return fmt.Errorf("storing %s in %s: the store was opened read-only", key, s.url)
	}
	if int64(len(data)) > s.maxSize {
		return fmt.Errorf("storing %s in %s: %d bytes is more than the %d-byte maximum object size", key, s.url, len(data), s.maxSize)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	sum := sha256.Sum256(data)
	checksum := base64.StdEncoding.EncodeToString(sum[:])
	in := &s3.PutObjectInput{
		Bucket:            aws.String(s.loc.Bucket),
		Key:               s.objectKey(key),
		Body:              bytes.NewReader(data),
		ContentLength:     aws.Int64(int64(len(data))),
		IfNoneMatch:       aws.String("*"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(checksum),
	}
	if s.objectLock {
		in.ObjectLockMode = s.lockMode
		in.ObjectLockRetainUntilDate = aws.Time(s.now().Add(s.retention).UTC())
		if s.legalHold {
			in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
		}
	}
	var attempts atomic.Int32
	_, err := s.client.PutObject(ctx, in, countAttempts(&attempts))
	if err == nil {
		return nil
	}
	if errorCode(err) == "PreconditionFailed" {
		if attempts.Load() == 1 {
			return fmt.Errorf("storing %s in %s: %w", key, s.url, storage.ErrExists)
		}
		same, herr := s.holds(ctx, key, checksum)
		switch {
		case herr == nil && same:
			return nil
		case herr == nil:
			return fmt.Errorf("storing %s in %s: %w", key, s.url, storage.ErrExists)
		}
		ferr := s.fail("checking", key, herr)
		if errors.Is(ferr, storage.ErrUnavailable) || errors.Is(ferr, context.Canceled) {
			// The key is taken, perhaps by an earlier attempt of this
			// very Put: only a later try can tell.
			return fmt.Errorf("storing %s: the retried write found the key taken, and checking whether an earlier attempt took it failed: %w", key, ferr)
		}
		return fmt.Errorf("storing %s in %s: %w (whether it holds this data could not be checked: %v)", key, s.url, storage.ErrExists, ferr)
	}
	return s.fail("storing", key, err)
}

// countAttempts counts the attempts (first try and retries) of one call.
func countAttempts(n *atomic.Int32) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("changeproofCountAttempts",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					n.Add(1)
					return next.HandleFinalize(ctx, in)
				}), "Retry", middleware.After)
		})
	}
}

// holds reports whether the object under key (its oldest version on a
// versioned bucket) has the given SHA-256 checksum. The error is the SDK's.
func (s *Store) holds(ctx context.Context, key, checksum string) (bool, error) {
	in := &s3.HeadObjectInput{
		Bucket:       aws.String(s.loc.Bucket),
		Key:          s.objectKey(key),
		ChecksumMode: types.ChecksumModeEnabled,
	}
	if s.versioned {
		vs, _, err := s.versionsOf(ctx, key)
		if err != nil {
			return false, err
		}
		if len(vs) == 0 {
			return false, nil // taken by a delete marker only: not by this data
		}
		in.VersionId = aws.String(oldest(vs).id)
	}
	out, err := s.client.HeadObject(ctx, in)
	if err != nil {
		return false, err
	}
	return aws.ToString(out.ChecksumSHA256) == checksum, nil
}

// Get returns the content stored under key, or an error wrapping
// storage.ErrNotExist. On a versioned bucket it reads the key's oldest
// version (see the package documentation). It asks for the stored
// checksum, and the SDK refuses content that does not match it; a server
// that returns no checksum (an object not written by Put) is not checked.
// An object over MaxObjectSize is refused with an error naming the key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	in := &s3.GetObjectInput{
		Bucket:       aws.String(s.loc.Bucket),
		Key:          s.objectKey(key),
		ChecksumMode: types.ChecksumModeEnabled,
	}
	if s.versioned {
		v, err := s.version(ctx, "reading", key)
		if err != nil {
			return nil, err
		}
		if v.size > s.maxSize {
			return nil, s.tooLarge(key, v.size)
		}
		in.VersionId = aws.String(v.id)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, s.fail("reading", key, err)
	}
	defer out.Body.Close()
	size := aws.ToInt64(out.ContentLength)
	if size > s.maxSize {
		return nil, s.tooLarge(key, size)
	}
	// Never more than maxSize+1 bytes, whatever the server said or sends.
	buf := bytes.NewBuffer(make([]byte, 0, max(size, 0)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(out.Body, s.maxSize+1)); err != nil {
		return nil, s.fail("reading", key, err)
	}
	if int64(buf.Len()) > s.maxSize {
		return nil, s.tooLarge(key, -1)
	}
	if out.ContentLength != nil && int64(buf.Len()) != size {
		return nil, fmt.Errorf("reading %s from %s: got %d bytes, the object has %d: %w", key, s.url, buf.Len(), size, storage.ErrUnavailable)
	}
	return buf.Bytes(), nil
}

// tooLarge is Get's error for an object over the maximum size; size is the
// size the server reported, or negative when it sent more than it said.
func (s *Store) tooLarge(key string, size int64) error {
	what := "the server sent more"
	if size >= 0 {
		what = fmt.Sprintf("the server reports %d bytes", size)
	}
	return fmt.Errorf("reading %s from %s: the object is larger than the %d-byte maximum (%s): changeproof writes no such object, so someone else put it there; it was not read",
		key, s.url, s.maxSize, what)
}

// Stat describes the object stored under key (its oldest version on a
// versioned bucket), or returns an error wrapping storage.ErrNotExist.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if s.versioned {
		v, err := s.version(ctx, "stat", key)
		if err != nil {
			return storage.ObjectInfo{}, err
		}
		return storage.ObjectInfo{Key: key, Size: v.size, ModTime: v.modTime}, nil
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.loc.Bucket), Key: s.objectKey(key)})
	if err != nil {
		return storage.ObjectInfo{}, s.fail("stat", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// List yields the objects whose keys start with prefix, in ascending
// byte-wise key order, reading pages of up to 1,000 entries: ListObjectsV2,
// or ListObjectVersions on a versioned bucket, where every key with a
// version is yielded (even one hidden behind a delete marker) with the
// size and time of its oldest version, as Get reads it. A listing that is
// not in ascending order, or an object under the store's prefix whose key
// breaks the key rules, ends it with an error rather than being passed
// over (see badKey). Zero-byte "folder" markers (keys ending in '/') are
// skipped.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		if !canStartKey(prefix) {
			return
		}
		if err := ctx.Err(); err != nil {
			yield(storage.ObjectInfo{}, fmt.Errorf("listing %s: %w", prefix, err))
			return
		}
		if s.versioned {
			s.listVersions(ctx, prefix, yield)
			return
		}
		in := &s3.ListObjectsV2Input{
			Bucket: aws.String(s.loc.Bucket),
			Prefix: aws.String(s.loc.Prefix + prefix),
		}
		if s.pageSize > 0 {
			in.MaxKeys = aws.Int32(s.pageSize)
		}
		pages := s3.NewListObjectsV2Paginator(s.client, in)
		last := ""
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(storage.ObjectInfo{}, s.fail("listing", prefix, err))
				return
			}
			for _, o := range page.Contents {
				full := aws.ToString(o.Key)
				key, err := s.listedKey(prefix, full)
				if err != nil {
					yield(storage.ObjectInfo{}, err)
					return
				}
				if key <= last {
					yield(storage.ObjectInfo{}, fmt.Errorf("listing %s in %s: the server returned %q after %q, not in ascending order", prefix, s.url, key, last))
					return
				}
				last = key
				info := storage.ObjectInfo{Key: key, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}
				if ok, err := s.listable(prefix, info); !ok {
					if err != nil {
						yield(storage.ObjectInfo{}, err)
						return
					}
					continue
				}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

// listedKey returns the store key of a bucket key a listing of prefix
// returned, or an error if it lies outside the prefix.
func (s *Store) listedKey(prefix, full string) (string, error) {
	key, ok := strings.CutPrefix(full, s.loc.Prefix)
	if !ok || !strings.HasPrefix(key, prefix) {
		return "", fmt.Errorf("listing %s in %s: the server returned %q, outside the prefix", prefix, s.url, full)
	}
	return key, nil
}

// listable reports whether List yields a listed object: false for a
// folder marker, and false with badKey's error for a key that breaks the
// key rules.
func (s *Store) listable(prefix string, info storage.ObjectInfo) (bool, error) {
	if strings.HasSuffix(info.Key, "/") && info.Size == 0 {
		return false, nil // a folder marker made by a console
	}
	if err := storage.ValidateKey(info.Key); err != nil {
		return false, s.badKey(prefix, info.Key, err)
	}
	return true, nil
}

// badKey is List's error for an object under the store's prefix whose key
// breaks the key rules. Such an object was not written by changeproof.
// List stops there rather than skip it: a reader of evidence must not be
// shown a listing with something silently left out. The error names the
// object and what to do.
func (s *Store) badKey(prefix, key string, why error) error {
	return fmt.Errorf("listing %s in %s: bucket object %q is not a changeproof object (%w): someone else stored it under the store's prefix; "+
		"move or delete it (if it is locked, only once its retention ends), or keep the evidence under a prefix that only changeproof writes to",
		prefix, s.url, s.loc.Prefix+key, why)
}

// canStartKey reports whether some valid key starts with prefix.
func canStartKey(prefix string) bool {
	if len(prefix) > 1024 {
		return false
	}
	i := strings.LastIndex(prefix, "/")
	if i >= 0 && storage.ValidateKey(prefix[:i]) != nil {
		return false
	}
	rest := prefix[i+1:]
	if strings.HasPrefix(rest, ".tmp") {
		return false
	}
	for _, r := range rest {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	return true
}

// Describe says where the store is and how its objects are protected.
func (s *Store) Describe() storage.Description {
	d := s.desc
	if d.Lock != nil {
		l := *d.Lock
		if l.Rule != nil {
			r := *l.Rule
			l.Rule = &r
		}
		d.Lock = &l
	}
	return d
}

// fail turns an SDK error of op on key (empty for none) into the store's
// error: the context's error if ctx ended, storage.ErrNotExist for a
// missing object, storage.ErrUnavailable for a transient failure, else a
// permanent error with the server's explanation.
func (s *Store) fail(op, key string, err error) error {
	what := op
	if key != "" {
		what += " " + key
	}
	what += " in " + s.url
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: %w", what, storage.ErrUnavailable, context.DeadlineExceeded)
	}
	switch errorCode(err) {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%s: %w", what, storage.ErrNotExist)
	case "NoSuchBucket":
		return fmt.Errorf("%s: bucket %q does not exist: %w", what, s.loc.Bucket, err)
	case "AccessDenied", "Forbidden":
		return fmt.Errorf("%s: access denied (check the credentials' permissions on bucket %s): %w", what, s.loc.Bucket, err)
	}
	if transient(err) {
		return fmt.Errorf("%s: %w: %w", what, storage.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

var _ storage.Presigner = (*Store)(nil)

// PresignGet returns a presigned GET URL for key, valid for ttl (SigV4
// allows at most 7 days). On a versioned bucket the link names the key's
// oldest version, the one Get reads, so it keeps downloading the locked
// object even if a newer version is put in front of it. The link carries a
// signature made with the store's credentials: whoever holds it can
// download that one object until it expires.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := storage.ValidateKey(key); err != nil {
		return "", fmt.Errorf("presigning %s: %w", key, err)
	}
	if ttl <= 0 || ttl > 7*24*time.Hour {
		return "", fmt.Errorf("presigning %s: a link is valid for more than 0 and at most 7 days, not %s", key, ttl)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.loc.Bucket), Key: s.objectKey(key)}
	if s.versioned {
		v, err := s.version(ctx, "presigning", key)
		if err != nil {
			return "", err
		}
		in.VersionId = aws.String(v.id)
	}
	req, err := s3.NewPresignClient(s.client).PresignGetObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", s.fail("presigning", key, err)
	}
	return req.URL, nil
}
