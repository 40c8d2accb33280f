package cli_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestCoveragePageInHeadlessChromium loads the coverage page that
// `changeproof serve` serves into a real headless Chromium (Debian's
// chromium package), checks that the deliberate gap is drawn, visible and
// named, and takes a screenshot. Set COVERAGE_PAGE_SCREENSHOT=FILE to keep
// a copy of the screenshot.
func TestCoveragePageInHeadlessChromium(t *testing.T) {
	requireTool(t, "chromium")
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal(err)
	}
	st := newServeStore(t)
	srv := startServe(t, nil, "--config", st.config)

	dir := t.TempDir()
	// The machine may have no network: without these flags Chromium waits
	// on background requests.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 1000),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	const gap = chromedp.CSS(`.timeline .win[data-status="missing"]`)
	run := func(what string, f func() error) {
		t.Helper()
		if err := f(); err != nil {
			t.Fatalf("chromium: %s: %v\nserve: %s", what, err, srv.stderr.String())
		}
	}
	var (
		heading, gapText string
		title            chromedp.AttributeResult
		shot             []byte
		geometry         struct {
			Width, Height float64
			OnTop         bool
			Scripts       int
		}
	)
	run("load the page", func() error {
		return chromedp.Do(ctx, chromedp.Navigate(srv.base+"/?from=2026-11-01&to=2026-11-14"), chromedp.WaitVisible(gap))
	})
	run("read the heading", func() (err error) { heading, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); return })
	run("read the gap's title", func() (err error) { title, err = chromedp.Run(ctx, chromedp.AttributeValue(gap, "title")); return })
	run("read the gap list", func() (err error) {
		gapText, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#job-bp-daily li.gap[data-status="missing"]`)))
		return
	})
	// Visible: it has an area, and it is what is drawn at its centre.
	run("measure the gap", func() (err error) {
		geometry, err = chromedp.Run(ctx, chromedp.Evaluate[struct {
			Width, Height float64
			OnTop         bool
			Scripts       int
		}](`(() => {
			const el = document.querySelector('`+string(gap)+`');
			el.scrollIntoView({block: "center"});
			const r = el.getBoundingClientRect();
			return {Width: r.width, Height: r.height,
				OnTop: document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el,
				Scripts: document.scripts.length};
		})()`))
		return
	})
	run("take a screenshot", func() (err error) { shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); return })
	if heading != "Change-management evidence coverage" {
		t.Errorf("heading %q", heading)
	}
	if !title.Exists || !strings.Contains(title.Value, "Gap") || !strings.Contains(title.Value, "2026-11-05 00:00 UTC – 2026-11-06 00:00 UTC") {
		t.Errorf("the missing window's title = %+v", title)
	}
	if !strings.Contains(gapText, "Missing: 2026-11-05 00:00 UTC – 2026-11-06 00:00 UTC") {
		t.Errorf("the gap list says %q", gapText)
	}
	if geometry.Width < 10 || geometry.Height < 10 || !geometry.OnTop {
		t.Errorf("the missing window is not visibly drawn: %+v", geometry)
	}
	if geometry.Scripts != 0 {
		t.Errorf("the page has %d script(s)", geometry.Scripts)
	}

	path := filepath.Join(dir, "coverage-page.png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("screenshot %v, want at least 800×600", b)
	}
	if keep := os.Getenv("COVERAGE_PAGE_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot: %s (%d bytes, %v)", path, len(shot), img.Bounds())
}
