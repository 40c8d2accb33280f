package s3store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/changeproof/changeproof/storage"
)

// version is one stored version of an object (not a delete marker).
type version struct {
	id      string
	size    int64
	modTime time.Time
}

// oldest returns the oldest of an object's versions, listed newest first as
// S3 lists them: the earliest LastModified, and of equal ones (times have
// a resolution of a second) the one listed last.
func oldest(vs []version) version {
	o := vs[0]
	for _, v := range vs[1:] {
		if !v.modTime.After(o.modTime) {
			o = v
		}
	}
	return o
}

// versionPages calls page with each page of ListObjectVersions for the
// bucket keys starting with full, until page returns false or the listing
// ends. Entries the previous page already held are left out: S3 starts a
// page after its markers, but some S3-compatible servers (versitygw 1.8)
// repeat the marker's entry when it is a key's newest. It fails on a
// listing that repeats its position.
func (s *Store) versionPages(ctx context.Context, full string, page func(*s3.ListObjectVersionsOutput) bool) error {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.loc.Bucket), Prefix: aws.String(full)}
	if s.pageSize > 0 {
		in.MaxKeys = aws.Int32(s.pageSize)
	}
	id := func(key, version *string) string { return aws.ToString(key) + "\x00" + aws.ToString(version) }
	var prev map[string]bool
	for {
		out, err := s.client.ListObjectVersions(ctx, in)
		if err != nil {
			return err
		}
		seen := make(map[string]bool, len(out.Versions)+len(out.DeleteMarkers))
		out.Versions = slices.DeleteFunc(out.Versions, func(v types.ObjectVersion) bool {
			k := id(v.Key, v.VersionId)
			seen[k] = true
			return prev[k]
		})
		out.DeleteMarkers = slices.DeleteFunc(out.DeleteMarkers, func(m types.DeleteMarkerEntry) bool {
			k := id(m.Key, m.VersionId)
			seen[k] = true
			return prev[k]
		})
		prev = seen
		if !page(out) || !aws.ToBool(out.IsTruncated) {
			return nil
		}
		next, nextID := aws.ToString(out.NextKeyMarker), aws.ToString(out.NextVersionIdMarker)
		if next == "" || (next == aws.ToString(in.KeyMarker) && nextID == aws.ToString(in.VersionIdMarker)) {
			return fmt.Errorf("the server's version listing under %q does not advance (next key marker %q)", full, next)
		}
		in.KeyMarker, in.VersionIdMarker = aws.String(next), aws.String(nextID)
	}
}

// versionsOf returns the versions of the object under key, newest first,
// and how many delete markers it has.
func (s *Store) versionsOf(ctx context.Context, key string) ([]version, int, error) {
	full := s.loc.Prefix + key
	var vs []version
	markers := 0
	err := s.versionPages(ctx, full, func(out *s3.ListObjectVersionsOutput) bool {
		// Keys are listed in ascending order: full comes first, and any
		// longer key after it ends the search.
		past := false
		for _, v := range out.Versions {
			switch k := aws.ToString(v.Key); {
			case k == full:
				vs = append(vs, version{id: aws.ToString(v.VersionId), size: aws.ToInt64(v.Size), modTime: aws.ToTime(v.LastModified)})
			case k > full:
				past = true
			}
		}
		for _, m := range out.DeleteMarkers {
			switch k := aws.ToString(m.Key); {
			case k == full:
				markers++
			case k > full:
				past = true
			}
		}
		return !past
	})
	return vs, markers, err
}

// version returns the version of key that Get and Stat read: the oldest.
// op names the operation for errors.
func (s *Store) version(ctx context.Context, op, key string) (version, error) {
	vs, markers, err := s.versionsOf(ctx, key)
	if err != nil {
		return version{}, s.fail(op, key+" (listing its versions, which needs s3:ListBucketVersions)", err)
	}
	if len(vs) == 0 {
		if markers > 0 {
			return version{}, fmt.Errorf("%s %s in %s: only delete markers remain, every version was deleted: %w", op, key, s.url, storage.ErrNotExist)
		}
		return version{}, fmt.Errorf("%s %s in %s: %w", op, key, s.url, storage.ErrNotExist)
	}
	v := oldest(vs)
	if len(vs) > 1 || markers > 0 {
		s.log.Warn("stored object was overwritten or hidden after it was written; reading its oldest version",
			"store", s.url, "key", key, "versions", len(vs), "deleteMarkers", markers, "version", v.id)
	}
	return v, nil
}

