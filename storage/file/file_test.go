package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/storagetest"
)

func TestContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openTemp(t)
	})
}

// openTemp opens a store in a fresh temporary directory.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), "file://"+t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Store)
}

// tempFiles returns the paths of the reserved .tmp entries under root.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp") {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestStoredFilesAreReadOnly(t *testing.T) {
	s := openTemp(t)
	for _, key := range []string{"top.json", "evidence/c/s/2024/05/06/t-abc.json"} {
		if err := s.Put(t.Context(), key, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(filepath.Join(s.root, filepath.FromSlash(key)))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o444 {
			t.Errorf("%s has mode %v, want a regular file with mode 0444", key, fi.Mode())
		}
	}
}

func TestNoTempFilesRemain(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if err := s.Put(ctx, "a/b.json", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if got := tempFiles(t, s.root); len(got) != 0 {
		t.Errorf("after a successful Put, temporary files remain: %q", got)
	}
	// Fails after the temporary file is written: the key is taken.
	if err := s.Put(ctx, "a/b.json", []byte("second")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("Put over an existing key: %v, want ErrExists", err)
	}
	// Fails before: a path through an object, a cancelled context.
	if err := s.Put(ctx, "a/b.json/c", []byte("x")); err == nil {
		t.Fatal("Put below an object succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cancelled, "a/c.json", []byte("x")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if got := tempFiles(t, s.root); len(got) != 0 {
		t.Errorf("after failed Puts, temporary files remain: %q", got)
	}
}

func TestPutOverDirectoryIsNotErrExists(t *testing.T) {
	s := openTemp(t)
	if err := s.Put(t.Context(), "d/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	err := s.Put(t.Context(), "d", []byte("y"))
	if err == nil || errors.Is(err, storage.ErrExists) {
		t.Fatalf("Put on a key that is a directory = %v, want an error other than ErrExists", err)
	}
	if want := filepath.Join(s.root, "d"); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}

func TestOpenRegularFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"file://" + path, path} {
		_, err := Open(t.Context(), url, storage.Options{})
		if err == nil {
			t.Fatalf("Open(%q) on a regular file succeeded", url)
		}
		msg := err.Error()
		if want := "store path " + path + " is a file, not a directory"; msg != want {
			t.Errorf("Open(%q) error = %q, want %q", url, msg, want)
		}
	}
}

func TestOpenBelowRegularFileFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "store")
	_, err := Open(t.Context(), path, storage.Options{})
	if err == nil {
		t.Fatalf("Open(%q) below a regular file succeeded", path)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
		t.Errorf("Open(%q) error = %q, want one line naming the path", path, msg)
	}
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "nested", "store")
	s, err := Open(t.Context(), "file://"+path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		t.Fatalf("Open did not create directory %s: %v", path, err)
	}
	if err := s.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "k")); err != nil {
		t.Errorf("object not stored in the created directory: %v", err)
	}
}

func TestOpenURLForms(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	dir, err := os.Getwd() // resolved as filepath.Abs sees it
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want string // directory, relative to dir unless absolute
	}{
		{"file://" + filepath.Join(dir, "abs"), filepath.Join(dir, "abs")},
		{"file://rel/path", "rel/path"},
		{"file://./dot", "dot"},
		{"file://../" + filepath.Base(dir) + "/up", "up"},
		{"plain/path", "plain/path"},
		{filepath.Join(dir, "plain-abs"), filepath.Join(dir, "plain-abs")},
		{"file://with space", "with space"},
	} {
		want := tc.want
		if !filepath.IsAbs(want) {
			want = filepath.Join(dir, filepath.FromSlash(want))
		}
		s, err := Open(t.Context(), tc.url, storage.Options{})
		if err != nil {
			t.Errorf("Open(%q): %v", tc.url, err)
			continue
		}
		if got := s.Describe().URL; got != "file://"+want {
			t.Errorf("Open(%q).Describe().URL = %q, want %q", tc.url, got, "file://"+want)
		}
		if err := s.Put(t.Context(), "k", []byte(tc.url)); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(want, "k")); err != nil || string(got) != tc.url {
			t.Errorf("Open(%q): object not stored in %s: %q, %v", tc.url, want, got, err)
		}
	}
	for _, url := range []string{"file://", "", "s3://bucket/prefix"} {
		if _, err := Open(t.Context(), url, storage.Options{}); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", url)
		}
	}
}

