package bundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors/deployments"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/bundle"
	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

var (
	day0    = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cc81    = evidence.Control{Framework: "SOC 2", ID: "CC8.1", Title: "Change management"}
	a832    = evidence.Control{Framework: "ISO/IEC 27001:2022", ID: "A.8.32", Title: "Change management"}
	created = day0.AddDate(0, 0, 10)
)

func dayWindow(d int) schedules.Window {
	return schedules.Window{Start: day0.AddDate(0, 0, d), End: day0.AddDate(0, 0, d+1)}
}

// pull is a merge-activity finding for pull request n merged on day d.
func pull(t testing.TB, d, n int, status evidence.Status, approvers ...string) evidence.Finding {
	t.Helper()
	det, err := json.Marshal(mergeactivity.PullDetails{Repo: "acme/api", Branch: "main", Number: n, Title: fmt.Sprintf("change %d", n),
		Author: "alice", MergedAt: day0.AddDate(0, 0, d).Add(time.Duration(n) * time.Minute), Approvers: approvers,
		Checks: []mergeactivity.CheckDetail{{Name: "ci/test", Kind: "check_run", Conclusion: "success", AtMerge: "passed"}}})
	if err != nil {
		t.Fatal(err)
	}
	f := evidence.Finding{Target: fmt.Sprintf("github.com/acme/api#%d", n), Status: status, Summary: "approved by " + strings.Join(approvers, ", "), Verdict: "approved", Details: det,
		Checks: []evidence.Check{{Rule: "independent_approval", Status: status, Detail: "approvers: " + strings.Join(approvers, ", ")}}}
	if status != evidence.StatusPass {
		f.Verdict, f.Summary = "self_approved", "approved only by its author"
	}
	return f
}

func deployment(t testing.TB, d int, id string, change string) evidence.Finding {
	t.Helper()
	det, err := json.Marshal(deployments.Details{Source: "github", Name: "acme/api", ID: id, Environment: "production",
		CreatedAt: day0.AddDate(0, 0, d).Add(12 * time.Hour), Creator: "deployer", Message: "Deploy",
		Code: []deployments.CodeDetails{{Repo: "acme/api", SHA: strings.Repeat("a", 40), Change: change}}})
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Finding{Target: "github.com/acme/api/deployments/" + id, Status: evidence.StatusPass, Summary: "deploys " + change, Details: det}
}

// store writes daily merge-activity runs for days 0..7 (day 4 fails) and a
// daily deployments job, each day's evidence naming its pull requests.
func store(t *testing.T) *coveragetest.Builder {
	t.Helper()
	b := coveragetest.New(t)
	for d := range 8 {
		status := evidence.StatusPass
		approver := "bob"
		if d == 4 {
			status, approver = evidence.StatusFail, "alice"
		}
		b.Write(coveragetest.Run{Job: "merge-activity-daily", Collector: "merge-activity", Schedule: "@daily", TimeZone: "UTC",
			Window: dayWindow(d), Status: evidence.RunSuccess, Controls: []evidence.Control{cc81, a832},
			Findings: []evidence.Finding{pull(t, d, 100+2*d, evidence.StatusPass, "bob"), pull(t, d, 101+2*d, status, approver)}})
		b.Write(coveragetest.Run{Job: "deployments-daily", Collector: "deployments", Schedule: "@daily", TimeZone: "UTC",
			Window: dayWindow(d), Status: evidence.RunSuccess, Controls: []evidence.Control{a832},
			Findings: []evidence.Finding{deployment(t, d, fmt.Sprint(9000+d), fmt.Sprintf("github.com/acme/api#%d", 100+2*d))}})
	}
	return b
}

func signer(t *testing.T, b *coveragetest.Builder) *evidence.Signer {
	t.Helper()
	return b.Ledger.Signer
}

// simpleReport stands in for the coverage page: the bundle package does
// not depend on it (the CLI's tests run the real one).
func simpleReport(_ context.Context, view storage.Store, _ *evidence.Verifier, _ map[string]string, p schedules.Window, _ time.Time) ([]byte, error) {
	n := 0
	for range view.List(context.Background(), "runs/") {
		n++
	}
	return fmt.Appendf(nil, "<html><body>%s: %d run records</body></html>\n", p, n), nil
}

