package mergeactivity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// jobj is a JSON object that keeps its keys in order, so payloads built from
// GitHub's examples read like GitHub's.
type jobj struct {
	keys []string
	vals map[string]any
}

// decodeOrdered parses JSON into *jobj, []any, string, json.Number, bool and
// nil.
func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		o := &jobj{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			o.set(kt.(string), v)
		}
		_, err := dec.Token()
		return o, err
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// set sets a key, keeping its place if it exists.
func (o *jobj) set(k string, v any) *jobj {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
	return o
}

func (o *jobj) get(k string) any { return o.vals[k] }

func (o *jobj) obj(k string) *jobj {
	v, _ := o.vals[k].(*jobj)
	if v == nil {
		panic("jobj: no object at " + k)
	}
	return v
}

func (o *jobj) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, kk := range o.keys {
		if kk == k {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
}

// clone deep-copies a decoded value.
func clone(v any) any {
	switch t := v.(type) {
	case *jobj:
		c := &jobj{keys: append([]string(nil), t.keys...), vals: make(map[string]any, len(t.vals))}
		for k, vv := range t.vals {
			c.vals[k] = clone(vv)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, vv := range t {
			c[i] = clone(vv)
		}
		return c
	}
	return v
}

// rewriteStrings applies r to every string value below v.
func rewriteStrings(v any, r *strings.Replacer) any {
	switch t := v.(type) {
	case *jobj:
		for k, vv := range t.vals {
			t.vals[k] = rewriteStrings(vv, r)
		}
		return t
	case []any:
		for i, vv := range t {
			t[i] = rewriteStrings(vv, r)
		}
		return t
	case string:
		return r.Replace(t)
	}
	return v
}

// encode writes v as JSON indented by two spaces, as GitHub's examples are.
func encode(v any) []byte {
	var b bytes.Buffer
	writeValue(&b, v, "")
	b.WriteByte('\n')
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, v any, indent string) {
	switch t := v.(type) {
	case *jobj:
		if len(t.keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range t.keys {
			b.WriteString(indent + "  ")
			writeString(b, k)
			b.WriteString(": ")
			writeValue(b, t.vals[k], indent+"  ")
			if i < len(t.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, vv := range t {
			b.WriteString(indent + "  ")
			writeValue(b, vv, indent+"  ")
			if i < len(t)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case string:
		writeString(b, t)
	case nil:
		b.WriteString("null")
	default:
		data, err := json.Marshal(t)
		if err != nil {
			panic(err)
		}
		b.Write(data)
	}
}

func writeString(b *bytes.Buffer, s string) {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
	}
	if plain {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}))
}
