package config

import (
	"testing"
	"time"
)

// FuzzParse: no config file, however malformed (YAML anchors and aliases,
// tabs, huge numbers, wrong types, unknown keys, bad crons and zones),
// makes Parse or the accessors the scheduler uses panic; a config Parse
// accepts validates its jobs and gives each a schedule. Seeds: the
// documented example and the demo's configs.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "null", "~", "[]", "store: [", "a: &a [*a]", "github:\n  concurrency: 1e400\n",
		"jobs:\n  - name: x\n    collector: merge-activity\n    schedule: \"61 * * * *\"\n",
		"jobs:\n  - name: x\n    collector: merge-activity\n    schedule: \"@daily\"\n    time_zone: Mars/Base\n",
		"policies:\n  merge-activity: null\n", "storage:\n  retention: 99999999999999999999d\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a config with its error")
			}
			return
		}
		_ = c.SHA256()
		_ = c.ListenAddr()
		_ = c.MaxCatchUp()
		_ = c.ShutdownGrace()
		_ = c.CheckPolicies(func(string) bool { return true })
		if c.CheckJobs(func(string) bool { return true }, func(string) bool { return true }) != nil {
			return
		}
		for i := range c.Jobs {
			j := &c.Jobs[i]
			if s := c.ScheduleOf(j); s != nil {
				_, _ = s.Latest(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
			}
			var policy map[string]any
			_ = c.DecodeJobPolicy(j, &policy)
		}
	})
}
