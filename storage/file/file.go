// Package file is the file:// storage backend, the embedded default store: a
// directory on the local disk.
//
// A key maps to a path under the store directory, '/' becoming the OS
// separator: the key "raw/<sha256>.json" is the file DIR/raw/<sha256>.json.
// Keys follow storage.ValidateKey; the evidence layout built on them
// (evidence/<collector>/<scope>/<YYYY>/<MM>/<DD>/<timestamp>-<sha256>.json,
// raw/<sha256>.json, keys/<keyid>.pub) is decided by the callers. Because
// a key's segments are directories, a key cannot also be the start of another
// key's path: once "a/b" is stored, "a" and "a/b/c" cannot be.
//
// Put writes to a temporary file named ".tmp-*" in the target directory,
// fsyncs it, makes it read-only (0444) and publishes it with a hard link,
// which fails if the name is taken. Readers therefore see a complete object or
// none, and a stored object is never replaced. Names starting with ".tmp" are
// reserved: List skips them, so a temporary file left by a crash is harmless.
//
// The files are protected by their mode only; the host's administrator can
// still change or delete them. The store is not WORM.
package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/changeproof/changeproof/storage"
)

// Scheme is the URL scheme of this backend.
const Scheme = "file"

// Store is a create-only object store in a local directory. Its methods are
// safe for concurrent use, also by several processes sharing the directory.
type Store struct {
	root string // absolute path of the store directory
}

var _ storage.Store = (*Store)(nil)

// Open opens the store directory that url names, creating it (mode 0755, with
// its parents) if missing. url is "file://" followed by a path taken
// literally ("file:///abs/dir", "file://rel/dir", "file://./dir") or a plain
// path. It has the storage.Opener signature; the file store has no retention
// control, so opts is unused.
func Open(ctx context.Context, url string, opts storage.Options) (storage.Store, error) {
	path, ok := strings.CutPrefix(url, Scheme+"://")
	if !ok && strings.Contains(url, "://") {
		return nil, fmt.Errorf("store %q: not a %s:// URL", url, Scheme)
	}
	if path == "" {
		return nil, fmt.Errorf("store %q: no directory path", url)
	}
	root, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store path %s: %w", path, err)
	}
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("creating store directory %s: %w", root, err)
		}
	case err != nil:
		return nil, fmt.Errorf("store path %s: %w", root, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("store path %s is a file, not a directory", root)
	}
	return &Store{root: root}, nil
}

// path returns the file path of a valid key.
func (s *Store) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// Put stores data under key if the key is free. It returns an error wrapping
// storage.ErrExists if it is taken, storage.ErrInvalidKey for a bad key, and
// the context's error if ctx is done before writing starts.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	final := s.path(key)
	dir := filepath.Dir(final)
	created, err := s.mkdirs(dir)
	if err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err := publish(dir, final, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := os.Lstat(final); serr == nil && fi.IsDir() {
				return fmt.Errorf("storing %s: %s is a directory holding other keys", key, final)
			}
			return fmt.Errorf("storing %s: %w", key, storage.ErrExists)
		}
		return fmt.Errorf("storing %s: %w", key, err)
	}
	// Make the new name durable, then the new directories' names.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("storing %s: written but not made durable: %w", key, err)
	}
	for _, d := range created {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return fmt.Errorf("storing %s: written but not made durable: %w", key, err)
		}
	}
	return nil
}

// publish writes data to a temporary file in dir and links it to final, which
// fails with an error matching fs.ErrExist if final exists. The temporary
// file is always removed.
func publish(dir, final string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, ".tmp-*") // O_CREATE|O_EXCL, mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if rerr := os.Remove(tmp); rerr != nil && err == nil {
			err = fmt.Errorf("stored, but removing the temporary file: %w", rerr)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o444); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Link(tmp, final)
}

