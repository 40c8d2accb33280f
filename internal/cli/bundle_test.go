package cli_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bundleEnv is a store holding the demo week's merge-activity evidence of
// the sample organisation, collected through the fake GitHub.
func bundleEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	r := run(t, "collect", "merge-activity", "--repo", "acme/payments", "--repo", "acme/web", "--from", "2026-11-16", "--to", "2026-11-23",
		"--store", "file://"+e.store, "--key", e.key, "--github-api-url", e.api)
	if r.code != 0 {
		t.Fatalf("collect: %+v", r)
	}
	return e
}

func unzip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestBundleVerifySampleEndToEnd(t *testing.T) {
	e := bundleEnv(t)
	out := filepath.Join(e.dir, "2026-11.zip")
	r := run(t, "bundle", "--store", e.store, "--key", e.key, "--from", "2026-11-16", "--to", "2026-11-23", "--out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "OK    bundle "+out+" verified") {
		t.Fatalf("bundle: %+v", r)
	}
	files := unzip(t, out)
	rows, err := csv.NewReader(bytes.NewReader(files["population.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// The demo week of acme/payments and acme/web: every merged pull
	// request and direct push, with author, approvers and verdict.
	var selfApproved, directPush bool
	for _, row := range rows[1:] {
		line := strings.Join(row, ",")
		selfApproved = selfApproved || (row[1] == "pull_request" && row[10] == "fail" && strings.Contains(line, "approv"))
		directPush = directPush || row[1] == "direct_push"
	}
	if len(rows) < 10 || !selfApproved || !directPush {
		t.Errorf("population.csv has %d rows (self-approved fail %v, direct push %v):\n%s", len(rows)-1, selfApproved, directPush, files["population.csv"])
	}
	html := string(files["report.html"])
	// Every exception is in the report, with its reason: here the
	// self-approved pull requests of ad hoc evidence.
	if !strings.Contains(html, "<html") || !strings.Contains(html, "ad hoc merge-activity") || !strings.Contains(html, "github.com/acme/payments#") {
		t.Errorf("report.html does not list the exceptions:\n%s", html)
	}
	if !strings.Contains(string(files["VERIFY.md"]), "openssl pkeyutl -verify") {
		t.Error("VERIFY.md has no openssl steps")
	}

	// An auditor's verification, offline, with the public key.
	v := run(t, "verify", out, "--pubkey", e.pub)
	if v.code != 0 || !strings.Contains(v.stdout, "MANIFEST signed: period [2026-11-16T00:00:00Z, 2026-11-23T00:00:00Z)") || !strings.Contains(v.stdout, "OK    bundle") {
		t.Fatalf("verify bundle: %+v", v)
	}
	vj := run(t, "verify", out, "--pubkey", e.pub, "--output", "json")
	var got struct {
		OK      bool `json:"ok"`
		Changes int  `json:"changes"`
	}
	if err := json.Unmarshal([]byte(vj.stdout), &got); err != nil || !got.OK || got.Changes != len(rows)-1 {
		t.Errorf("verify --output json: %v %+v\n%s", err, got, vj.stdout)
	}

	// A sample is reproducible, and a subset of the population.
	s1 := run(t, "sample", "--bundle", out, "--size", "3", "--seed", "7", "--pubkey", e.pub)
	s2 := run(t, "sample", "--bundle", out, "--size", "3", "--seed", "7", "--pubkey", e.pub)
	if s1.code != 0 || s1.stdout != s2.stdout || strings.Count(s1.stdout, "\n") != 4 {
		t.Fatalf("sample: %+v / %+v", s1, s2)
	}
	for _, line := range strings.Split(strings.TrimSpace(s1.stdout), "\n") {
		if !bytes.Contains(files["population.csv"], []byte(line)) {
			t.Errorf("sampled line is not in the population: %s", line)
		}
	}
	unverified := run(t, "sample", "--bundle", out, "--size", "3", "--seed", "7")
	if unverified.stdout != s1.stdout || !strings.Contains(unverified.stderr, "was not verified") {
		t.Errorf("sample without --pubkey: %+v", unverified)
	}

	// The bundle is never overwritten.
	before, _ := os.ReadFile(out)
	again := run(t, "bundle", "--store", e.store, "--key", e.key, "--from", "2026-11-16", "--to", "2026-11-23", "--out", out)
	after, _ := os.ReadFile(out)
	if again.code != 2 || !strings.Contains(again.stderr, "already exists") || strings.Count(again.stderr, "\n") != 1 || !bytes.Equal(before, after) {
		t.Errorf("a second bundle to the same file: %+v", again)
	}
}

func TestVerifyBundleReportsTampering(t *testing.T) {
	e := bundleEnv(t)
	out := filepath.Join(e.dir, "b.zip")
	if r := run(t, "bundle", "--store", e.store, "--key", e.key, "--from", "2026-11-16", "--to", "2026-11-23", "--out", out); r.code != 0 {
		t.Fatalf("bundle: %+v", r)
	}
	files := unzip(t, out)
	files["population.csv"] = bytes.Replace(files["population.csv"], []byte(",fail,"), []byte(",pass,"), 1)
	bad := filepath.Join(e.dir, "bad.zip")
	f, err := os.Create(bad)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, data := range files {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	zw.Close()
	f.Close()
	r := run(t, "verify", bad, "--pubkey", e.pub)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  population.csv: modified") || !strings.Contains(r.stdout, "FAIL  population.csv: is not the population the verified evidence gives") {
		t.Errorf("verify of a bundle whose population was edited: %+v", r)
	}
}

func TestBundleBadInput(t *testing.T) {
	e := bundleEnv(t)
	out := filepath.Join(e.dir, "x.zip")
	for name, args := range map[string][]string{
		"no period":        {"bundle", "--store", e.store, "--key", e.key, "--out", out},
		"no out":           {"bundle", "--store", e.store, "--key", e.key, "--from", "2026-11-16", "--to", "2026-11-23"},
		"bad date":         {"bundle", "--store", e.store, "--key", e.key, "--from", "16/11/2026", "--to", "2026-11-23", "--out", out},
		"no key":           {"bundle", "--store", e.store, "--from", "2026-11-16", "--to", "2026-11-23", "--out", out},
		"unknown control":  {"bundle", "--store", e.store, "--key", e.key, "--from", "2026-11-16", "--to", "2026-11-23", "--control", "CC9.9", "--out", out},
		"presign on dir":   {"bundle", "--store", e.store, "--key", e.key, "--from", "2026-11-16", "--to", "2026-11-23", "--presign", "1h", "--out", out},
		"presign too long": {"bundle", "--store", e.store, "--key", e.key, "--from", "2026-11-16", "--to", "2026-11-23", "--presign", "8d", "--out", out},
		"sample no seed":   {"sample", "--bundle", out, "--size", "3"},
		"sample no size":   {"sample", "--bundle", out, "--seed", "1"},
		"sample missing":   {"sample", "--bundle", filepath.Join(e.dir, "none.zip"), "--size", "3", "--seed", "1"},
	} {
		r := run(t, args...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%s: want one line on stderr and exit 2, got %+v", name, r)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%s: a bundle was left behind", name)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(e.dir, ".changeproof-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// --presign uploads the bundle to the object-locked bucket under bundles/
// and prints a link that downloads exactly the bundle.
func TestBundlePresignS3(t *testing.T) {
	e := newS3Env(t)
	if r := e.collectTo(t, e.url("evidence")); r.code != 0 {
		t.Fatalf("collect: %+v", r)
	}
	out := filepath.Join(e.dir, "s3.zip")
	r := run(t, "bundle", "--store", e.url("evidence"), "--key", e.key, "--from", "2026-11-01", "--to", "2026-11-23T12:00:00Z",
		"--out", out, "--presign", "1h", "--output", "json")
	if r.code != 0 {
		t.Fatalf("bundle --presign: %+v", r)
	}
	var got struct {
		Link   string `json:"link"`
		SHA256 string `json:"sha256"`
		OK     bool   `json:"ok"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Link == "" || !got.OK {
		t.Fatalf("bundle output: %v\n%s", err, r.stdout)
	}
	if !strings.Contains(got.Link, "/changeproof/bundles/") || !strings.Contains(got.Link, "X-Amz-Expires=3600") || strings.Contains(got.Link, e.srv.SecretKey) {
		t.Errorf("link %s", got.Link)
	}
	resp, err := http.Get(got.Link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want, _ := os.ReadFile(out)
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Errorf("the link returned %d and %d bytes, want the %d bytes of the bundle", resp.StatusCode, len(body), len(want))
	}
	if v := e.versions(t, "evidence", "changeproof/bundles/"); len(v) != 1 {
		t.Errorf("bundles/ holds %v, want one object", v)
	}
}
