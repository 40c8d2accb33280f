package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/evidence"
)

// maxInstallKey bounds what is read of a key file: a 4096-bit RSA key in PEM
// is about 3 KiB, an Ed25519 one 119 bytes.
const maxInstallKey = 64 << 10

func (app *App) keyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Install private key files where changeproof accepts them",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(app.keyInstallCmd())
	return cmd
}

func (app *App) keyInstallCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "install --to DIR FILE...",
		Short: "Copy private keys into DIR with mode 0600, owned by this user",
		Long: `Copy each private key FILE to DIR/<its base name>, created new with mode
0600 and owned by the user running this command: changeproof refuses a
signing key that group or others may read, and a GitHub App key another user
owns.

It exists for Kubernetes Secret volumes, which cannot give a file mode 0600
owned by the container's user: with the pod's fsGroup a Secret's files are
group-readable (defaultMode 0400 becomes 0440), without it they belong to
root. The Helm chart runs this command as an init container of the
changeproof image itself, with the Secrets mounted read-only and DIR in an
in-memory emptyDir that the changeproof container mounts read-only.

Each FILE (symlinks followed, as a Secret volume's are) must be a regular
file of at most 64 KiB holding one unencrypted PEM private key: the Ed25519
PKCS#8 signing key (changeproof keygen) or an RSA key in PKCS#1 or PKCS#8
(a GitHub App's). Every FILE is checked before anything is written, and a
failure removes what this command wrote.

DIR is created with mode 0700 when it does not exist (its parent must); an
existing DIR must belong to this user and be writable by no one else. A file
already in DIR is refused, unless it is an identical 0600 copy of this
user's (the init container run again in the same pod).

Prints one line per key naming its copy; never key material.`,
		Example: `  changeproof key install --to /run/changeproof/keys \
    /run/secrets/changeproof/signing/signing.key \
    /run/secrets/changeproof/github-app/github-app.pem`,
		RunE: func(cmd *cobra.Command, files []string) error {
			if to == "" {
				return fail(ExitError, errors.New("--to is required: the directory to copy the keys into"))
			}
			if len(files) == 0 {
				return fail(ExitError, errors.New("no key FILE given: name the key files to install"))
			}
			lines, err := installKeys(to, files)
			for _, l := range lines {
				fmt.Fprintln(app.Stdout, l)
			}
			if err != nil {
				return fail(ExitError, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "directory to copy the keys into (created with mode 0700 if missing)")
	return cmd
}

// sourceKey is a key file read and checked, ready to be written.
type sourceKey struct {
	src, name, kind string
	data            []byte
}

// installKeys copies files into dir and returns one line per key. It checks
// every source before writing anything and removes what it wrote when a
// later key fails.
func installKeys(dir string, files []string) ([]string, error) {
	keys := make([]sourceKey, 0, len(files))
	byName := map[string]string{}
	for _, f := range files {
		k, err := readSourceKey(f)
		if err != nil {
			return nil, err
		}
		if prev, ok := byName[k.name]; ok {
			return nil, fmt.Errorf("key files %s and %s would both be installed as %s", prev, f, filepath.Join(dir, k.name))
		}
		byName[k.name] = f
		keys = append(keys, k)
	}

	root, err := openKeyDir(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var lines, written []string
	for _, k := range keys {
		dst := filepath.Join(dir, k.name)
		created, err := writeKeyCopy(root, k)
		if err != nil {
			for _, w := range written {
				_ = root.Remove(w)
			}
			return nil, fmt.Errorf("installing %s as %s: %w", k.src, dst, err)
		}
		if created {
			written = append(written, k.name)
			lines = append(lines, fmt.Sprintf("installed %s (%s, mode 0600) from %s", dst, k.kind, k.src))
		} else {
			lines = append(lines, fmt.Sprintf("unchanged %s (%s, mode 0600): already a copy of %s", dst, k.kind, k.src))
		}
	}
	return lines, nil
}

// readSourceKey reads a key file, following symlinks, refusing what is not
// a regular file of at most maxInstallKey bytes holding a PEM private key.
// Its errors name the file and never quote its content.
func readSourceKey(path string) (sourceKey, error) {
	k := sourceKey{src: path, name: filepath.Base(path)}
	if path == "" || k.name == "." || k.name == string(filepath.Separator) {
		return k, fmt.Errorf("key file %q: not a file name", path)
	}
	// Stat before opening: opening a FIFO would block.
	fi, err := os.Stat(path)
	if err != nil {
		return k, fmt.Errorf("key file %s: %w", path, describePathErr(err))
	}
	if err := checkSourceKey(path, fi); err != nil {
		return k, err
	}
	f, err := os.Open(path)
	if err != nil {
		return k, fmt.Errorf("key file %s: %w", path, describePathErr(err))
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		return k, fmt.Errorf("key file %s: %w", path, describePathErr(err))
	}
	if !os.SameFile(fi, ofi) {
		return k, fmt.Errorf("key file %s changed while it was opened", path)
	}
	if err := checkSourceKey(path, ofi); err != nil {
		return k, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInstallKey+1))
	if err != nil {
		return k, fmt.Errorf("reading key file %s: %w", path, describePathErr(err))
	}
	if len(data) > maxInstallKey {
		return k, fmt.Errorf("key file %s is larger than %d KiB: not a private key file", path, maxInstallKey>>10)
	}
	kind, err := privateKeyKind(data)
	if err != nil {
		return k, fmt.Errorf("key file %s %w", path, err)
	}
	k.kind, k.data = kind, data
	return k, nil
}

func checkSourceKey(path string, fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		return fmt.Errorf("key file %s is a directory", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("key file %s is not a regular file (%s)", path, fi.Mode().Type())
	case fi.Size() > maxInstallKey:
		return fmt.Errorf("key file %s is larger than %d KiB: not a private key file", path, maxInstallKey>>10)
	}
	return nil
}

// describePathErr drops the path an *fs.PathError repeats (the caller names
// the file) and says what a symlink loop is.
func describePathErr(err error) error {
	if errors.Is(err, syscall.ELOOP) {
		return errors.New("too many levels of symbolic links (a symlink loop)")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// privateKeyKind says which private key the PEM data holds: an Ed25519
// PKCS#8 signing key, or an RSA key (PKCS#1 or PKCS#8) such as a GitHub
// App's. The first PRIVATE KEY block counts; its errors quote no data.
func privateKeyKind(data []byte) (string, error) {
	var types []string
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			types = append(types, block.Type)
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return "", errors.New("is encrypted with a passphrase; changeproof reads unencrypted keys")
		}
		switch block.Type {
		case "PRIVATE KEY":
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return "", errors.New("is not a valid PKCS#8 private key")
			}
			switch key := key.(type) {
			case ed25519.PrivateKey:
				id, err := evidence.KeyID(key.Public())
				if err != nil {
					return "", err
				}
				return "Ed25519 signing key " + id, nil
			case *rsa.PrivateKey:
				return "RSA private key, PKCS#8", nil
			default:
				return "", fmt.Errorf("is a %T: want an Ed25519 signing key or an RSA GitHub App key", key)
			}
		case "RSA PRIVATE KEY":
			if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				return "", errors.New("is not a valid PKCS#1 RSA private key")
			}
			return "RSA private key, PKCS#1", nil
		default:
			return "", fmt.Errorf(`holds a %q block: want "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY" (PKCS#1)`, block.Type)
		}
	}
	if len(types) == 0 {
		return "", errors.New("is not PEM: want a PEM private key file")
	}
	return "", fmt.Errorf("holds no private key (PEM blocks: %s)", strings.Join(types, ", "))
}

