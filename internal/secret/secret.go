// Package secret holds credentials in a type that never prints them.
//
// A Secret formats as "[redacted]" through fmt, log/slog and encoding/json, so a
// token that reaches a log line, an error message or an evidence object by
// accident is not disclosed. Reveal returns the value for the one place that
// needs it (an Authorization header).
package secret

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is a credential such as an API token.
type Secret struct{ v string }

// New wraps a value.
func New(v string) Secret { return Secret{v: v} }

// Reveal returns the plain value. Call it only where the value is sent to the
// service it belongs to.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether no value is set.
func (s Secret) IsZero() bool { return s.v == "" }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer so %#v does not print the value either.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter so every verb, %x and %q included, prints the
// redacted form.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
