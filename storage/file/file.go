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
// Every file access goes through an [os.Root] opened on the store directory
// when the store is opened, so nothing in the directory, such as a symlink
// pointing elsewhere, can make the store read or write outside it. The store
// also refuses symlinks inside the directory: it opens a key's path one
// directory at a time, checking each entry with Lstat, and Put, Get and Stat
// of a key whose path crosses a symlink (a symlinked directory or a
// symlinked object) return an error wrapping [ErrSymlink] that names the key
// and the link. Get and Stat of a key holding a named pipe, socket, device or
// other entry that is neither a regular file nor a directory return an error
// wrapping [ErrNotRegular]; Get never blocks opening it. Neither error is
// storage.ErrNotExist: the entry exists and verification reports it. List
// does not skip such entries either: it ends with an error naming the first
// symlink or non-regular entry it meets under the prefix, so verification
// fails loudly instead of overlooking it.
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
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/changeproof/changeproof/storage"
)

// Scheme is the URL scheme of this backend.
const Scheme = "file"

var (
	// ErrSymlink is wrapped by the error of Put, Get, Stat and List when a
	// key's path, or an entry List reads, is a symbolic link. The file store
	// refuses symlinks anywhere under its directory.
	ErrSymlink = errors.New("symlink found")
	// ErrNotRegular is wrapped by the error of Put, Get, Stat and List when a
	// key's path, or an entry List reads, is neither a regular file nor a
	// directory: a named pipe, socket, device or the like.
	ErrNotRegular = errors.New("not a regular file")
)

// Store is a create-only object store in a local directory. Its methods are
// safe for concurrent use, also by several processes sharing the directory.
type Store struct {
	root    string   // absolute path of the store directory
	rootDir *os.Root // the store directory, opened once; all access goes through it
}

var _ storage.Store = (*Store)(nil)

// Open opens the store directory that url names, creating it (mode 0755, with
// its parents) if missing. url is "file://" followed by a path taken
// literally ("file:///abs/dir", "file://rel/dir", "file://./dir") or a plain
// path. It has the storage.Opener signature; the file store has no retention
// control, so opts is unused.
//
// The directory stays open for the life of the store: if it is moved, the
// store keeps using it at its new place.
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
	rootDir, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("opening store directory %s: %w", root, err)
	}
	return &Store{root: root, rootDir: rootDir}, nil
}

// abs returns the file path of rel, a '/'-separated path inside the store,
// for messages.
func (s *Store) abs(rel string) string {
	return filepath.Join(s.root, filepath.FromSlash(rel))
}

// refuse returns an error wrapping ErrSymlink or ErrNotRegular, naming the
// entry, if fi (from Lstat of rel, a path inside the store) is neither a
// regular file nor a directory.
func (s *Store) refuse(rel string, fi fs.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsRegular() || m.IsDir():
		return nil
	case m&fs.ModeSymlink != 0:
		return fmt.Errorf("%w at %s: the file store refuses symlinks", ErrSymlink, s.abs(rel))
	default:
		return fmt.Errorf("%w: %s is a %s", ErrNotRegular, s.abs(rel), kind(m))
	}
}

// kind names the type of a file that is neither regular nor a directory.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "file of mode " + m.String()
	}
}

// objectInPathError reports a regular file (an object) where a key's path
// needs a directory. It matches syscall.ENOTDIR, so readers turn it into
// storage.ErrNotExist.
type objectInPathError struct{ path string }

func (e *objectInPathError) Error() string { return e.path + " is an object, not a directory" }
func (e *objectInPathError) Unwrap() error { return syscall.ENOTDIR }

// enter opens the directory name in parent; rel is its path inside the store.
// It refuses a symlink and anything else that is not a directory, and checks
// that the directory it opened is the one it examined, so a symlink swapped
// in meanwhile is refused too. With create, a missing directory is made and
// its name made durable. A missing directory is an error matching
// fs.ErrNotExist, an object in its place one matching syscall.ENOTDIR.
func (s *Store) enter(parent *os.Root, rel, name string, create bool) (*os.Root, error) {
	fi, err := parent.Lstat(name)
	if create && errors.Is(err, fs.ErrNotExist) {
		if err := parent.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		// Made by us or by a concurrent writer that may not have synced yet.
		if err := syncDir(parent); err != nil {
			return nil, fmt.Errorf("making directory %s durable: %w", s.abs(rel), err)
		}
		fi, err = parent.Lstat(name)
	}
	if err != nil {
		return nil, err
	}
	if err := s.refuse(rel, fi); err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &objectInPathError{path: s.abs(rel)}
	}
	dir, err := parent.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	dfi, err := dir.Stat(".")
	if err == nil && !os.SameFile(fi, dfi) {
		err = fmt.Errorf("%s was replaced while being opened", s.abs(rel))
	}
	if err != nil {
		dir.Close()
		return nil, err
	}
	return dir, nil
}

