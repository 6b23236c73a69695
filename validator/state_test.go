package validator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/seed0ffb8d46/agora/scoring"
)

// The state saves into a folder it creates, reads back as saved, and
// replaces itself without leaving temporary files.
func TestStateSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "validator")
	path := filepath.Join(dir, "state.json")
	s := &state{Version: stateVersion, Netuid: 1, Hotkey: "agora1v", Steps: 7, Scores: scoring.NewScores(0.1), LastWeights: 42}
	if err := s.save(path); err != nil {
		t.Fatal(err)
	}
	s.Steps = 8
	if err := s.save(path); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Steps != 8 || got.Netuid != 1 || got.Hotkey != "agora1v" || got.LastWeights != 42 {
		t.Fatalf("loaded %+v", got)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "state.json" {
		t.Fatalf("folder holds %v, want only state.json", ents)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600", fi.Mode().Perm())
	}
}
