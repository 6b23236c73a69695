package depcheck

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestModuleKeepsTheArrows is the guard: the module's packages break none
// of Rules.
func TestModuleKeepsTheArrows(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	// The graph is the module's: the packages the rules name, with the
	// imports they are known to have.
	if !slices.Contains(g.Imports["validator"], g.Module+"/api") || !slices.Contains(g.Imports["miner"], g.Module+"/api") {
		t.Fatalf("validator imports %v, miner %v: want api in both", g.Imports["validator"], g.Imports["miner"])
	}
	for _, err := range g.Check(Rules) {
		t.Error(err)
	}
}

// TestCheckFindsBrokenArrows: each kind of broken rule is reported with
// the chain of imports that breaks it; test files, external modules and
// allowed imports are not.
func TestCheckFindsBrokenArrows(t *testing.T) {
	const m = "example.org/mod"
	g := &Graph{Module: m, Imports: map[string][]string{
		"api":                 {"encoding/json", "time"},
		"consensus":           {"math/bits", "github.com/some/lib"},
		"weights":             {m + "/consensus"},
		"validator":           {m + "/api", m + "/scoring", m + "/glue"},
		"glue":                {m + "/miner/minertest"},
		"miner":               {m + "/api", "go.uber.org/zap"},
		"miner/minertest":     {m + "/miner"},
		"miner/cheat":         {m + "/dashboard"},
		"dashboard":           {m + "/api"},
		"scoring":             {m + "/api", "github.com/dgraph-io/ristretto/v2"},
		"internal/atomicfile": {"os", "path/filepath"},
		"internal/advertise":  {"net", "net/netip"},
		"testnet":             {m + "/chainclient"},
	}}
	var got []string
	for _, err := range g.Check(Rules) {
		got = append(got, err.Error())
	}
	want := []string{
		"consensus imports github.com/some/lib",
		"weights imports example.org/mod/consensus",
		"validator depends on miner/minertest: validator → glue → miner/minertest",
		"miner/cheat depends on dashboard: miner/cheat → dashboard",
	}
	if len(got) != len(want) {
		t.Fatalf("%d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("error %d: %q\nwant it to start %q", i, got[i], w)
		}
	}

	// A rule for a package the module lacks is an error, not a pass.
	errs := g.Check([]Rule{{Pkg: "renamed", StdlibOnly: true}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "no such package") {
		t.Errorf("rule for a missing package: %v", errs)
	}
}

// TestStandard tells the standard library from modules.
func TestStandard(t *testing.T) {
	for imp, want := range map[string]bool{
		"fmt": true, "net/http": true, "crypto/internal/fips140": true,
		"github.com/x/y": false, "go.uber.org/zap": false, "golang.org/x/sync/errgroup": false, "C": false,
	} {
		if got := standard(imp); got != want {
			t.Errorf("standard(%q) = %v, want %v", imp, got, want)
		}
	}
}