// openDir opens the directory inside the store whose path is segs, one
// segment at a time through enter; no segments is the store directory. With
// create, missing directories are made. The caller closes the result with
// closeDir.
func (s *Store) openDir(segs []string, create bool) (*os.Root, error) {
	dir := s.rootDir
	for i, seg := range segs {
		sub, err := s.enter(dir, strings.Join(segs[:i+1], "/"), seg, create)
		s.closeDir(dir)
		if err != nil {
			return nil, err
		}
		dir = sub
	}
	return dir, nil
}

// closeDir closes a directory openDir returned.
func (s *Store) closeDir(dir *os.Root) {
	if dir != s.rootDir {
		dir.Close()
	}
}

// splitKey returns a valid key's directory segments and its last segment.
func splitKey(key string) (dirs []string, name string) {
	segs := strings.Split(key, "/")
	return segs[:len(segs)-1], segs[len(segs)-1]
}

// Put stores data under key if the key is free. It returns an error wrapping
// storage.ErrExists if it is taken, storage.ErrInvalidKey for a bad key,
// ErrSymlink or ErrNotRegular if the key's path crosses a symlink or another
// entry that is neither a directory nor a regular file, and the context's
// error if ctx is done before writing starts.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	segs, name := splitKey(key)
	dir, err := s.openDir(segs, true)
	if err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	defer s.closeDir(dir)
	if err := publish(dir, name, data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("storing %s: %w", key, s.taken(dir, key, name))
		}
		return fmt.Errorf("storing %s: %w", key, err)
	}
	// Make the new name durable; new directories were made durable by enter.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("storing %s: written but not made durable: %w", key, err)
	}
	return nil
}

// taken explains why Put could not link name in dir: storage.ErrExists
// unless the name is a directory or an entry the store refuses.
func (s *Store) taken(dir *os.Root, key, name string) error {
	fi, err := dir.Lstat(name)
	if err != nil {
		return storage.ErrExists
	}
	if err := s.refuse(key, fi); err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory holding other keys", s.abs(key))
	}
	return storage.ErrExists
}

// publish writes data to a temporary file in dir and links it to name, which
// fails with an error matching fs.ErrExist if name exists. The temporary
// file is always removed.
func publish(dir *os.Root, name string, data []byte) (err error) {
	f, tmp, err := createTemp(dir)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := dir.Remove(tmp); rerr != nil && err == nil {
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
	return dir.Link(tmp, name)
}

// createTemp creates a new file named ".tmp-*" in dir, with mode 0600, and
// returns it and its name.
func createTemp(dir *os.Root) (*os.File, string, error) {
	for range 1000 {
		name := ".tmp-" + strconv.FormatUint(rand.Uint64(), 36)
		f, err := dir.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("cannot create a temporary file: too many names taken")
}

// syncDir fsyncs a directory so that entries created in it survive a crash.
func syncDir(dir *os.Root) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync there
	}
	d, err := dir.Open(".")
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

// lstatObject returns the FileInfo of the object name in dir; key is its
// key. A missing name or a directory is storage.ErrNotExist; a symlink or
// another entry that is not a regular file is refused.
func (s *Store) lstatObject(dir *os.Root, key, name string) (fs.FileInfo, error) {
	fi, err := dir.Lstat(name)
	if err != nil {
		return nil, notExist(err)
	}
	if err := s.refuse(key, fi); err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%w (%s is a directory)", storage.ErrNotExist, s.abs(key))
	}
	return fi, nil
}

// Get returns the content stored under key, or an error wrapping
// storage.ErrNotExist. A key whose path crosses a symlink, or that holds a
// named pipe or another entry that is not a regular file, is an error
// wrapping ErrSymlink or ErrNotRegular.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	segs, name := splitKey(key)
	dir, err := s.openDir(segs, false)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, notExist(err))
	}
	defer s.closeDir(dir)
	fi, err := s.lstatObject(dir, key, name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	// O_NONBLOCK: should a named pipe be swapped in after the Lstat, opening
	// it must not wait for a writer; the SameFile check then refuses it.
	f, err := dir.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, notExist(err))
	}
	defer f.Close()
	ffi, err := f.Stat()
	if err == nil && !os.SameFile(fi, ffi) {
		err = fmt.Errorf("%s was replaced while being opened", s.abs(key))
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, ffi.Size()+bytes.MinRead))
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return buf.Bytes(), nil
}

