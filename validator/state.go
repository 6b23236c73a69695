package validator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seed0ffb8d46/agora/internal/atomicfile"
	"github.com/seed0ffb8d46/agora/scoring"
)

// stateVersion is the version of the state file's format.
const stateVersion = 1

// state is everything a validator must not lose across a restart: its
// scores, the trained p(useful) classifier, and a weights commit it has
// yet to reveal.
type state struct {
	Version int             `json:"version"`
	Netuid  uint16          `json:"netuid"`
	Hotkey  string          `json:"hotkey"`
	Steps   uint64          `json:"steps"`
	Scores  *scoring.Scores `json:"scores"`
	// Useful is the p(useful) classifier (scoring.Useful's binary form).
	Useful []byte `json:"useful,omitempty"`
	// LastWeights is the block height of the last weights set or
	// committed on mechanism 0, Pending its commit awaiting a reveal;
	// Mechanisms[m-1] are mechanism m's (a subnet's mechanisms share its
	// uids, but each has its own weights, rate limit and commits).
	LastWeights int64          `json:"last_weights"`
	Pending     *pendingCommit `json:"pending,omitempty"`
	Mechanisms  []mechState    `json:"mechanisms,omitempty"`
	// Prefs are the preference tasks awaiting labels, with their trap
	// answers; LabelObs the labels seen, for label-quality statistics.
	Prefs    []prefTask         `json:"prefs,omitempty"`
	LabelObs []scoring.LabelObs `json:"label_obs,omitempty"`
	// DatasetEpoch, DatasetLabels and DatasetRoot are the epoch of the
	// last dataset root committed, how many labels the dataset then held
	// (or at a later export that found the same root) and the root (hex).
	DatasetEpoch  uint64 `json:"dataset_epoch,omitempty"`
	DatasetLabels int    `json:"dataset_labels,omitempty"`
	DatasetRoot   string `json:"dataset_root,omitempty"`
}

// mechState is a mechanism's weights record beyond mechanism 0.
type mechState struct {
	LastWeights int64          `json:"last_weights"`
	Pending     *pendingCommit `json:"pending,omitempty"`
}

// mech returns mechanism m's record, mechanism 0's being the state's own
// fields: last weights and pending commit.
func (s *state) mech(m uint8) (last *int64, pending **pendingCommit) {
	if m == 0 {
		return &s.LastWeights, &s.Pending
	}
	for len(s.Mechanisms) < int(m) {
		s.Mechanisms = append(s.Mechanisms, mechState{})
	}
	ms := &s.Mechanisms[m-1]
	return &ms.LastWeights, &ms.Pending
}

// pendingCommit is what a reveal needs: the exact vector and salt
// committed, and the epoch it was committed in.
type pendingCommit struct {
	Epoch      uint64   `json:"epoch"`
	UIDs       []uint16 `json:"uids"`
	Values     []uint16 `json:"values"`
	Salt       []uint16 `json:"salt"`
	VersionKey uint64   `json:"version_key"`
	Hash       string   `json:"hash"`
	// Mechanism is the incentive mechanism the weights are for.
	Mechanism uint8 `json:"mechanism,omitempty"`
	// RevealEpoch is the epoch the chain said the commit is to be revealed
	// in, once the validator has seen it on chain; 0 until then. It tells
	// a commit that expired from one that never reached a block.
	RevealEpoch uint64 `json:"reveal_epoch,omitempty"`
}

// loadState reads the state at path; a missing file is (nil, nil).
func loadState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("validator: read state: %w", err)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("validator: state %s is corrupt (%v); move it away to start afresh", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("validator: state %s has version %d, this validator reads %d", path, s.Version, stateVersion)
	}
	if s.Scores == nil {
		return nil, fmt.Errorf("validator: state %s has no scores", path)
	}
	if err := s.Scores.Validate(); err != nil {
		return nil, fmt.Errorf("validator: state %s: %w", path, err)
	}
	return &s, nil
}

// save writes s to path atomically: a temporary file beside it, fsynced,
// renamed over path, and the directory fsynced, so a crash leaves either
// the old state or the new one, never a torn file.
func (s *state) save(path string) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("validator: encode state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("validator: save state: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("validator: save state: %w", err)
	}
	return nil
}