func TestDescribe(t *testing.T) {
	s := openTemp(t)
	d := s.Describe()
	if d.URL != "file://"+s.root || d.WORM || !strings.Contains(d.Protection, "read-only") {
		t.Errorf("Describe() = %+v", d)
	}
}

func TestLeftoverTempFileIgnored(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if err := s.Put(ctx, "ev/old.json", []byte("old")); err != nil {
		t.Fatal(err)
	}
	// What a crash between creating and publishing leaves behind.
	for _, name := range []string{"ev/.tmp-123456", ".tmp-9", "ev/.tmp-dir/x"} {
		path := filepath.Join(s.root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "ev/new.json", []byte("new")); err != nil {
		t.Fatalf("Put next to a leftover temporary file: %v", err)
	}
	var keys []string
	for info, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	if want := []string{"ev/new.json", "ev/old.json"}; !slices.Equal(keys, want) {
		t.Errorf("List(\"\") = %q, want %q", keys, want)
	}
	if got, err := s.Get(ctx, "ev/new.json"); err != nil || string(got) != "new" {
		t.Errorf("Get = %q, %v", got, err)
	}
}

func TestListReadsOnlyPrefixSubtree(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	for _, key := range []string{
		"evidence/gh/org/2024/05/06/t1.json",
		"evidence/gh/org/2024/05/07/t2.json",
		"evidence/gh/org/2025/01/01/t3.json",
		"evidence/gh/other/2024/01/01/t4.json",
		"raw/abc.json",
		"keys/k1.pub",
	} {
		if err := s.Put(ctx, key, []byte(key)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		prefix   string
		keys     []string
		readDirs []string // relative to the root, '/'-separated
	}{
		{
			prefix:   "evidence/gh/org/2024/05/",
			keys:     []string{"evidence/gh/org/2024/05/06/t1.json", "evidence/gh/org/2024/05/07/t2.json"},
			readDirs: []string{"evidence/gh/org/2024/05", "evidence/gh/org/2024/05/06", "evidence/gh/org/2024/05/07"},
		},
		{
			prefix:   "evidence/gh/org/2025",
			keys:     []string{"evidence/gh/org/2025/01/01/t3.json"},
			readDirs: []string{"evidence/gh/org", "evidence/gh/org/2025", "evidence/gh/org/2025/01", "evidence/gh/org/2025/01/01"},
		},
		{
			prefix:   "raw/",
			keys:     []string{"raw/abc.json"},
			readDirs: []string{"raw"},
		},
		{
			prefix:   "nothing/here/",
			readDirs: nil, // opening the missing directory fails before any read
		},
	} {
		var read []string
		readDirHook := func(dir *os.Root, dirKey string) ([]fs.DirEntry, error) {
			read = append(read, strings.TrimSuffix(dirKey, "/"))
			return readDir(dir, dirKey)
		}
		var keys []string
		for info, err := range s.list(ctx, tc.prefix, readDirHook) {
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, info.Key)
		}
		if !slices.Equal(keys, tc.keys) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, keys, tc.keys)
		}
		if !slices.Equal(read, tc.readDirs) {
			t.Errorf("List(%q) read directories %q, want only %q", tc.prefix, read, tc.readDirs)
		}
	}
}

