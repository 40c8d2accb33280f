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

// GetBucketLock reads an R2 bucket's lock configuration, the result object
// {"rules": [...]} exactly as received. With PutBucketLock it implements
// s3store.R2Locks.
func (c *Client) GetBucketLock(ctx context.Context, account, bucket string) (json.RawMessage, error) {
	call, err := c.Get(ctx, r2LockPath(account, bucket), nil)
	if err != nil {
		return nil, err
	}
	return call.Result, nil
}

// PutBucketLock replaces an R2 bucket's lock configuration with config
// ({"rules": [...]}).
func (c *Client) PutBucketLock(ctx context.Context, account, bucket string, config json.RawMessage) error {
	path := r2LockPath(account, bucket)
	if !c.HasToken() {
		return &Error{Call: Call{Request: "PUT " + path, Message: ErrNoToken.Error()}, Err: ErrNoToken}
	}
	res, err := c.api.Raw(ctx, http.MethodPut, path, config, nil)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", path, err)
	}
	if !res.Success {
		return &Error{Call: Call{Request: "PUT " + path, Errors: messages(res.Errors)}, Err: ErrNotSuccess}
	}
	return nil
}
