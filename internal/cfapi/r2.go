package cfapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// r2LockPath is the API path of an R2 bucket's lock configuration.
func r2LockPath(account, bucket string) string {
	return Path("accounts", account, "r2", "buckets", bucket, "lock")
}

// R2Locks reads and replaces the lock rules of R2 buckets in one
// jurisdiction ("" the default, or "eu", "fedramp": the Cloudflare API
// serves those buckets only to requests carrying cf-r2-jurisdiction). It
// implements s3store.R2JurisdictionLocks.
type R2Locks struct {
	c            *Client
	jurisdiction string
}

// R2Locks returns the client's R2 lock-rule reader for the default
// jurisdiction.
func (c *Client) R2Locks() R2Locks { return R2Locks{c: c} }

// InJurisdiction returns the same reader for buckets in jurisdiction.
func (l R2Locks) InJurisdiction(jurisdiction string) R2Locks {
	return R2Locks{c: l.c, jurisdiction: jurisdiction}
}

func (l R2Locks) headers() http.Header {
	if l.jurisdiction == "" {
		return nil
	}
	return http.Header{"cf-r2-jurisdiction": {l.jurisdiction}}
}

// GetBucketLock reads an R2 bucket's lock configuration, the result object
// {"rules": [...]} exactly as received.
func (l R2Locks) GetBucketLock(ctx context.Context, account, bucket string) (json.RawMessage, error) {
	call, err := l.c.get(ctx, r2LockPath(account, bucket), nil, l.headers())
	if err != nil {
		return nil, err
	}
	return call.Result, nil
}

// PutBucketLock replaces an R2 bucket's lock configuration with config
// ({"rules": [...]}).
func (l R2Locks) PutBucketLock(ctx context.Context, account, bucket string, config json.RawMessage) error {
	path := r2LockPath(account, bucket)
	if !l.c.HasToken() {
		return &Error{Call: Call{Request: "PUT " + path, Message: ErrNoToken.Error()}, Err: ErrNoToken}
	}
	res, err := l.c.api.Raw(ctx, http.MethodPut, path, config, l.headers())
	if err != nil {
		return fmt.Errorf("PUT %s: %w", path, err)
	}
	if !res.Success {
		return &Error{Call: Call{Request: "PUT " + path, Errors: messages(res.Errors)}, Err: ErrNotSuccess}
	}
	return nil
}