// openKeyDir opens dir, creating it with mode 0700 when it is missing, and
// refuses a directory another user owns or that group or others may write.
// The checks are made on the directory opened, and every later operation
// stays inside it (os.Root).
func openKeyDir(dir string) (*os.Root, error) {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("--to %s: %w", dir, describePathErr(err))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("--to %s: %w", dir, describePathErr(err))
	}
	fi, err := root.Stat(".")
	if err == nil {
		err = checkKeyDir(dir, fi)
	}
	if err != nil {
		root.Close()
		return nil, err
	}
	return root, nil
}

func checkKeyDir(dir string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("--to %s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("--to %s belongs to user %d, not to this user (%d): it could replace the keys; name a directory of this user's, or a missing one to create", dir, st.Uid, os.Getuid())
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("--to %s has mode %04o: group or others may replace the keys in it; name a directory only this user can write, or a missing one to create", dir, perm)
	}
	return nil
}

// writeKeyCopy creates k's copy in root, create-exclusive with mode 0600.
// An existing file is refused unless it is an identical 0600 copy of this
// user's; created says whether the file was written.
func writeKeyCopy(root *os.Root, k sourceKey) (created bool, err error) {
	f, err := root.OpenFile(k.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if sameKeyCopy(root, k) {
			return false, nil
		}
		return false, errors.New("the file already exists and is not an identical 0600 copy of this user's: refusing to replace a key")
	}
	if err != nil {
		return false, describePathErr(err)
	}
	// Set the mode on the open file: the umask may have narrowed it.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(k.data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(k.name)
		return false, describePathErr(err)
	}
	return true, nil
}

// sameKeyCopy reports whether root already holds k as a regular 0600 file
// of this user's with the same content.
func sameKeyCopy(root *os.Root, k sourceKey) bool {
	fi, err := root.Lstat(k.name)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 || fi.Size() != int64(len(k.data)) {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return false
	}
	f, err := root.Open(k.name)
	if err != nil {
		return false
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return false
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInstallKey+1))
	return err == nil && bytes.Equal(data, k.data)
}
