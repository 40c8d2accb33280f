// Package controls is the catalog of audit controls changeproof's evidence
// supports, and the mapping from each collector to its controls. The embedded
// catalog.yaml is the default; a config file can extend or override it.
package controls

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/changeproof/changeproof/evidence"
)

//go:embed catalog.yaml
var defaultCatalog []byte

// Framework is a control framework such as SOC 2.
type Framework struct {
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title" json:"title"`
}

// Control is one control of a framework.
type Control struct {
	Framework string `yaml:"framework" json:"framework"`
	ID        string `yaml:"id" json:"id"`
	Title     string `yaml:"title" json:"title"`
}

// Catalog holds frameworks, controls and the collector mapping.
type Catalog struct {
	Frameworks []Framework          `yaml:"frameworks" json:"frameworks"`
	Controls   []Control            `yaml:"controls" json:"controls"`
	Collectors map[string][]string  `yaml:"collectors" json:"collectors"`
	byID       map[string]Control   `yaml:"-" json:"-"`
	fwByID     map[string]Framework `yaml:"-" json:"-"`
}

// Override is a config file's `controls:` section.
type Override struct {
	// Frameworks adds frameworks (or retitles existing ones).
	Frameworks []Framework `yaml:"frameworks"`
	// Controls adds controls, or retitles an existing control with the same id.
	Controls []Control `yaml:"controls"`
	// Collectors replaces the control list of the named collectors.
	Collectors map[string][]string `yaml:"collectors"`
}

// Default returns the embedded catalog.
func Default() *Catalog {
	var c Catalog
	if err := yaml.UnmarshalWithOptions(defaultCatalog, &c, yaml.Strict()); err != nil {
		panic("controls: embedded catalog.yaml is invalid: " + err.Error())
	}
	if err := c.index(); err != nil {
		panic("controls: embedded catalog.yaml is invalid: " + err.Error())
	}
	return &c
}

func (c *Catalog) index() error {
	c.fwByID = map[string]Framework{}
	for _, f := range c.Frameworks {
		if f.ID == "" {
			return errors.New("a framework has no id")
		}
		c.fwByID[f.ID] = f
	}
	c.byID = map[string]Control{}
	for _, ctl := range c.Controls {
		if ctl.ID == "" || ctl.Title == "" {
			return fmt.Errorf("control %q needs an id and a title", ctl.ID)
		}
		if _, ok := c.fwByID[ctl.Framework]; !ok {
			return fmt.Errorf("control %s: unknown framework %q", ctl.ID, ctl.Framework)
		}
		if _, dup := c.byID[ctl.ID]; dup {
			return fmt.Errorf("control %s defined twice", ctl.ID)
		}
		c.byID[ctl.ID] = ctl
	}
	for col, ids := range c.Collectors {
		if len(ids) == 0 {
			return fmt.Errorf("collector %s maps to no control", col)
		}
		for _, id := range ids {
			if _, ok := c.byID[id]; !ok {
				return fmt.Errorf("collector %s: unknown control %q", col, id)
			}
		}
	}
	return nil
}

// Apply returns a new catalog with the override applied.
func (c *Catalog) Apply(o Override) (*Catalog, error) {
	n := &Catalog{
		Frameworks: slices.Clone(c.Frameworks),
		Controls:   slices.Clone(c.Controls),
		Collectors: map[string][]string{},
	}
	for k, v := range c.Collectors {
		n.Collectors[k] = slices.Clone(v)
	}
	for _, f := range o.Frameworks {
		if i := slices.IndexFunc(n.Frameworks, func(x Framework) bool { return x.ID == f.ID }); i >= 0 {
			n.Frameworks[i] = f
		} else {
			n.Frameworks = append(n.Frameworks, f)
		}
	}
	for _, ctl := range o.Controls {
		if i := slices.IndexFunc(n.Controls, func(x Control) bool { return x.ID == ctl.ID }); i >= 0 {
			if ctl.Framework == "" {
				ctl.Framework = n.Controls[i].Framework
			}
			n.Controls[i] = ctl
		} else {
			n.Controls = append(n.Controls, ctl)
		}
	}
	for col, ids := range o.Collectors {
		n.Collectors[col] = slices.Clone(ids)
	}
	if err := n.index(); err != nil {
		return nil, err
	}
	return n, nil
}

// For returns the controls a collector's evidence supports, as recorded in
// evidence. It fails for a collector the catalog does not map.
func (c *Catalog) For(collector string) ([]evidence.Control, error) {
	ids, ok := c.Collectors[collector]
	if !ok {
		return nil, fmt.Errorf("the controls catalog maps no controls to collector %q", collector)
	}
	return c.Evidence(ids)
}

// Evidence returns controls by id, as recorded in evidence (a job's
// control override). It fails for an id the catalog does not have.
func (c *Catalog) Evidence(ids []string) ([]evidence.Control, error) {
	out := make([]evidence.Control, 0, len(ids))
	for _, id := range ids {
		ctl, ok := c.byID[id]
		if !ok {
			return nil, fmt.Errorf("the controls catalog has no control %q", id)
		}
		out = append(out, evidence.Control{Framework: ctl.Framework, ID: ctl.ID, Title: ctl.Title})
	}
	return out, nil
}

// Lookup returns a control by id.
func (c *Catalog) Lookup(id string) (Control, bool) {
	ctl, ok := c.byID[id]
	return ctl, ok
}

// Framework returns a framework by id.
func (c *Catalog) Framework(id string) (Framework, bool) {
	f, ok := c.fwByID[id]
	return f, ok
}

// CollectorsFor lists the collectors mapped to a control, sorted.
func (c *Catalog) CollectorsFor(id string) []string {
	var out []string
	for col, ids := range c.Collectors {
		if slices.Contains(ids, id) {
			out = append(out, col)
		}
	}
	slices.Sort(out)
	return out
}

// CollectorNames lists the mapped collectors, sorted.
func (c *Catalog) CollectorNames() []string {
	out := make([]string, 0, len(c.Collectors))
	for k := range c.Collectors {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// String renders a short description, for debugging.
func (c *Catalog) String() string {
	return fmt.Sprintf("%d frameworks, %d controls, collectors: %s", len(c.Frameworks), len(c.Controls), strings.Join(c.CollectorNames(), ", "))
}
