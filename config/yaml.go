package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// applyYAML decodes one YAML document onto root (a Config), strictly: every
// key must name a field, no key may repeat, and sections must be mappings.
// Errors name the file, the line and the dotted key.
func applyYAML(root reflect.Value, data []byte, name string, origin map[string]string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // only comments or whitespace
		}
		return fmt.Errorf("config: parse %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return fmt.Errorf("config: %s:%d: more than one YAML document", name, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: parse %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil
	}
	d := yamlDecoder{file: name, origin: origin}
	return d.section(doc.Content[0], root, "")
}

type yamlDecoder struct {
	file   string
	origin map[string]string
}

func (d *yamlDecoder) errorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("config: %s:%d: %s", d.file, n.Line, fmt.Sprintf(format, args...))
}

// section decodes mapping n onto the struct v whose dotted key is prefix
// ("" for the top level, else ending in ".").
func (d *yamlDecoder) section(n *yaml.Node, v reflect.Value, prefix string) error {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		what := "the top level"
		if prefix != "" {
			what = strings.TrimSuffix(prefix, ".")
		}
		return d.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
	}
	t := v.Type()
	seen := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			return d.errorf(kn, "%s: key must be a string, not %s", strings.TrimSuffix(prefix, "."), kindName(kn))
		}
		key := prefix + kn.Value
		if seen[kn.Value] {
			return d.errorf(kn, "duplicate key %q", key)
		}
		seen[kn.Value] = true
		sf, ok := fieldByTag(t, kn.Value)
		if !ok {
			return d.errorf(kn, "unknown key %q (known keys%s: %s)", key, under(prefix), strings.Join(tags(t), ", "))
		}
		fv := v.FieldByIndex(sf.Index)
		if sf.Type.Kind() == reflect.Struct {
			if err := d.section(vn, fv, key+"."); err != nil {
				return err
			}
			continue
		}
		vn = resolve(vn)
		if isNull(vn) {
			continue
		}
		nv := reflect.New(sf.Type)
		if err := vn.Decode(nv.Interface()); err != nil {
			return d.errorf(vn, "%s: %s", key, decodeMessage(err))
		}
		fv.Set(nv.Elem())
		d.origin[key] = fmt.Sprintf("%s:%d", d.file, vn.Line)
	}
	return nil
}

func under(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " under " + strings.TrimSuffix(prefix, ".")
}

// fieldByTag finds the field of struct t whose yaml tag name is name.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		sf := t.Field(i)
		if n, _, _ := strings.Cut(sf.Tag.Get("yaml"), ","); n == name && n != "-" {
			return sf, true
		}
	}
	return reflect.StructField{}, false
}

// tags lists the yaml tag names of struct t, sorted.
func tags(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if n, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); n != "" && n != "-" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		return fmt.Sprintf("%s %q", strings.TrimPrefix(n.ShortTag(), "!!"), n.Value)
	}
	return "an unexpected node"
}

var linePrefix = regexp.MustCompile(`^line \d+: `)

// decodeMessage turns a yaml decoding error into a short message without the
// library's prefixes; the caller adds file, line and key.
func decodeMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = linePrefix.ReplaceAllString(m, "")
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
