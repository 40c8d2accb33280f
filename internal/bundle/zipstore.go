package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"path"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/storage"
)

// Limits on what a bundle may hold, so a crafted zip cannot exhaust memory.
const (
	// MaxFileSize is the largest file read from a bundle.
	MaxFileSize = 256 << 20
	// MaxFiles is the most files a bundle may hold.
	MaxFiles = 1_000_000
)

// Archive is an opened bundle: a read-only view of its files. Under
// evidence/, raw/, runs/ and keys/ it is a storage.Store with the same keys
// as the store the bundle was taken from, so the store's verification runs
// on it unchanged.
type Archive struct {
	name  string
	files map[string]*zip.File
	// keys are every file's path, sorted.
	keys []string
}

var _ storage.Store = (*Archive)(nil)

// OpenArchive indexes a zip file. It refuses entries with unsafe or
// duplicate paths, and more than MaxFiles entries; name is used in
// messages.
func OpenArchive(r io.ReaderAt, size int64, name string) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: not a zip file: %w", name, err)
	}
	if len(zr.File) > MaxFiles {
		return nil, fmt.Errorf("%s: %d entries, more than the %d a bundle may hold", name, len(zr.File), MaxFiles)
	}
	if err := checkLayout(r, size, zr.File); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a := &Archive{name: name, files: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 == 0 {
			continue // a directory entry
		}
		if !safePath(f.Name) {
			return nil, fmt.Errorf("%s: entry %q is not a clean relative path", name, f.Name)
		}
		if _, dup := a.files[f.Name]; dup {
			return nil, fmt.Errorf("%s: entry %q appears twice (readers would disagree on its content)", name, f.Name)
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, fmt.Errorf("%s: entry %q uses compression method %d (only stored and deflated entries are read)", name, f.Name, f.Method)
		}
		a.files[f.Name] = f
		a.keys = append(a.keys, f.Name)
	}
	slices.Sort(a.keys)
	return a, nil
}

func safePath(p string) bool {
	return p != "" && !strings.HasPrefix(p, "/") && path.Clean(p) == p && p != "." &&
		!slices.Contains(strings.Split(p, "/"), "..") && !strings.ContainsAny(p, "\\\x00")
}

// Files lists every file's path in ascending order.
func (a *Archive) Files() []string { return slices.Clone(a.keys) }

// Has reports whether the bundle holds the file.
func (a *Archive) Has(p string) bool { _, ok := a.files[p]; return ok }

// Read returns a file's content, or an error wrapping storage.ErrNotExist.
func (a *Archive) Read(p string) ([]byte, error) {
	f, ok := a.files[p]
	if !ok {
		return nil, fmt.Errorf("%s in %s: %w", p, a.name, storage.ErrNotExist)
	}
	if f.UncompressedSize64 > MaxFileSize {
		return nil, fmt.Errorf("%s in %s: %d bytes, more than the %d a bundle file may have", p, a.name, f.UncompressedSize64, MaxFileSize)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", p, a.name, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	buf.Grow(int(f.UncompressedSize64))
	// The zip reader checks the CRC and the declared size at EOF.
	if _, err := io.Copy(&buf, io.LimitReader(rc, MaxFileSize+1)); err != nil {
		return nil, fmt.Errorf("%s in %s: %w", p, a.name, err)
	}
	if buf.Len() > MaxFileSize {
		return nil, fmt.Errorf("%s in %s: more than %d bytes", p, a.name, MaxFileSize)
	}
	return buf.Bytes(), nil
}

// Put always fails: a bundle is read-only.
func (a *Archive) Put(context.Context, string, []byte) error {
	return fmt.Errorf("%s: a bundle is read-only", a.name)
}

// Get reads an object.
func (a *Archive) Get(_ context.Context, key string) ([]byte, error) { return a.Read(key) }

// Stat describes an object.
func (a *Archive) Stat(_ context.Context, key string) (storage.ObjectInfo, error) {
	f, ok := a.files[key]
	if !ok {
		return storage.ObjectInfo{}, fmt.Errorf("%s in %s: %w", key, a.name, storage.ErrNotExist)
	}
	return storage.ObjectInfo{Key: key, Size: int64(f.UncompressedSize64), ModTime: f.Modified}, nil
}

// List yields the files under prefix in ascending order.
func (a *Archive) List(_ context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		i, _ := slices.BinarySearch(a.keys, prefix)
		for ; i < len(a.keys) && strings.HasPrefix(a.keys[i], prefix); i++ {
			f := a.files[a.keys[i]]
			if !yield(storage.ObjectInfo{Key: f.Name, Size: int64(f.UncompressedSize64), ModTime: f.Modified}, nil) {
				return
			}
		}
	}
}

