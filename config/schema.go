package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// field is one leaf setting of Config, found by reflection.
type field struct {
	key   string // dotted yaml path, "log.level"
	env   string // "AGORA_LOG_LEVEL"
	flag  string // "log.level"
	help  string // usage text from the help tag
	oneof []string
	// scope is the top-level section whose flags only the commands that
	// ask for it register (a section tagged flags:"scoped"); "" for
	// settings every command takes.
	scope string
	index []int // reflect.Value.FieldByIndex path from the Config root
	typ   reflect.Type
}

var durationType = reflect.TypeFor[time.Duration]()

// tagName is the allowed form of a yaml tag.
var tagName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// schema lists the leaf settings of the struct type t in field order. It
// fails on an untagged field, a badly formed tag, an unsupported type or two
// keys sharing an environment variable; these are programming errors.
func schema(t reflect.Type) ([]field, error) {
	var out []field
	if err := walk(t, "", "", nil, &out); err != nil {
		return nil, fmt.Errorf("config: internal: %w", err)
	}
	seen := make(map[string]string, len(out))
	for _, f := range out {
		if other, dup := seen[f.env]; dup {
			return nil, fmt.Errorf("config: internal: keys %s and %s share environment variable %s", other, f.key, f.env)
		}
		seen[f.env] = f.key
	}
	return out, nil
}

func walk(t reflect.Type, prefix, scope string, index []int, out *[]field) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if !sf.IsExported() {
			return fmt.Errorf("%s.%s: unexported field", t, sf.Name)
		}
		if !tagName.MatchString(name) {
			return fmt.Errorf("%s.%s: yaml tag %q is not lower snake_case", t, sf.Name, tag)
		}
		key := prefix + name
		idx := append(append([]int(nil), index...), i)
		if sf.Type.Kind() == reflect.Struct {
			if sf.Tag.Get("oneof") != "" || sf.Tag.Get("help") != "" {
				return fmt.Errorf("%s: section %s has oneof or help tag", key, sf.Type)
			}
			sub := scope
			switch fl := sf.Tag.Get("flags"); {
			case fl == "scoped" && prefix == "":
				sub = key
			case fl != "":
				return fmt.Errorf("%s: flags tag %q: only a top-level section may be \"scoped\"", key, fl)
			}
			if err := walk(sf.Type, key+".", sub, idx, out); err != nil {
				return err
			}
			continue
		}
		if !supported(sf.Type) {
			return fmt.Errorf("%s: unsupported type %s", key, sf.Type)
		}
		f := field{
			key:   key,
			env:   EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_")),
			flag:  key,
			help:  sf.Tag.Get("help"),
			scope: scope,
			index: idx,
			typ:   sf.Type,
		}
		if o := sf.Tag.Get("oneof"); o != "" {
			if sf.Type.Kind() != reflect.String {
				return fmt.Errorf("%s: oneof tag on non-string type %s", key, sf.Type)
			}
			f.oneof = strings.Split(o, ",")
		}
		*out = append(*out, f)
	}
	return nil
}

func supported(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

// parseValue parses s, in the env/flag syntax of the package comment, as a
// value of f's type. It does not check oneof. Errors do not name the source;
// callers add it.
func (f *field) parseValue(s string) (reflect.Value, error) {
	v := reflect.New(f.typ).Elem()
	switch {
	case f.typ == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return v, fmt.Errorf("%q is not a duration (such as 30s or 1h30m)", s)
		}
		v.SetInt(int64(d))
	case f.typ.Kind() == reflect.String:
		v.SetString(s)
	case f.typ.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return v, fmt.Errorf("%q is not a bool (true or false)", s)
		}
		v.SetBool(b)
	case v.CanInt():
		n, err := strconv.ParseInt(s, 10, f.typ.Bits())
		if err != nil {
			return v, numError(s, f.typ, err)
		}
		v.SetInt(n)
	case v.CanUint():
		n, err := strconv.ParseUint(s, 10, f.typ.Bits())
		if err != nil {
			return v, numError(s, f.typ, err)
		}
		v.SetUint(n)
	case f.typ.Kind() == reflect.Slice:
		v.Set(reflect.ValueOf(splitList(s)).Convert(f.typ))
	default:
		return v, fmt.Errorf("unsupported type %s", f.typ)
	}
	return v, nil
}

func numError(s string, t reflect.Type, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%q is out of range for %s", s, t)
	}
	return fmt.Errorf("%q is not a base-10 %s", s, t)
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty items.
func splitList(s string) []string {
	out := []string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// applyEnv sets every field whose environment variable is set and not empty.
func applyEnv(root reflect.Value, fields []field, lookup func(string) (string, bool), origin map[string]string) error {
	var errs []error
	for i := range fields {
		f := &fields[i]
		s, ok := lookup(f.env)
		if !ok || s == "" {
			continue
		}
		v, err := f.parseValue(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: env %s: %w", f.env, err))
			continue
		}
		root.FieldByIndex(f.index).Set(v)
		origin[f.key] = "env " + f.env
	}
	return errors.Join(errs...)
}