// Stat describes the object stored under key, or returns an error wrapping
// storage.ErrNotExist. Like Get, it refuses symlinks and entries that are
// not regular files.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	segs, name := splitKey(key)
	dir, err := s.openDir(segs, false)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, notExist(err))
	}
	defer s.closeDir(dir)
	fi, err := s.lstatObject(dir, key, name)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
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
// (".tmp*") entries are skipped. A symlink, or an entry that is neither a
// directory nor a regular file, on the way to that directory or among the
// entries whose keys start with prefix, is not skipped: List ends with an
// error naming it, wrapping ErrSymlink or ErrNotRegular.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return s.list(ctx, prefix, readDir)
}

// readDir returns the entries of dir, in no particular order; dirKey is its
// key prefix ("" for the store directory, otherwise ending in '/').
func readDir(dir *os.Root, dirKey string) ([]fs.DirEntry, error) {
	f, err := dir.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// list is List reading directories with readDir, which tests replace.
func (s *Store) list(ctx context.Context, prefix string, readDir func(dir *os.Root, dirKey string) ([]fs.DirEntry, error)) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		base := prefix[:strings.LastIndex(prefix, "/")+1]
		if base != "" && storage.ValidateKey(strings.TrimSuffix(base, "/")) != nil {
			return // no valid key starts with prefix; never walk outside the root
		}
		if err := ctx.Err(); err != nil {
			yield(storage.ObjectInfo{}, fmt.Errorf("listing %s: %w", prefix, err))
			return
		}
		var segs []string
		if base != "" {
			segs = strings.Split(strings.TrimSuffix(base, "/"), "/")
		}
		dir, err := s.openDir(segs, false)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return // nothing stored under this prefix
			}
			yield(storage.ObjectInfo{}, fmt.Errorf("listing %s: %w", prefix, err))
			return
		}
		defer s.closeDir(dir)
		l := lister{ctx: ctx, s: s, prefix: prefix, readDir: readDir, yield: yield}
		l.walk(dir, base)
	}
}

// lister walks the store directory for List.
type lister struct {
	ctx     context.Context
	s       *Store
	prefix  string
	readDir func(dir *os.Root, dirKey string) ([]fs.DirEntry, error)
	yield   func(storage.ObjectInfo, error) bool
}

// fail yields err as the listing's last result and returns false.
func (l *lister) fail(err error) bool {
	l.yield(storage.ObjectInfo{}, fmt.Errorf("listing %s: %w", l.prefix, err))
	return false
}

// walk yields the matching objects under dir, the directory whose key
// prefix is dirKey ("" for the root, otherwise ending in '/'). It returns
// false when the listing must stop.
func (l *lister) walk(dir *os.Root, dirKey string) bool {
	if err := l.ctx.Err(); err != nil {
		return l.fail(err)
	}
	entries, err := l.readDir(dir, dirKey)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return true // removed since it was opened
		}
		return l.fail(err)
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
		name := e.Name()
		if strings.HasPrefix(name, ".tmp") {
			continue
		}
		key := dirKey + name
		sub := key + "/"
		if !strings.HasPrefix(sub, l.prefix) && !strings.HasPrefix(l.prefix, sub) {
			continue // neither a matching key nor a directory that can hold one
		}
		isDir := e.IsDir()
		var fi fs.FileInfo
		if !isDir {
			// Lstat through the store directory: the entry's type as it is
			// now, and its size and time.
			fi, err = dir.Lstat(name)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed by someone else since ReadDir
			}
			if err == nil {
				err = l.s.refuse(key, fi)
			}
			if err != nil {
				return l.fail(err)
			}
			isDir = fi.IsDir()
		}
		if isDir {
			subDir, err := l.s.enter(dir, key, name, false)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return l.fail(err)
			}
			ok := l.walk(subDir, sub)
			subDir.Close()
			if !ok {
				return false
			}
			continue
		}
		if !strings.HasPrefix(key, l.prefix) {
			continue
		}
		if !l.yield(storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil) {
			return false
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
