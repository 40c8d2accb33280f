package controls

import (
	"strings"
	"testing"
)

func TestDefaultCatalog(t *testing.T) {
	c := Default()
	for _, id := range []string{"CC8.1", "A.8.32", "A.8.4", "A.8.9", "A.8.25", "A.8.29", "A.8.31"} {
		ctl, ok := c.Lookup(id)
		if !ok || ctl.Title == "" {
			t.Errorf("control %s missing or untitled", id)
		}
	}
	got, err := c.For("branch-protection")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, g := range got {
		ids = append(ids, g.Framework+":"+g.ID)
	}
	if strings.Join(ids, ",") != "soc2:CC8.1,iso27001:A.8.32,iso27001:A.8.4,iso27001:A.8.9" {
		t.Fatalf("branch-protection controls = %v", ids)
	}
	if _, err := c.For("nope"); err == nil {
		t.Fatal("unmapped collector accepted")
	}
}

func TestApplyOverride(t *testing.T) {
	base := Default()
	c, err := base.Apply(Override{
		Frameworks: []Framework{{ID: "acme", Title: "ACME internal controls"}},
		Controls: []Control{
			{Framework: "acme", ID: "ACME-CHG-1", Title: "Every change is reviewed"},
			{ID: "CC8.1", Title: "Change management (our wording)"},
		},
		Collectors: map[string][]string{"branch-protection": {"CC8.1", "ACME-CHG-1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.For("branch-protection")
	if len(got) != 2 || got[1].ID != "ACME-CHG-1" || got[1].Framework != "acme" {
		t.Fatalf("override mapping = %+v", got)
	}
	if ctl, _ := c.Lookup("CC8.1"); ctl.Title != "Change management (our wording)" || ctl.Framework != "soc2" {
		t.Fatalf("retitled control = %+v", ctl)
	}
	// The base catalog is unchanged.
	if ctl, _ := base.Lookup("CC8.1"); strings.Contains(ctl.Title, "our wording") {
		t.Fatal("Apply modified the base catalog")
	}
	if got := c.CollectorsFor("ACME-CHG-1"); len(got) != 1 || got[0] != "branch-protection" {
		t.Fatalf("CollectorsFor = %v", got)
	}
}

func TestApplyRejectsBadOverride(t *testing.T) {
	cases := map[string]Override{
		"unknown control":   {Collectors: map[string][]string{"branch-protection": {"CC9.9"}}},
		"unknown framework": {Controls: []Control{{Framework: "nist", ID: "X-1", Title: "x"}}},
		"untitled control":  {Controls: []Control{{Framework: "soc2", ID: "CC6.1"}}},
		"empty mapping":     {Collectors: map[string][]string{"branch-protection": {}}},
	}
	for name, o := range cases {
		if _, err := Default().Apply(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