func build(t *testing.T, b *coveragetest.Builder, period schedules.Window, control string) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := bundle.Build(context.Background(), &out, bundle.Options{Store: b.Store, Signer: signer(t, b), Period: period,
		Control: control, Now: created, Producer: evidence.Producer{Name: "changeproof", Version: "test"}, Report: simpleReport}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func verify(t *testing.T, b *coveragetest.Builder, zipped []byte) *bundle.Report {
	t.Helper()
	a, err := bundle.OpenArchive(bytes.NewReader(zipped), int64(len(zipped)), "test.zip")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bundle.Verify(context.Background(), a, b.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// rezip copies a bundle, changing each file through edit (nil: drop it),
// and adding extra files.
func rezip(t *testing.T, zipped []byte, edit func(name string, data []byte) []byte, extra map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	write := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if data = edit(f.Name, data); data != nil {
			write(f.Name, data)
		}
	}
	for name, data := range extra {
		write(name, data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func files(t *testing.T, zipped []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	rezip(t, zipped, func(name string, data []byte) []byte { out[name] = data; return data }, nil)
	return out
}

func problemsText(rep *bundle.Report) string {
	var b strings.Builder
	for _, p := range rep.Problems {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// period is days 2..6: the runs of days 0, 1 and 7 are outside it, so the
// chains of both jobs enter the bundle through boundary links.
var period = schedules.Window{Start: day0.AddDate(0, 0, 2), End: day0.AddDate(0, 0, 7)}

func TestBundleRoundTrip(t *testing.T) {
	b := store(t)
	zipped := build(t, b, period, "")
	rep := verify(t, b, zipped)
	if !rep.OK() {
		t.Fatalf("a fresh bundle does not verify:\n%s", problemsText(rep))
	}
	fs := files(t, zipped)
	var envs, runs int
	for name := range fs {
		switch {
		case strings.HasPrefix(name, "evidence/"):
			envs++
		case strings.HasPrefix(name, "runs/"):
			runs++
		}
	}
	// Days 2..6 of two jobs: five windows each.
	if envs != 10 || runs != 10 {
		t.Errorf("bundle holds %d envelopes and %d run records, want 10 and 10", envs, runs)
	}
	for _, f := range []string{bundle.ManifestFile, bundle.PopulationFile, bundle.ReportFile, bundle.VerifyFile} {
		if _, ok := fs[f]; !ok {
			t.Errorf("bundle has no %s", f)
		}
	}
	if rep.Manifest == nil || len(rep.Manifest.Boundaries) != 4 {
		t.Fatalf("manifest boundaries = %+v, want the day-1 envelope and run record of each job", rep.Manifest)
	}
	if len(rep.Jobs) != 2 {
		t.Fatalf("jobs = %+v", rep.Jobs)
	}
	for _, j := range rep.Jobs {
		if j.Gaps != 0 || j.Began || j.Records != 5 || !j.Start.Equal(period.Start) || !j.End.Equal(period.End) {
			t.Errorf("job %s: %+v, want 5 contiguous records over the whole period", j.Job, j)
		}
	}

	// The population: ten pull requests and five deployments, each pull
	// request joined to the deployment that shipped it.
	rows, err := csv.NewReader(bytes.NewReader(fs[bundle.PopulationFile])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], bundle.PopulationHeader) || len(rows) != 1+15 {
		t.Fatalf("population.csv has %d lines, header %q", len(rows), rows[0])
	}
	col := func(name string) int { return slices.Index(bundle.PopulationHeader, name) }
	var found bool
	for _, r := range rows[1:] {
		if r[col("change")] == "github.com/acme/api#109" {
			found = true
			if r[col("status")] != "fail" || r[col("approvers")] != "alice" || r[col("kind")] != "pull_request" || !strings.Contains(r[col("reasons")], "approved only by its author") {
				t.Errorf("row of the self-approved change: %q", r)
			}
		}
		if r[col("change")] == "github.com/acme/api#104" && r[col("deployments")] != "github.com/acme/api/deployments/9002" {
			t.Errorf("change #104 should list the deployment that shipped it: %q", r)
		}
	}
	if !found {
		t.Error("population.csv has no row for github.com/acme/api#109")
	}

	// The same store and period give the same bundle, byte for byte.
	if again := build(t, b, period, ""); !bytes.Equal(again, zipped) {
		t.Error("two bundles of the same store and period differ")
	}
}

func TestBundleControlFilter(t *testing.T) {
	b := store(t)
	zipped := build(t, b, period, "CC8.1")
	if rep := verify(t, b, zipped); !rep.OK() {
		t.Fatalf("a CC8.1 bundle does not verify:\n%s", problemsText(rep))
	}
	for name := range files(t, zipped) {
		if strings.Contains(name, "deployments") {
			t.Errorf("a CC8.1 bundle holds %s, of a job mapped only to A.8.32", name)
		}
	}
}

// Changing one byte of any file is reported on that file.
func TestBundleNamesEveryModifiedFile(t *testing.T) {
	b := store(t)
	zipped := build(t, b, period, "")
	for name := range files(t, zipped) {
		t.Run(name, func(t *testing.T) {
			bad := rezip(t, zipped, func(n string, data []byte) []byte {
				if n == name {
					data = bytes.Clone(data)
					i := bytes.LastIndexAny(data, "0123456789abcdef")
					data[i] ^= 1 // stays printable and valid JSON, CSV, HTML
				}
				return data
			}, nil)
			rep := verify(t, b, bad)
			if rep.OK() {
				t.Fatalf("modifying %s went unnoticed", name)
			}
			named := false
			for _, p := range rep.Problems {
				if p.Key == name {
					named = true
				}
			}
			if !named {
				t.Errorf("no problem names %s:\n%s", name, problemsText(rep))
			}
		})
	}
}

func TestBundleRemovedEnvelope(t *testing.T) {
	b := store(t)
	zipped := build(t, b, period, "")
	var victim string
	for name := range files(t, zipped) {
		if strings.HasPrefix(name, "evidence/merge-activity/") && (victim == "" || name < victim) {
			victim = name // the oldest merge-activity envelope of the period
		}
	}
	rep := verify(t, b, rezip(t, zipped, func(n string, data []byte) []byte {
		if n == victim {
			return nil
		}
		return data
	}, nil))
	text := problemsText(rep)
	if !strings.Contains(text, victim+": named by the signed manifest but") {
		t.Errorf("the manifest check does not report the removed %s:\n%s", victim, text)
	}
	if !strings.Contains(text, "window check: "+dayWindow(2).String()+" of job merge-activity-daily is not covered") {
		t.Errorf("the window check does not report the window whose evidence was removed:\n%s", text)
	}
}

// Someone who can delete from a store that is not write-once, without the
// key, deletes the failing day-4 envelope and every run record of its
// job. The bundle must not turn the deleted envelope into a clean
// boundary: verifying it reports the broken chain and the evidence no run
// record names.
func TestBundleReportsADeletionInTheStore(t *testing.T) {
	b := store(t)
	ctx := context.Background()
	var victim string
	for obj, err := range b.Store.List(ctx, "evidence/merge-activity/") {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(obj.Key, "/2026/11/06/") { // day 4's window ends on 11-06
			victim = obj.Key
		}
	}
	root := filepath.Join(b.Dir, "evidence")
	if err := os.Remove(filepath.Join(root, filepath.FromSlash(victim))); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "runs", "merge-activity-daily")); err != nil {
		t.Fatal(err)
	}
	zipped := build(t, b, period, "")
	rep := verify(t, b, zipped)
	text := problemsText(rep)
	if rep.OK() || !strings.Contains(text, victim) || !strings.Contains(text, "deleted from the store") {
		t.Errorf("a bundle of a store with a deleted envelope does not report it:\n%s", text)
	}
	if !strings.Contains(text, "evidence of job merge-activity-daily that no run record in the bundle names") {
		t.Errorf("evidence whose run records were removed is not reported:\n%s", text)
	}
	for _, bd := range rep.Manifest.Boundaries {
		if bd.Key == victim {
			t.Errorf("the deleted envelope %s is a boundary of the manifest", victim)
		}
	}
}

func TestBundleAddedFileAndBadManifest(t *testing.T) {
	b := store(t)
	zipped := build(t, b, period, "")
	rep := verify(t, b, rezip(t, zipped, func(_ string, d []byte) []byte { return d }, map[string][]byte{"notes.txt": []byte("hi\n")}))
	if !strings.Contains(problemsText(rep), "notes.txt: not named by the signed manifest") {
		t.Errorf("an added file is not reported:\n%s", problemsText(rep))
	}
	// A manifest signed by another key is not trusted.
	other := coveragetest.New(t)
	rep = verify(t, other, zipped)
	if rep.OK() || rep.Manifest != nil || !strings.Contains(problemsText(rep), "manifest.json: signature") {
		t.Errorf("a bundle verified with the wrong key: manifest %+v\n%s", rep.Manifest, problemsText(rep))
	}
}

// A day without any run record inside the period is a gap; a job that
// began inside the period is covered from its first window.
func TestBundleWindowGap(t *testing.T) {
	b := coveragetest.New(t)
	for d := 3; d < 8; d++ {
		if d == 5 {
			continue
		}
		b.Write(coveragetest.Run{Job: "bp", Collector: "branch-protection", Schedule: "@daily", TimeZone: "UTC",
			Window: dayWindow(d), Status: evidence.RunSuccess, Controls: []evidence.Control{cc81}})
	}
	rep := verify(t, b, build(t, b, period, ""))
	text := problemsText(rep)
	want := "window check: " + dayWindow(5).String() + " of job bp is not covered in the period " + period.String() + ": no run record accounts for it"
	// The store's check that consecutive windows join reports it too.
	if !strings.Contains(text, want) || !strings.Contains(text, "leaves a gap") || len(rep.Problems) != 2 {
		t.Errorf("problems:\n%s\nwant the join check's and: %s", text, want)
	}
	if len(rep.Jobs) != 1 || !rep.Jobs[0].Began || !rep.Jobs[0].Start.Equal(dayWindow(3).Start) || rep.Jobs[0].Gaps != 1 {
		t.Errorf("job period = %+v, want began on day 3 with one gap", rep.Jobs)
	}
}

func TestOpenArchiveRefusesUnsafeZips(t *testing.T) {
	for name, entries := range map[string][]string{
		"traversal": {"../evil.json"},
		"absolute":  {"/etc/passwd"},
		"duplicate": {"manifest.json", "manifest.json"},
		"unclean":   {"evidence//x.json"},
	} {
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		for _, e := range entries {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: e, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte{})
		}
		zw.Close()
		if _, err := bundle.OpenArchive(bytes.NewReader(out.Bytes()), int64(out.Len()), "x.zip"); err == nil {
			t.Errorf("%s: a zip with %q was opened", name, entries)
		}
	}
}

// An entry smuggled between the last entry and the central directory is
// invisible to verify (which reads the central directory) but extracted by
// streaming unzip tools: the bundle is refused.
func TestOpenArchiveRefusesHiddenEntries(t *testing.T) {
	b := store(t)
	zipped := build(t, b, period, "")
	eocd := len(zipped) - 22
	dir := int(binary.LittleEndian.Uint32(zipped[eocd+16:]))
	name, data := "population.csv", []byte("change\n=HYPERLINK(\"x\")\n")
	local := binary.LittleEndian.AppendUint32(nil, 0x04034b50)
	local = binary.LittleEndian.AppendUint16(local, 20) // version
	local = append(local, make([]byte, 2+2+4)...)       // flags, method stored, time and date
	local = binary.LittleEndian.AppendUint32(local, crc32.ChecksumIEEE(data))
	local = binary.LittleEndian.AppendUint32(local, uint32(len(data)))
	local = binary.LittleEndian.AppendUint32(local, uint32(len(data)))
	local = binary.LittleEndian.AppendUint16(local, uint16(len(name)))
	local = binary.LittleEndian.AppendUint16(local, 0)
	local = append(append(local, name...), data...)
	smuggled := append(append(bytes.Clone(zipped[:dir]), local...), zipped[dir:]...)
	binary.LittleEndian.PutUint32(smuggled[len(smuggled)-22+16:], uint32(dir+len(local)))
	if _, err := zip.NewReader(bytes.NewReader(smuggled), int64(len(smuggled))); err != nil {
		t.Fatalf("the smuggled zip is not even a zip: %v", err)
	}
	for what, z := range map[string][]byte{
		"entry before the central directory": smuggled,
		"bytes after the end record":         append(bytes.Clone(zipped), "junk"...),
	} {
		if _, err := bundle.OpenArchive(bytes.NewReader(z), int64(len(z)), "x.zip"); err == nil {
			t.Errorf("%s: the bundle was opened", what)
		}
	}
	if _, err := bundle.OpenArchive(bytes.NewReader(zipped), int64(len(zipped)), "x.zip"); err != nil {
		t.Errorf("a genuine bundle was refused: %v", err)
	}
}

func TestSampleIsReproducible(t *testing.T) {
	b := store(t)
	pop := files(t, build(t, b, schedules.Window{Start: day0, End: day0.AddDate(0, 0, 8)}, ""))[bundle.PopulationFile]
	s1, n, err := bundle.Sample(pop, 5, 42)
	if err != nil {
		t.Fatal(err)
	}
	if n != 24 {
		t.Fatalf("population of %d, want 16 pull requests and 8 deployments", n)
	}
	s2, _, _ := bundle.Sample(pop, 5, 42)
	s3, _, _ := bundle.Sample(pop, 5, 43)
	if !bytes.Equal(s1, s2) {
		t.Error("the same seed drew two different samples")
	}
	if bytes.Equal(s1, s3) {
		t.Error("seeds 42 and 43 drew the same sample")
	}
	rows, err := csv.NewReader(bytes.NewReader(s1)).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("sample has %d lines (%v), want a header and 5 rows", len(rows), err)
	}
	// Every sampled row is a row of the population, in population order.
	popLines := strings.Split(string(pop), "\n")
	last := 0
	for _, line := range strings.Split(strings.TrimSpace(string(s1)), "\n")[1:] {
		i := slices.Index(popLines, line)
		if i <= last {
			t.Errorf("sampled line %q is not a later line of the population", line)
		}
		last = i
	}
	all, _, _ := bundle.Sample(pop, 1000, 1)
	if !bytes.Equal(all, pop) {
		t.Error("a sample larger than the population is not the whole population")
	}
	if _, _, err := bundle.Sample([]byte("a,b\n1,2\n"), 1, 1); err == nil {
		t.Error("a CSV that is not a population was sampled")
	}
}

// VERIFY.md's shell block, run as written on an unzipped bundle with
// openssl alone, verifies the manifest, every file, and one envelope.
func TestVerifyMDStepsWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is required in CI (make tools installs it): %v", err)
		}
		t.Skip("openssl not installed; run `make tools` (in CI this test fails instead)")
	}
	b := store(t)
	zipped := build(t, b, period, "")
	run := func(fs map[string][]byte) (string, error) {
		dir := t.TempDir()
		for name, data := range fs {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		md := string(fs[bundle.VerifyFile])
		start := strings.Index(md, "```sh\n")
		end := strings.Index(md[start+6:], "```")
		if start < 0 || end < 0 {
			t.Fatal("VERIFY.md has no sh block")
		}
		cmd := exec.Command("bash", "-c", md[start+6:start+6+end])
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PUBKEY="+b.PubFile)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	fs := files(t, zipped)
	out, err := run(fs)
	if err != nil {
		t.Fatalf("VERIFY.md's openssl steps failed on a genuine bundle: %v\n%s", err, out)
	}
	if strings.Count(out, "Signature Verified Successfully") != 2 || !strings.Contains(out, "every file matches the signed manifest") {
		t.Errorf("unexpected output:\n%s", out)
	}
	// A modified population fails step 2.
	fs[bundle.PopulationFile] = append(bytes.Clone(fs[bundle.PopulationFile]), "x\n"...)
	if out, err := run(fs); err == nil || !strings.Contains(out, "MODIFIED: population.csv") {
		t.Errorf("the openssl steps passed a modified population.csv:\n%s", out)
	}
}
