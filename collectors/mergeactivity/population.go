package mergeactivity

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// PopulationItem is a change's line in a population:
//
//	TARGET BRANCH TIME SHA
//
// where TIME is merged_at (pull request) or the commit date (direct push) in
// RFC 3339 UTC, or "unknown", and SHA is the merge commit (pull request) or
// the commit (direct push) in full.
func PopulationItem(c ChangeFacts) string {
	when := "unknown"
	if t := c.when(); !t.IsZero() {
		when = t.UTC().Format(time.RFC3339)
	}
	sha := c.SHA
	if sha == "" {
		sha = "-"
	}
	return strings.Join([]string{c.Target(), c.Branch, when, sha}, " ")
}

// NewPopulation sorts the items bytewise and digests them: the sha256 of the
// items, each followed by "\n". The digest does not depend on the order the
// items are given in, and changes with any item.
func NewPopulation(items []string) Population {
	sorted := slices.Clone(items)
	if sorted == nil {
		sorted = []string{}
	}
	slices.Sort(sorted)
	h := sha256.New()
	for _, it := range sorted {
		h.Write([]byte(it))
		h.Write([]byte{'\n'})
	}
	return Population{Count: len(sorted), SHA256: hex.EncodeToString(h.Sum(nil)), Items: sorted}
}