// listVersions is List on a versioned bucket.
func (s *Store) listVersions(ctx context.Context, prefix string, yield func(storage.ObjectInfo, error) bool) {
	var cur storage.ObjectInfo // the key being gathered, with its oldest version so far
	have := false
	done := false // yield returned false, or was given an error
	// emit yields cur; false ends the listing.
	emit := func() bool {
		ok, err := s.listable(prefix, cur)
		switch {
		case err != nil:
			yield(storage.ObjectInfo{}, err)
			done = true
		case ok:
			done = !yield(cur, nil)
		}
		return !done
	}
	var failed error
	err := s.versionPages(ctx, s.loc.Prefix+prefix, func(out *s3.ListObjectVersionsOutput) bool {
		for _, v := range out.Versions {
			key, err := s.listedKey(prefix, aws.ToString(v.Key))
			if err != nil {
				failed = err
				return false
			}
			info := storage.ObjectInfo{Key: key, Size: aws.ToInt64(v.Size), ModTime: aws.ToTime(v.LastModified)}
			switch {
			case have && key == cur.Key:
				// Newest first: a later entry is older, unless its time
				// says otherwise.
				if !info.ModTime.After(cur.ModTime) {
					cur = info
				}
			case have && key < cur.Key:
				failed = fmt.Errorf("listing %s in %s: the server returned %q after %q, not in ascending order", prefix, s.url, key, cur.Key)
				return false
			default:
				if have && !emit() {
					return false
				}
				cur, have = info, true
			}
		}
		return true
	})
	switch {
	case done:
	case failed != nil:
		yield(storage.ObjectInfo{}, failed)
	case err != nil:
		yield(storage.ObjectInfo{}, s.fail("listing", prefix, err))
	case have:
		emit()
	}
}

// keyHistory counts what a version listing holds for one key.
type keyHistory struct {
	versions, markers int
	hidden            bool // the latest entry is a delete marker
}

// Tampering reports the objects under prefix that were hidden or replaced
// on a versioned (Object Lock) bucket: keys whose latest entry is a delete
// marker (deleted without a version ID, which leaves the locked version in
// place but hides it from plain reads), keys with more than one version
// (overwritten by a PUT without If-None-Match; Get still reads the oldest),
// other delete markers, and keys with delete markers only (every version
// deleted, e.g. after its retention). It reads the whole version listing
// under prefix. On R2, which keeps no object versions, and on a bucket
// without Object Lock, it reports nothing. It implements
// storage.TamperChecker.
func (s *Store) Tampering(ctx context.Context, prefix string) ([]storage.Tampered, error) {
	if !s.versioned || !canStartKey(prefix) {
		return []storage.Tampered{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("checking %s for tampering: %w", prefix, err)
	}
	keys := map[string]*keyHistory{}
	entry := func(full string) (*keyHistory, error) {
		key, err := s.listedKey(prefix, full)
		if err != nil {
			return nil, err
		}
		h := keys[key]
		if h == nil {
			h = &keyHistory{}
			keys[key] = h
		}
		return h, nil
	}
	var failed error
	err := s.versionPages(ctx, s.loc.Prefix+prefix, func(out *s3.ListObjectVersionsOutput) bool {
		for _, v := range out.Versions {
			h, err := entry(aws.ToString(v.Key))
			if err != nil {
				failed = err
				return false
			}
			h.versions++
		}
		for _, m := range out.DeleteMarkers {
			h, err := entry(aws.ToString(m.Key))
			if err != nil {
				failed = err
				return false
			}
			h.markers++
			if aws.ToBool(m.IsLatest) {
				h.hidden = true
			}
		}
		return true
	})
	if failed != nil {
		return nil, failed
	}
	if err != nil {
		return nil, s.fail("listing the object versions under", prefix, err)
	}
	found := []storage.Tampered{}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		if why := keys[key].problems(); len(why) > 0 {
			found = append(found, storage.Tampered{Key: key, Reason: strings.Join(why, "; ")})
		}
	}
	return found, nil
}

// problems describes what was done to a key, if anything.
func (h *keyHistory) problems() []string {
	var why []string
	switch {
	case h.versions == 0:
		return []string{fmt.Sprintf("no version is left, only %s: every version of the object was deleted", plural(h.markers, "delete marker"))}
	case h.hidden:
		why = append(why, "a delete marker hides the locked version: the object was deleted without a version ID, so plain S3 reads no longer see it (changeproof still reads the locked version)")
	case h.markers > 0:
		why = append(why, fmt.Sprintf("it has %s: it was deleted and written again", plural(h.markers, "delete marker")))
	}
	if h.versions > 1 {
		why = append(why, fmt.Sprintf("it has %d versions: it was overwritten after it was written create-only (changeproof reads the oldest)", h.versions))
	}
	return why
}

// plural writes n and a noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
