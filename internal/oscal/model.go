package oscal

// The subset of the OSCAL 1.1 assessment-results JSON model changeproof
// writes. Field names and nesting follow the NIST schema
// (testdata/oscal_assessment-results_schema.json); optional fields are
// omitted when empty because the schema refuses empty arrays.

// Document is the root of an OSCAL assessment-results JSON document.
type Document struct {
	AssessmentResults AssessmentResults `json:"assessment-results"`
}

// AssessmentResults is the assessment-results assembly.
type AssessmentResults struct {
	UUID       string      `json:"uuid"`
	Metadata   Metadata    `json:"metadata"`
	ImportAP   ImportAP    `json:"import-ap"`
	Results    []Result    `json:"results"`
	BackMatter *BackMatter `json:"back-matter,omitempty"`
}

// Metadata describes the document.
type Metadata struct {
	Title        string     `json:"title"`
	LastModified string     `json:"last-modified"`
	Version      string     `json:"version"`
	OSCALVersion string     `json:"oscal-version"`
	Props        []Property `json:"props,omitempty"`
	Remarks      string     `json:"remarks,omitempty"`
}

// ImportAP points at the assessment plan the results follow.
type ImportAP struct {
	Href    string `json:"href"`
	Remarks string `json:"remarks,omitempty"`
}

// Property is an OSCAL name/value pair; Name is a token, Value a
// non-empty string without leading or trailing space.
type Property struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	NS      string `json:"ns,omitempty"`
	Remarks string `json:"remarks,omitempty"`
}

// Link is an OSCAL link.
type Link struct {
	Href      string `json:"href"`
	Rel       string `json:"rel,omitempty"`
	MediaType string `json:"media-type,omitempty"`
	Text      string `json:"text,omitempty"`
}

// Result is one set of results: changeproof writes one, for the period.
type Result struct {
	UUID             string           `json:"uuid"`
	Title            string           `json:"title"`
	Description      string           `json:"description"`
	Start            string           `json:"start"`
	End              string           `json:"end,omitempty"`
	Props            []Property       `json:"props,omitempty"`
	ReviewedControls ReviewedControls `json:"reviewed-controls"`
	Observations     []Observation    `json:"observations,omitempty"`
	Findings         []Finding        `json:"findings,omitempty"`
	Remarks          string           `json:"remarks,omitempty"`
}

// ReviewedControls names the controls the result covers.
type ReviewedControls struct {
	Description       string             `json:"description,omitempty"`
	ControlSelections []ControlSelection `json:"control-selections"`
}

// ControlSelection selects controls; changeproof writes one per framework.
type ControlSelection struct {
	Description     string          `json:"description,omitempty"`
	Props           []Property      `json:"props,omitempty"`
	IncludeControls []SelectControl `json:"include-controls,omitempty"`
	Remarks         string          `json:"remarks,omitempty"`
}

// SelectControl names one control by its OSCAL control id.
type SelectControl struct {
	ControlID string `json:"control-id"`
}

// Observation is one piece of evidence (or a problem with evidence).
type Observation struct {
	UUID             string             `json:"uuid"`
	Title            string             `json:"title,omitempty"`
	Description      string             `json:"description"`
	Props            []Property         `json:"props,omitempty"`
	Links            []Link             `json:"links,omitempty"`
	Methods          []string           `json:"methods"`
	Types            []string           `json:"types,omitempty"`
	Subjects         []SubjectReference `json:"subjects,omitempty"`
	RelevantEvidence []RelevantEvidence `json:"relevant-evidence,omitempty"`
	Collected        string             `json:"collected"`
	Remarks          string             `json:"remarks,omitempty"`
}

// SubjectReference names what an observation is about.
type SubjectReference struct {
	SubjectUUID string     `json:"subject-uuid"`
	Type        string     `json:"type"`
	Title       string     `json:"title,omitempty"`
	Props       []Property `json:"props,omitempty"`
}

// RelevantEvidence points at the stored evidence behind an observation.
type RelevantEvidence struct {
	Href        string     `json:"href,omitempty"`
	Description string     `json:"description"`
	Props       []Property `json:"props,omitempty"`
	Links       []Link     `json:"links,omitempty"`
	Remarks     string     `json:"remarks,omitempty"`
}

// Finding is the judgement of one control over the period.
type Finding struct {
	UUID                string               `json:"uuid"`
	Title               string               `json:"title"`
	Description         string               `json:"description"`
	Props               []Property           `json:"props,omitempty"`
	Target              FindingTarget        `json:"target"`
	RelatedObservations []RelatedObservation `json:"related-observations,omitempty"`
	Remarks             string               `json:"remarks,omitempty"`
}

// FindingTarget is the control objective a finding judges.
type FindingTarget struct {
	Type        string          `json:"type"`
	TargetID    string          `json:"target-id"`
	Title       string          `json:"title,omitempty"`
	Description string          `json:"description,omitempty"`
	Props       []Property      `json:"props,omitempty"`
	Status      ObjectiveStatus `json:"status"`
	Remarks     string          `json:"remarks,omitempty"`
}

// ObjectiveStatus is satisfied or not-satisfied, with a reason token.
type ObjectiveStatus struct {
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"`
	Remarks string `json:"remarks,omitempty"`
}

// RelatedObservation links a finding to an observation.
type RelatedObservation struct {
	ObservationUUID string `json:"observation-uuid"`
}

// BackMatter holds resources the document refers to by uuid.
type BackMatter struct {
	Resources []Resource `json:"resources"`
}

// Resource is a back-matter resource.
type Resource struct {
	UUID        string     `json:"uuid"`
	Title       string     `json:"title,omitempty"`
	Description string     `json:"description,omitempty"`
	Props       []Property `json:"props,omitempty"`
	Remarks     string     `json:"remarks,omitempty"`
}
