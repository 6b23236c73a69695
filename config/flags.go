package config

import (
	"flag"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Flags are the command-line flags of every Config setting, named as in the
// package comment (--log.level). One Flags belongs to one command line: it
// may be registered on several flag.FlagSets (say, one per subcommand level)
// which then share its values, and it remembers which flags were set.
// Flags is not safe for concurrent use.
type Flags struct {
	typ    reflect.Type // the struct the flags set, Config outside tests
	values []*flagValue
}

// NewFlags returns the flags of every Config setting, none of them set. It
// panics if Config has a field Load cannot handle, a programming error that
// the package's tests catch.
func NewFlags() *Flags {
	fs, err := newFlags(reflect.ValueOf(Default()))
	if err != nil {
		panic(err)
	}
	return fs
}

// newFlags returns the flags of the struct def, with def's values as
// defaults.
func newFlags(def reflect.Value) (*Flags, error) {
	fields, err := schema(def.Type())
	if err != nil {
		return nil, err
	}
	fs := &Flags{typ: def.Type(), values: make([]*flagValue, len(fields))}
	for i := range fields {
		f := &fields[i]
		fs.values[i] = &flagValue{field: f, val: def.FieldByIndex(f.index)}
	}
	return fs, nil
}

// Register defines the flags of every setting outside the scoped sections
// on set, with the defaults of Default in their usage text. Calling it on
// several flag sets is allowed; registering on one flag set twice panics, as
// flag.FlagSet.Var does.
func (fs *Flags) Register(set *flag.FlagSet) { fs.register(set, "") }

// RegisterSection defines the flags of the scoped section name (a top-level
// section tagged flags:"scoped", such as "miner") on set: the daemon command
// that the section configures registers them, so that they do not crowd
// every other command's help. The environment and the file reach scoped
// settings whatever the command. It panics if name is not a scoped section.
func (fs *Flags) RegisterSection(set *flag.FlagSet, name string) {
	if name == "" || !slices.ContainsFunc(fs.values, func(v *flagValue) bool { return v.field.scope == name }) {
		panic(fmt.Sprintf("config: %q is not a scoped section", name))
	}
	fs.register(set, name)
}

func (fs *Flags) register(set *flag.FlagSet, scope string) {
	for _, v := range fs.values {
		if v.field.scope != scope {
			continue
		}
		usage := v.field.help
		if len(v.field.oneof) > 0 {
			usage += ": " + strings.Join(v.field.oneof, ", ")
		}
		if usage == "" {
			usage = v.field.key
		}
		usage += " (env " + v.field.env + ")"
		set.Var(v, v.field.flag, usage)
	}
}

// SetNames reports the names of the flags that were set, in schema order.
func (fs *Flags) SetNames() []string {
	var out []string
	for _, v := range fs.values {
		if v.set {
			out = append(out, v.field.flag)
		}
	}
	return out
}

// apply copies the value of every flag that was set onto root.
func (fs *Flags) apply(root reflect.Value, origin map[string]string) {
	for _, v := range fs.values {
		if v.set {
			root.FieldByIndex(v.field.index).Set(v.val)
			origin[v.field.key] = "flag --" + v.field.flag
		}
	}
}

// flagValue is the flag.Value of one setting. Set parses eagerly so that the
// flag package reports a bad value as a usage error naming the flag.
type flagValue struct {
	field *field
	val   reflect.Value // current value, starts as the default
	set   bool
}

func (v *flagValue) String() string {
	if v == nil || v.field == nil {
		return "" // flag.isZeroValue calls String on a zero flagValue
	}
	switch {
	case v.field.typ == durationType:
		return fmt.Sprint(v.val.Interface())
	case v.field.typ.Kind() == reflect.Slice:
		return strings.Join(v.val.Convert(reflect.TypeFor[[]string]()).Interface().([]string), ",")
	}
	return fmt.Sprint(v.val.Interface())
}

func (v *flagValue) Set(s string) error {
	nv, err := v.field.parseValue(s)
	if err != nil {
		return err
	}
	if len(v.field.oneof) > 0 && !slices.Contains(v.field.oneof, s) {
		return fmt.Errorf("%q is not one of %s", s, strings.Join(v.field.oneof, ", "))
	}
	if v.field.typ.Kind() == reflect.Slice && v.set {
		nv = reflect.AppendSlice(v.val, nv)
	}
	v.val, v.set = nv, true
	return nil
}

// IsBoolFlag lets a bool setting be given as --name without a value.
func (v *flagValue) IsBoolFlag() bool {
	return v.field != nil && v.field.typ.Kind() == reflect.Bool
}

// Get returns the current value, for flag.Getter.
func (v *flagValue) Get() any { return v.val.Interface() }