// Describe names the bundle.
func (a *Archive) Describe() storage.Description {
	return storage.Description{URL: a.name, Protection: "a bundle: files checked against its signed manifest"}
}

// Zip record signatures.
const (
	sigLocal       = 0x04034b50
	sigDescriptor  = 0x08074b50
	sigEnd         = 0x06054b50
	sigEnd64       = 0x06064b50
	sigEnd64Locate = 0x07064b50
)

// checkLayout accepts only the layout changeproof writes, so that every
// zip reader sees the same files: local entries back to back from the
// first byte, in central directory order, each with the name the central
// directory gives; then the central directory; then its end record, with no
// comment and nothing after it. A zip reader that walks local headers (a
// streaming unzip) would otherwise extract entries smuggled between them,
// which readers of the central directory — verify among them — never see.
func checkLayout(r io.ReaderAt, size int64, files []*zip.File) error {
	read := func(off int64, n int) ([]byte, error) {
		b := make([]byte, n)
		if off < 0 || off+int64(n) > size {
			return nil, errors.New("a record runs past the end of the file")
		}
		if _, err := r.ReadAt(b, off); err != nil {
			return nil, err
		}
		return b, nil
	}
	le32 := func(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
	var cursor int64
	for _, f := range files {
		h, err := read(cursor, 30)
		if err != nil || le32(h) != sigLocal {
			return fmt.Errorf("entry %q: not where the layout puts it (data hidden between entries?)", f.Name)
		}
		nameLen, extraLen := int64(binary.LittleEndian.Uint16(h[26:])), int64(binary.LittleEndian.Uint16(h[28:]))
		local, err := read(cursor+30, int(nameLen))
		if err != nil || string(local) != f.Name {
			return fmt.Errorf("entry %q: its local header names %q", f.Name, local)
		}
		data, err := f.DataOffset()
		if err != nil || data != cursor+30+nameLen+extraLen {
			return fmt.Errorf("entry %q: its data is not where its local header says", f.Name)
		}
		cursor = data + int64(f.CompressedSize64)
		if f.Flags&0x8 != 0 { // a data descriptor follows the data
			d, err := read(cursor, 4)
			if err != nil {
				return fmt.Errorf("entry %q: %w", f.Name, err)
			}
			if le32(d) == sigDescriptor {
				cursor += 4
			}
			if f.CompressedSize64 >= 0xffffffff || f.UncompressedSize64 >= 0xffffffff {
				cursor += 20
			} else {
				cursor += 12
			}
		}
	}
	end, err := read(size-22, 22)
	if err != nil || le32(end) != sigEnd || binary.LittleEndian.Uint16(end[20:]) != 0 {
		return errors.New("the zip does not end with its end record (a comment or data after it)")
	}
	dirStart, dirEnd := int64(le32(end[16:])), size-22
	dirSize := int64(le32(end[12:]))
	if dirStart == 0xffffffff || binary.LittleEndian.Uint16(end[10:]) == 0xffff {
		loc, err := read(size-22-20, 20)
		if err != nil || le32(loc) != sigEnd64Locate {
			return errors.New("zip64 end record locator missing")
		}
		off := int64(binary.LittleEndian.Uint64(loc[8:]))
		e64, err := read(off, 56)
		if err != nil || le32(e64) != sigEnd64 || off+56 != size-22-20 {
			return errors.New("zip64 end record not where its locator says")
		}
		dirStart, dirSize, dirEnd = int64(binary.LittleEndian.Uint64(e64[48:])), int64(binary.LittleEndian.Uint64(e64[40:])), off
	}
	if cursor != dirStart || dirStart+dirSize != dirEnd {
		return errors.New("data between the last entry, the central directory and its end record")
	}
	return nil
}
