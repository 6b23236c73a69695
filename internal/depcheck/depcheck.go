// Package depcheck keeps the arrows of DESIGN.md section 2 true: which of
// the module's packages may depend on which. Rules lists them; the
// package's test reads the import clauses of every non-test Go file in the
// module (go/parser, whatever the build tags, so it sees every platform's
// files) and fails naming the chain of imports that breaks a rule.
//
// Test files are not checked: a validator's tests may run real miners,
// the daemons only meet through package api and package protocol.
package depcheck

import (
	"bufio"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Rule is what one package, and every package below it, may import.
type Rule struct {
	// Pkg is the package's path within the module, such as "validator".
	Pkg string
	// StdlibOnly is true when it imports nothing outside the standard
	// library.
	StdlibOnly bool
	// Never are the packages (each with the packages below it) it must not
	// depend on, directly or through other packages of the module.
	Never []string
	// Why is the reason, said when the rule breaks.
	Why string
}

// Rules are the arrows of DESIGN.md section 2 that matter most: the
// daemons meet through api and protocol, never through each other, and
// the pure cores stay pure.
var Rules = []Rule{
	{Pkg: "api", StdlibOnly: true,
		Why: "api is the wire contract every daemon imports: it must pull none of them, nor anything else, in"},
	{Pkg: "consensus", StdlibOnly: true,
		Why: "the Yuma epoch is pure, deterministic code that every node runs alike"},
	{Pkg: "weights", StdlibOnly: true,
		Why: "weight vectors are checked alike by the chain and by validators"},
	{Pkg: "validator", Never: []string{"miner", "dashboard"},
		Why: "a validator meets miners and the dashboard only through api and protocol"},
	{Pkg: "miner", Never: []string{"validator", "dashboard"},
		Why: "a miner meets validators and the dashboard only through api and protocol"},
	{Pkg: "dashboard", Never: []string{"miner", "validator"},
		Why: "the dashboard reads the chain and what validators publish through api, not the daemons' code"},
	{Pkg: "internal/atomicfile", StdlibOnly: true,
		Why: "durable file writes are a leaf that chain-free packages (keys, rlhf, validator) share: it must pull nothing in"},
	{Pkg: "internal/advertise", StdlibOnly: true,
		Why: "choosing the address a daemon advertises is a leaf that miner and validator share: it must pull nothing in"},
	{Pkg: "testnet", Never: []string{"node", "miner", "validator", "localnet"},
		Why: "the testnet runs bin/agora on each host as operators do; a daemon in the harness's process would share its network namespace and prove nothing about hosts"},
	{Pkg: "scoring", Never: []string{"validator", "miner", "chain", "protocol"},
		Why: "the judgement is pure: answers and check results in, scores and reasons out, no chain or network"},
}

// Graph is the module's packages and their imports.
type Graph struct {
	// Module is the module's path, from go.mod.
	Module string
	// Imports maps each package's path within the module ("." for the
	// root) to the import paths of its non-test files, sorted.
	Imports map[string][]string
}

// Load reads the module whose go.mod is in root: every directory with
// non-test Go files, except testdata, vendor, hidden ones and nested
// modules.
func Load(root string) (*Graph, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	g := &Graph{Module: module, Imports: map[string][]string{}}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == root {
				return nil
			}
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("depcheck: %w", err)
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return fmt.Errorf("depcheck: %w", err)
		}
		pkg := filepath.ToSlash(rel)
		imports := g.Imports[pkg]
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("depcheck: %s: import %s: %w", path, spec.Path.Value, err)
			}
			if !slices.Contains(imports, p) {
				imports = append(imports, p)
			}
		}
		slices.Sort(imports)
		g.Imports[pkg] = imports
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// modulePath reads the module line of a go.mod file.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", fmt.Errorf("depcheck: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("depcheck: read %s: %w", gomod, err)
	}
	return "", fmt.Errorf("depcheck: %s has no module line", gomod)
}

// Check returns one error per broken rule and package: a package that
// imports outside the standard library when it may not, or that depends
// on a package it must never, with the chain of imports that does. A rule
// whose package is not in the module is an error too: a rename must not
// leave an arrow unguarded.
func (g *Graph) Check(rules []Rule) []error {
	var errs []error
	pkgs := make([]string, 0, len(g.Imports))
	for p := range g.Imports {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	for _, r := range rules {
		found := false
		for _, p := range pkgs {
			if !under(p, r.Pkg) {
				continue
			}
			found = true
			if r.StdlibOnly {
				for _, imp := range g.Imports[p] {
					if !standard(imp) {
						errs = append(errs, fmt.Errorf("%s imports %s: %s imports only the standard library (%s)", p, imp, r.Pkg, r.Why))
					}
				}
			}
			for _, chain := range g.reaches(p, r.Never) {
				errs = append(errs, fmt.Errorf("%s depends on %s: %s (%s)", p, chain[len(chain)-1], strings.Join(chain, " → "), r.Why))
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("rule for %s: the module has no such package", r.Pkg))
		}
	}
	return errs
}

// reaches returns, for each package of the module that from depends on
// (directly or not) and that is one of never or below one, the shortest
// chain of imports from from to it.
func (g *Graph) reaches(from string, never []string) [][]string {
	if len(never) == 0 {
		return nil
	}
	prev := map[string]string{from: ""}
	queue := []string{from}
	var out [][]string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range g.Imports[p] {
			q, ok := g.local(imp)
			if !ok {
				continue
			}
			if _, seen := prev[q]; seen {
				continue
			}
			prev[q] = p
			if slices.ContainsFunc(never, func(n string) bool { return under(q, n) }) {
				var chain []string
				for c := q; c != ""; c = prev[c] {
					chain = append(chain, c)
				}
				slices.Reverse(chain)
				out = append(out, chain)
				continue // what it imports is its own rule's business
			}
			queue = append(queue, q)
		}
	}
	return out
}

// local returns the path within the module of an import path, if it is
// one of the module's packages.
func (g *Graph) local(imp string) (string, bool) {
	if imp == g.Module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(imp, g.Module+"/")
	return rel, ok
}

// under reports whether pkg is dir or a package below it.
func under(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

// standard reports whether an import path is the standard library's: its
// first element has no dot (as the go command decides), "C" aside.
func standard(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".") && imp != "C"
}

// ModuleRoot returns the directory of the go.mod file at or above dir.
func ModuleRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("depcheck: no go.mod at or above " + dir)
		}
		d = parent
	}
}