func TestListCancelled(t *testing.T) {
	s := openTemp(t)
	if err := s.Put(t.Context(), "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var errs int
	for info, err := range s.List(ctx, "") {
		if err == nil {
			t.Errorf("List with a cancelled context yielded %q", info.Key)
			continue
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("List error = %v, want context.Canceled", err)
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("List with a cancelled context yielded %d errors, want 1", errs)
	}
}

// listAll collects a listing up to its first error, which it returns.
func listAll(t *testing.T, s *Store, prefix string) ([]string, error) {
	t.Helper()
	var keys []string
	for info, err := range s.List(t.Context(), prefix) {
		if err != nil {
			return keys, err
		}
		keys = append(keys, info.Key)
	}
	return keys, nil
}

// checkRefused fails the test unless err is a refusal wrapping want that
// names key and the entry at path, and is not storage.ErrNotExist.
func checkRefused(t *testing.T, op string, err, want error, key, path string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s succeeded, want an error wrapping %q", op, want)
	case !errors.Is(err, want):
		t.Errorf("%s error = %v, want one wrapping %q", op, err, want)
	case errors.Is(err, storage.ErrNotExist) || errors.Is(err, storage.ErrExists):
		t.Errorf("%s error = %v, want neither ErrNotExist nor ErrExists", op, err)
	case !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), path):
		t.Errorf("%s error = %q, want it to name the key %s and the entry %s", op, err, key, path)
	}
}

// dirEntries returns the '/'-separated paths of everything under dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir {
			rel, _ := filepath.Rel(dir, path)
			found = append(found, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestSymlinkedDirectoryRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		link string // the symlinked directory, '/'-separated
		key  string // a key below it
	}{
		{"raw", "raw", "raw/x.json"},
		{"chain", "evidence/c/s", "evidence/c/s/2024/05/06/t-abc.json"},
		{"middle", "evidence/c/s/2024/05", "evidence/c/s/2024/05/06/t-abc.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			ctx := t.Context()
			if err := s.Put(ctx, "keys/k1.pub", []byte("key")); err != nil {
				t.Fatal(err)
			}
			outside := t.TempDir()
			linkPath := filepath.Join(s.root, filepath.FromSlash(tc.link))
			if err := os.MkdirAll(filepath.Dir(linkPath), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, linkPath); err != nil {
				t.Fatal(err)
			}

			// Put through the link is refused and writes nothing outside.
			err := s.Put(ctx, tc.key, []byte("must stay inside"))
			checkRefused(t, "Put("+tc.key+")", err, ErrSymlink, tc.key, linkPath)
			if got := dirEntries(t, outside); len(got) != 0 {
				t.Fatalf("Put through a symlinked directory wrote outside the store: %q", got)
			}

			// Get and Stat do not read what the link points to.
			secret := filepath.Join(outside, filepath.FromSlash(strings.TrimPrefix(tc.key, tc.link+"/")))
			if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(secret, []byte("outside"), 0o644); err != nil {
				t.Fatal(err)
			}
			data, err := s.Get(ctx, tc.key)
			checkRefused(t, "Get("+tc.key+")", err, ErrSymlink, tc.key, linkPath)
			if data != nil {
				t.Errorf("Get(%q) returned %q through a symlink", tc.key, data)
			}
			_, err = s.Stat(ctx, tc.key)
			checkRefused(t, "Stat("+tc.key+")", err, ErrSymlink, tc.key, linkPath)

			// List reports the link, whether it is found while walking or on
			// the way to the prefix's directory; other subtrees list fine.
			for _, prefix := range []string{"", tc.link + "/", tc.key} {
				keys, err := listAll(t, s, prefix)
				if err == nil || !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), linkPath) {
					t.Errorf("List(%q) = %q, %v; want an error wrapping ErrSymlink naming %s", prefix, keys, err, linkPath)
				}
			}
			if keys, err := listAll(t, s, "keys/"); err != nil || !slices.Equal(keys, []string{"keys/k1.pub"}) {
				t.Errorf("List(\"keys/\") = %q, %v; want only keys/k1.pub", keys, err)
			}
		})
	}
}

