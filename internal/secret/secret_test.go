package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const token = "ghp_supersecretvalue"
	s := New(token)
	if s.Reveal() != token {
		t.Fatalf("Reveal() = %q", s.Reveal())
	}
	outs := []string{
		s.String(), s.GoString(),
		fmt.Sprintf("%v %s %q %x %#v %+v %d", s, s, s, s, s, s, s),
		fmt.Sprint(struct{ T Secret }{s}),
		fmt.Sprintf("%+v", &struct{ T Secret }{s}),
	}
	j, err := json.Marshal(map[string]Secret{"t": s})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", s)
	outs = append(outs, buf.String())
	for _, o := range outs {
		if strings.Contains(o, token) || strings.Contains(o, fmt.Sprintf("%x", token)) {
			t.Errorf("secret leaked in %q", o)
		}
		if !strings.Contains(o, redacted) {
			t.Errorf("output %q does not say %s", o, redacted)
		}
	}
	if New("").String() != "" || !New("").IsZero() {
		t.Error("empty secret should print empty and be zero")
	}
}