// mkdirs creates dir and its missing parents inside the store and returns
// the directories it created (or found created by a concurrent writer), top
// first.
func (s *Store) mkdirs(dir string) ([]string, error) {
	var missing []string
	for d := dir; d != s.root; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("%s is an object, not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
	}
	slices.Reverse(missing)
	for _, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return missing, nil
}

// syncDir fsyncs a directory so that entries created in it survive a crash.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil // the file system (e.g. CIFS) cannot fsync directories
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get returns the content stored under key, or an error wrapping
// storage.ErrNotExist.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, notExist(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s: %w", key, storage.ErrNotExist)
	}
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return buf.Bytes(), nil
}

// Stat describes the object stored under key, or returns an error wrapping
// storage.ErrNotExist.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	fi, err := os.Stat(s.path(key))
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, notExist(err))
	}
	if !fi.Mode().IsRegular() {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, storage.ErrNotExist)
	}
	return storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// notExist turns a missing file, or a path through an object ("a/b/c" when
// "a/b" is an object), into storage.ErrNotExist, keeping err's message.
func notExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w (%v)", storage.ErrNotExist, err)
	}
	return err
}

// List yields the objects whose keys start with prefix, in ascending
// byte-wise key order. It reads only the directory named by prefix up to its
// last '/' and the subdirectories that can hold matching keys. Temporary
// files and anything that is not a regular file are skipped.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return s.list(ctx, prefix, os.ReadDir)
}

// list is List reading directories with readDir, which tests replace.
func (s *Store) list(ctx context.Context, prefix string, readDir func(string) ([]fs.DirEntry, error)) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		base := prefix[:strings.LastIndex(prefix, "/")+1]
		if base != "" && storage.ValidateKey(strings.TrimSuffix(base, "/")) != nil {
			return // no valid key starts with prefix; never walk outside the root
		}
		l := lister{ctx: ctx, root: s.root, prefix: prefix, readDir: readDir, yield: yield}
		l.walk(base)
	}
}

// lister walks the store directory for List.
type lister struct {
	ctx     context.Context
	root    string
	prefix  string
	readDir func(string) ([]fs.DirEntry, error)
	yield   func(storage.ObjectInfo, error) bool
}

// walk yields the matching objects under the directory whose key prefix is
// dirKey ("" for the root, otherwise ending in '/'). It returns false when
// the listing must stop.
func (l *lister) walk(dirKey string) bool {
	if err := l.ctx.Err(); err != nil {
		l.yield(storage.ObjectInfo{}, fmt.Errorf("listing %s: %w", l.prefix, err))
		return false
	}
	dir := filepath.Join(l.root, filepath.FromSlash(dirKey))
	entries, err := l.readDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return true // nothing stored under this prefix
		}
		l.yield(storage.ObjectInfo{}, fmt.Errorf("listing %s: %w", l.prefix, err))
		return false
	}
	// Every key under directory "d" starts with "d/", so sorting directories
	// as name+"/" among the files puts the keys in byte-wise order.
	sortName := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(sortName(a), sortName(b)) })
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp") {
			continue
		}
		key := dirKey + e.Name()
		switch {
		case e.IsDir():
			sub := key + "/"
			if strings.HasPrefix(sub, l.prefix) || strings.HasPrefix(l.prefix, sub) {
				if !l.walk(sub) {
					return false
				}
			}
		case e.Type().IsRegular() && strings.HasPrefix(key, l.prefix):
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed by someone else since ReadDir
			}
			if err != nil {
				l.yield(storage.ObjectInfo{}, fmt.Errorf("listing %s: %w", l.prefix, err))
				return false
			}
			if !l.yield(storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil) {
				return false
			}
		}
	}
	return true
}

// Describe reports the store directory; the files are read-only but the
// store is not WORM.
func (s *Store) Describe() storage.Description {
	return storage.Description{
		URL:        Scheme + "://" + s.root,
		WORM:       false,
		Protection: "read-only files written create-only; not tamper-proof against the host's administrator",
	}
}