func TestSymlinkInsideStoreRefused(t *testing.T) {
	// os.Root alone would follow a link that stays inside the store.
	s := openTemp(t)
	ctx := t.Context()
	if err := s.Put(ctx, "real/a.json", []byte("a")); err != nil {
		t.Fatal(err)
	}
	linkPath := filepath.Join(s.root, "alias")
	if err := os.Symlink("real", linkPath); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "alias/a.json")
	checkRefused(t, "Get(alias/a.json)", err, ErrSymlink, "alias/a.json", linkPath)
	err = s.Put(ctx, "alias/b.json", []byte("b"))
	checkRefused(t, "Put(alias/b.json)", err, ErrSymlink, "alias/b.json", linkPath)
	if _, err := os.Lstat(filepath.Join(s.root, "real", "b.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Put through a symlink stored real/b.json: %v", err)
	}
}

func TestSymlinkedObjectRefused(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	for _, key := range []string{"raw/a.json", "raw/c.json"} {
		if err := s.Put(ctx, key, []byte(key)); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	for key, target := range map[string]string{
		"raw/b.json": "a.json", // another object of the store
		"raw/x.json": secret,   // a file outside the store
	} {
		linkPath := filepath.Join(s.root, filepath.FromSlash(key))
		if err := os.Symlink(target, linkPath); err != nil {
			t.Fatal(err)
		}
		data, err := s.Get(ctx, key)
		checkRefused(t, "Get("+key+")", err, ErrSymlink, key, linkPath)
		if data != nil {
			t.Errorf("Get(%q) returned %q through a symlink", key, data)
		}
		_, err = s.Stat(ctx, key)
		checkRefused(t, "Stat("+key+")", err, ErrSymlink, key, linkPath)
		err = s.Put(ctx, key, []byte("new"))
		checkRefused(t, "Put("+key+")", err, ErrSymlink, key, linkPath)
	}
	if got, err := os.ReadFile(secret); err != nil || string(got) != "outside" {
		t.Errorf("the link's target changed: %q, %v", got, err)
	}
	// Valid objects before the link are listed, then the error ends the
	// listing: raw/c.json is not reached.
	keys, err := listAll(t, s, "raw/")
	linkPath := filepath.Join(s.root, "raw", "b.json")
	if !slices.Equal(keys, []string{"raw/a.json"}) || !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), linkPath) {
		t.Errorf("List(\"raw/\") = %q, %v; want raw/a.json then an error wrapping ErrSymlink naming %s", keys, err, linkPath)
	}
}

func TestFIFORefused(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if err := s.Put(ctx, "raw/a.json", []byte("a")); err != nil {
		t.Fatal(err)
	}
	const key = "raw/f.json"
	fifo := filepath.Join(s.root, "raw", "f.json")
	mkfifo(t, fifo)

	// Opening a FIFO for reading blocks until a writer comes; Get must not.
	done := make(chan error, 1)
	go func() {
		data, err := s.Get(ctx, key)
		if data != nil {
			err = fmt.Errorf("returned data %q (and error %v)", data, err)
		}
		done <- err
	}()
	select {
	case err := <-done:
		checkRefused(t, "Get("+key+")", err, ErrNotRegular, key, fifo)
	case <-time.After(time.Second):
		// Release the blocked reader, then fail rather than hang.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("Get of a FIFO did not return within a second")
	}

	_, err := s.Stat(ctx, key)
	checkRefused(t, "Stat("+key+")", err, ErrNotRegular, key, fifo)
	err = s.Put(ctx, key, []byte("x"))
	checkRefused(t, "Put("+key+")", err, ErrNotRegular, key, fifo)
	_, err = s.Get(ctx, key+"/below")
	checkRefused(t, "Get("+key+"/below)", err, ErrNotRegular, key+"/below", fifo)
	keys, err := listAll(t, s, "")
	if !slices.Equal(keys, []string{"raw/a.json"}) || !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), fifo) {
		t.Errorf("List(\"\") = %q, %v; want raw/a.json then an error wrapping ErrNotRegular naming %s", keys, err, fifo)
	}
}
