package yumasim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/seed0ffb8d46/agora/consensus"
	"github.com/seed0ffb8d46/agora/weights"
)

// MaxEpochs bounds Scenario.Epochs so that a scenario file cannot ask for
// unbounded work.
const MaxEpochs = 100_000

// DefaultEmission is the emission per epoch, in base units, of a scenario
// that does not set "emission" (1 TAO in rao, as subtensor's tests use).
const DefaultEmission = 1_000_000_000

// Scenario is a parsed, validated simulation: the subnet at the first epoch
// and the changes to make before later epochs. ParseScenario builds one; a
// Scenario built by hand must pass Validate before Run will take it. Run
// does not modify it.
type Scenario struct {
	// N is the number of uids, 1..consensus.MaxUIDs.
	N int
	// Params are the hyperparameters of the first epoch (DefaultParams
	// overlaid with the file's "params"). Params.Tempo is the number of
	// blocks between epochs and must be positive.
	Params consensus.Params
	// Emission is the base units distributed by each epoch.
	Emission uint64
	// Epochs is how many epochs Run computes, 1..MaxEpochs.
	Epochs int
	// StartBlock is the block of epoch 0; epoch e runs at StartBlock plus
	// the tempos of epochs 1..e.
	StartBlock uint64
	// OwnerUID is the subnet owner's uid, if any.
	OwnerUID *uint16
	// Stake is each uid's initial stake in base units (length N).
	Stake []uint64
	// Weights are the initial weight rows, as stored on chain: each row
	// max-upscaled the way set_weights stores it (length N; a nil or empty
	// row means no weights).
	Weights [][]consensus.Entry
	// Registration is each uid's registration block (length N).
	Registration []uint64
	// Permits are the validator permits in force at epoch 0 (length N).
	Permits []bool
	// Names are display labels (length N); never empty strings.
	Names []string
	// Comment is the file's free-text description, if any.
	Comment string
	// Changes are applied in order, each just before the epoch it names;
	// their epochs are non-decreasing.
	Changes []Change
	// Mechanisms are the subnet's incentive mechanisms after mechanism 0
	// (whose weights are Weights and Changes'), as the chain's
	// mechanism_count: each has weights of its own and shares the uids,
	// stake, hyperparameters and permits. Empty: one mechanism.
	Mechanisms []Mechanism
	// MechanismSplit shares each epoch's emission among the mechanisms,
	// as the chain's mechanism_emission_split: one proportion of 65535
	// per mechanism summing to 65535, or empty for an even split.
	MechanismSplit []uint16
}

// MaxMechanisms is the most mechanisms a scenario may have, as on chain.
const MaxMechanisms = 8

// Mechanism is one incentive mechanism after the first: its initial
// weight rows (length N, or nil for none) and the changes to its weights.
// Its changes may only set weights, copy, stop and resume: stake and
// hyperparameters are the subnet's, changed in Scenario.Changes.
type Mechanism struct {
	Weights [][]consensus.Entry
	Changes []Change
}

// Change is what happens to the subnet just before one epoch. Its parts are
// applied in this order: Params, Stake, Weights, Copy, Stop, Resume.
type Change struct {
	// Epoch is the epoch the change precedes, 0..Epochs−1.
	Epoch int
	// Params overrides some hyperparameters from this epoch on.
	Params *ParamsPatch
	// Stake sets the stake of some uids, in base units.
	Stake map[uint16]uint64
	// Weights are set_weights calls made at this epoch's block: the stored
	// (max-upscaled) row replaces the uid's row, its last update becomes
	// this block, and any copying by the uid ends.
	Weights map[uint16][]consensus.Entry
	// Copy makes a uid copy the consensus from now on (see Copy).
	Copy *Copy
	// Stop lists uids that stop re-setting their weights: their last
	// update stays where it is, so they go inactive once activity_cutoff
	// blocks pass. Stopping also ends copying.
	Stop []uint16
	// Resume lists uids that re-set their weights every epoch again.
	Resume []uint16
}

// Copy is the weight-copying attack: from the change's epoch on, at every
// epoch e, UID sets as its weights the consensus vector that epoch e−Lag
// computed, max-upscaled as set_weights stores it (largest entry 65535,
// rounded half away from zero, integer arithmetic). Only the uids with a
// non-zero upscaled value are stored. While e−Lag < 0 there is nothing to
// copy and the uid keeps its weights. Copying lasts until a later change
// sets the uid's weights or stops it.
type Copy struct {
	// UID is the copying uid.
	UID uint16 `json:"uid"`
	// From is what is copied; "consensus" is the only source.
	From string `json:"from"`
	// Lag is how many epochs old the copied vector is, at least 1
	// (the default when the file leaves it out).
	Lag int `json:"lag"`
}

// ParamsPatch is a partial consensus.Params: the non-nil fields replace
// the current values. Its JSON keys are those of consensus.Params.
type ParamsPatch struct {
	// Kappa overrides consensus.Params.Kappa when non-nil.
	Kappa *uint16 `json:"kappa,omitempty"`
	// BondsPenalty overrides consensus.Params.BondsPenalty when non-nil.
	BondsPenalty *uint16 `json:"bonds_penalty,omitempty"`
	// BondsMovingAverage overrides consensus.Params.BondsMovingAverage when non-nil.
	BondsMovingAverage *uint64 `json:"bonds_moving_average,omitempty"`
	// MaxAllowedValidators overrides consensus.Params.MaxAllowedValidators when non-nil.
	MaxAllowedValidators *uint16 `json:"max_allowed_validators,omitempty"`
	// ActivityCutoff overrides consensus.Params.ActivityCutoff when non-nil.
	ActivityCutoff *uint64 `json:"activity_cutoff,omitempty"`
	// Tempo overrides consensus.Params.Tempo when non-nil.
	Tempo *uint64 `json:"tempo,omitempty"`
	// Yuma3 overrides consensus.Params.Yuma3 when non-nil.
	Yuma3 *bool `json:"yuma3,omitempty"`
	// LiquidAlpha overrides consensus.Params.LiquidAlpha when non-nil.
	LiquidAlpha *bool `json:"liquid_alpha,omitempty"`
	// AlphaLow overrides consensus.Params.AlphaLow when non-nil.
	AlphaLow *uint16 `json:"alpha_low,omitempty"`
	// AlphaHigh overrides consensus.Params.AlphaHigh when non-nil.
	AlphaHigh *uint16 `json:"alpha_high,omitempty"`
	// AlphaSigmoidSteepness overrides consensus.Params.AlphaSigmoidSteepness when non-nil.
	AlphaSigmoidSteepness *int16 `json:"alpha_sigmoid_steepness,omitempty"`
	// StakeThreshold overrides consensus.Params.StakeThreshold when non-nil.
	StakeThreshold *uint64 `json:"stake_threshold,omitempty"`
}

// Apply returns p with the patch's non-nil fields replacing its values.
func (pp *ParamsPatch) Apply(p consensus.Params) consensus.Params {
	if pp == nil {
		return p
	}
	set(&p.Kappa, pp.Kappa)
	set(&p.BondsPenalty, pp.BondsPenalty)
	set(&p.BondsMovingAverage, pp.BondsMovingAverage)
	set(&p.MaxAllowedValidators, pp.MaxAllowedValidators)
	set(&p.ActivityCutoff, pp.ActivityCutoff)
	set(&p.Tempo, pp.Tempo)
	set(&p.Yuma3, pp.Yuma3)
	set(&p.LiquidAlpha, pp.LiquidAlpha)
	set(&p.AlphaLow, pp.AlphaLow)
	set(&p.AlphaHigh, pp.AlphaHigh)
	set(&p.AlphaSigmoidSteepness, pp.AlphaSigmoidSteepness)
	set(&p.StakeThreshold, pp.StakeThreshold)
	return p
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// scenarioJSON is the wire form of Scenario. Nested objects stay raw so that
// strict decoding can name the path of an unknown key.
type scenarioJSON struct {
	N            *int                `json:"n"`
	Params       json.RawMessage     `json:"params"`
	Emission     *uint64             `json:"emission"`
	Epochs       *int                `json:"epochs"`
	StartBlock   *uint64             `json:"start_block"`
	OwnerUID     *uint16             `json:"owner_uid"`
	Stake        []uint64            `json:"stake"`
	Weights      [][]json.RawMessage `json:"weights"`
	Registration []uint64            `json:"registration"`
	Permits      []bool              `json:"permits"`
	Names        []string            `json:"names"`
	Changes      []json.RawMessage   `json:"changes"`
	Comment      string              `json:"comment"`
	Mechanisms   []json.RawMessage   `json:"mechanisms"`
	Split        []uint16            `json:"mechanism_emission_split"`
}

// mechanismJSON is the wire form of a Mechanism.
type mechanismJSON struct {
	Weights [][]json.RawMessage `json:"weights"`
	Changes []json.RawMessage   `json:"changes"`
}

type changeJSON struct {
	Epoch   *int                         `json:"epoch"`
	Params  json.RawMessage              `json:"params"`
	Stake   map[string]json.Number       `json:"stake"`
	Weights map[string][]json.RawMessage `json:"weights"`
	Copy    json.RawMessage              `json:"copy"`
	Stop    []uint16                     `json:"stop"`
	Resume  []uint16                     `json:"resume"`
	Comment string                       `json:"comment"`
}

// ParseScenario decodes and validates a scenario file (see the package
// documentation for the format). Decoding is strict: unknown keys, trailing
// data, numbers out of range and inconsistent fields are errors that name
// the field, e.g. `changes[2].weights["7"]: uid 7 is out of range (n = 5)`.
func ParseScenario(data []byte) (*Scenario, error) {
	var raw scenarioJSON
	if err := decodeStrict("", data, &raw); err != nil {
		return nil, err
	}
	if raw.N == nil {
		return nil, errors.New("n: missing")
	}
	if raw.Epochs == nil {
		return nil, errors.New("epochs: missing")
	}
	s := &Scenario{
		N:            *raw.N,
		Params:       consensus.DefaultParams(),
		Emission:     DefaultEmission,
		Epochs:       *raw.Epochs,
		OwnerUID:     raw.OwnerUID,
		Stake:        raw.Stake,
		Registration: raw.Registration,
		Permits:      raw.Permits,
		Names:        raw.Names,
		Comment:      raw.Comment,
	}
	if s.N < 1 || s.N > consensus.MaxUIDs {
		return nil, fmt.Errorf("n: %d is out of range [1, %d]", s.N, consensus.MaxUIDs)
	}
	if raw.Params != nil {
		var pp ParamsPatch
		if err := decodeStrict("params", raw.Params, &pp); err != nil {
			return nil, err
		}
		s.Params = pp.Apply(s.Params)
	}
	if raw.Emission != nil {
		s.Emission = *raw.Emission
	}
	s.StartBlock = s.Params.Tempo
	if raw.StartBlock != nil {
		s.StartBlock = *raw.StartBlock
	}
	if s.Stake == nil {
		return nil, errors.New("stake: missing")
	}
	var err error
	if s.Weights, s.Changes, err = parseWeights("", raw.Weights, raw.Changes, s.N); err != nil {
		return nil, err
	}
	s.MechanismSplit = raw.Split
	for k, rm := range raw.Mechanisms {
		path := fmt.Sprintf("mechanisms[%d]", k)
		var mj mechanismJSON
		if err := decodeStrict(path, rm, &mj); err != nil {
			return nil, err
		}
		var m Mechanism
		if m.Weights, m.Changes, err = parseWeights(path+".", mj.Weights, mj.Changes, s.N); err != nil {
			return nil, err
		}
		if m.Weights == nil {
			m.Weights = make([][]consensus.Entry, s.N)
		}
		s.Mechanisms = append(s.Mechanisms, m)
	}
	s.fillDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseWeights decodes a mechanism's "weights" and "changes", under path.
func parseWeights(path string, weights [][]json.RawMessage, changes []json.RawMessage, n int) ([][]consensus.Entry, []Change, error) {
	var rows [][]consensus.Entry
	if weights != nil {
		if len(weights) != n {
			return nil, nil, fmt.Errorf("%sweights: has %d rows, want n = %d", path, len(weights), n)
		}
		rows = make([][]consensus.Entry, n)
		for i, r := range weights {
			row, err := parseRow(fmt.Sprintf("%sweights[%d]", path, i), r, n)
			if err != nil {
				return nil, nil, err
			}
			rows[i] = row
		}
	}
	var cs []Change
	for k, rc := range changes {
		c, err := parseChange(fmt.Sprintf("%schanges[%d]", path, k), rc, n)
		if err != nil {
			return nil, nil, err
		}
		cs = append(cs, c)
	}
	return rows, cs, nil
}

// fillDefaults sets the optional per-uid fields a file left out: no
// weights, registration at block 0, the permits a warm-up epoch would
// grant (top max_allowed_validators by stake, and the owner), names "uid i".
func (s *Scenario) fillDefaults() {
	if s.Weights == nil {
		s.Weights = make([][]consensus.Entry, s.N)
	}
	if s.Registration == nil {
		s.Registration = make([]uint64, s.N)
	}
	if s.Names == nil {
		s.Names = make([]string, s.N)
		for i := range s.Names {
			s.Names[i] = "uid " + strconv.Itoa(i)
		}
	}
	if s.Permits == nil && len(s.Stake) == s.N && s.Params.Validate() == nil {
		in := consensus.Input{
			N:                   s.N,
			OwnerUID:            s.OwnerUID,
			Stake:               s.Stake,
			Permits:             make([]bool, s.N),
			LastUpdate:          make([]uint64, s.N),
			BlockAtRegistration: make([]uint64, s.N),
			Params:              s.Params,
		}
		if out, err := consensus.Epoch(&in); err == nil {
			s.Permits = out.ValidatorPermits
		}
	}
}

// Validate reports the first thing wrong with s, naming the field.
func (s *Scenario) Validate() error {
	if s.N < 1 || s.N > consensus.MaxUIDs {
		return fmt.Errorf("n: %d is out of range [1, %d]", s.N, consensus.MaxUIDs)
	}
	if s.Epochs < 1 || s.Epochs > MaxEpochs {
		return fmt.Errorf("epochs: %d is out of range [1, %d]", s.Epochs, MaxEpochs)
	}
	if err := checkParams("params", s.Params); err != nil {
		return err
	}
	if s.OwnerUID != nil && int(*s.OwnerUID) >= s.N {
		return fmt.Errorf("owner_uid: uid %d is out of range (n = %d)", *s.OwnerUID, s.N)
	}
	for _, l := range []struct {
		name string
		got  int
	}{
		{"stake", len(s.Stake)}, {"weights", len(s.Weights)},
		{"registration", len(s.Registration)}, {"permits", len(s.Permits)},
		{"names", len(s.Names)},
	} {
		if l.got != s.N {
			return fmt.Errorf("%s: has %d entries, want n = %d", l.name, l.got, s.N)
		}
	}
	var total uint64
	for i, v := range s.Stake {
		if total+v < total || total+v > math.MaxInt64 {
			return fmt.Errorf("stake[%d]: total stake exceeds %d", i, uint64(math.MaxInt64))
		}
		total += v
	}
	for i, row := range s.Weights {
		if err := checkEntries(row, s.N); err != nil {
			return fmt.Errorf("weights[%d]%w", i, err)
		}
	}
	for i, r := range s.Registration {
		if r >= s.StartBlock {
			return fmt.Errorf("registration[%d]: block %d is not before start_block %d (weights would be masked)", i, r, s.StartBlock)
		}
	}
	for i, name := range s.Names {
		if name == "" {
			return fmt.Errorf("names[%d]: empty", i)
		}
	}
	if err := s.checkChanges("", s.Changes, true); err != nil {
		return err
	}
	if len(s.Mechanisms)+1 > MaxMechanisms {
		return fmt.Errorf("mechanisms: %d after mechanism 0, want at most %d", len(s.Mechanisms), MaxMechanisms-1)
	}
	for k, m := range s.Mechanisms {
		path := fmt.Sprintf("mechanisms[%d].", k)
		if len(m.Weights) != s.N {
			return fmt.Errorf("%sweights: has %d entries, want n = %d", path, len(m.Weights), s.N)
		}
		for i, row := range m.Weights {
			if err := checkEntries(row, s.N); err != nil {
				return fmt.Errorf("%sweights[%d]%w", path, i, err)
			}
		}
		if err := s.checkChanges(path, m.Changes, false); err != nil {
			return err
		}
	}
	if c := len(s.Mechanisms) + 1; len(s.MechanismSplit) != 0 {
		if len(s.MechanismSplit) != c {
			return fmt.Errorf("mechanism_emission_split: has %d entries, want one per mechanism (%d), or none for an even split", len(s.MechanismSplit), c)
		}
		var sum int
		for _, v := range s.MechanismSplit {
			sum += int(v)
		}
		if sum != 65535 {
			return fmt.Errorf("mechanism_emission_split: %v sums to %d, want 65535", s.MechanismSplit, sum)
		}
	}
	return nil
}

// checkChanges validates one mechanism's changes, under path; shared says
// whether they may change the subnet's stake and hyperparameters (only
// mechanism 0's, the scenario's own, may).
func (s *Scenario) checkChanges(path string, changes []Change, shared bool) error {
	prev := 0
	p := s.Params
	for k, c := range changes {
		path := fmt.Sprintf("%schanges[%d]", path, k)
		if c.Epoch < prev || c.Epoch >= s.Epochs {
			return fmt.Errorf("%s.epoch: %d is out of range [%d, %d] (epochs are non-decreasing)", path, c.Epoch, prev, s.Epochs-1)
		}
		prev = c.Epoch
		if !shared && (c.Params != nil || c.Stake != nil) {
			return fmt.Errorf("%s: a mechanism's changes may set weights, copy, stop and resume; stake and params are the subnet's, in the top-level changes", path)
		}
		p = c.Params.Apply(p)
		if err := checkParams(path+".params", p); err != nil {
			return err
		}
		for _, u := range sortedKeys(c.Stake) {
			if int(u) >= s.N {
				return fmt.Errorf("%s.stake[\"%d\"]: uid %d is out of range (n = %d)", path, u, u, s.N)
			}
		}
		for _, u := range sortedKeys(c.Weights) {
			if int(u) >= s.N {
				return fmt.Errorf("%s.weights[\"%d\"]: uid %d is out of range (n = %d)", path, u, u, s.N)
			}
			if err := checkEntries(c.Weights[u], s.N); err != nil {
				return fmt.Errorf("%s.weights[\"%d\"]%w", path, u, err)
			}
		}
		if c.Copy != nil {
			if int(c.Copy.UID) >= s.N {
				return fmt.Errorf("%s.copy.uid: uid %d is out of range (n = %d)", path, c.Copy.UID, s.N)
			}
			if c.Copy.From != "consensus" {
				return fmt.Errorf("%s.copy.from: %q is not a source (want \"consensus\")", path, c.Copy.From)
			}
			if c.Copy.Lag < 1 || c.Copy.Lag > s.Epochs {
				return fmt.Errorf("%s.copy.lag: %d is out of range [1, %d]", path, c.Copy.Lag, s.Epochs)
			}
		}
		for _, l := range []struct {
			name string
			uids []uint16
		}{{"stop", c.Stop}, {"resume", c.Resume}} {
			for i, u := range l.uids {
				if int(u) >= s.N {
					return fmt.Errorf("%s.%s[%d]: uid %d is out of range (n = %d)", path, l.name, i, u, s.N)
				}
			}
		}
	}
	return nil
}

// checkParams adds the simulator's own requirement (a positive tempo) to
// consensus.Params.Validate.
func checkParams(path string, p consensus.Params) error {
	if p.Tempo == 0 {
		return fmt.Errorf("%s.tempo: must be positive", path)
	}
	if err := p.Validate(); err != nil {
		// consensus names the field "params.x"; re-root it at path.
		return fmt.Errorf("%s.%s", path, strings.TrimPrefix(err.Error(), "params."))
	}
	return nil
}

// checkEntries reports a uid out of range or repeated in a row.
func checkEntries(row []consensus.Entry, n int) error {
	seen := make(map[uint16]bool, len(row))
	for k, e := range row {
		if int(e.UID) >= n {
			return fmt.Errorf("[%d]: uid %d is out of range (n = %d)", k, e.UID, n)
		}
		if seen[e.UID] {
			return fmt.Errorf("[%d]: uid %d appears twice", k, e.UID)
		}
		seen[e.UID] = true
	}
	return nil
}

// parseChange decodes one element of "changes".
func parseChange(path string, data []byte, n int) (Change, error) {
	var raw changeJSON
	if err := decodeStrict(path, data, &raw); err != nil {
		return Change{}, err
	}
	if raw.Epoch == nil {
		return Change{}, fmt.Errorf("%s.epoch: missing", path)
	}
	c := Change{Epoch: *raw.Epoch, Stop: raw.Stop, Resume: raw.Resume}
	if raw.Params != nil {
		c.Params = new(ParamsPatch)
		if err := decodeStrict(path+".params", raw.Params, c.Params); err != nil {
			return Change{}, err
		}
	}
	if raw.Copy != nil {
		c.Copy = &Copy{Lag: 1}
		if err := decodeStrict(path+".copy", raw.Copy, c.Copy); err != nil {
			return Change{}, err
		}
	}
	if raw.Stake != nil {
		c.Stake = make(map[uint16]uint64, len(raw.Stake))
		for _, key := range slices.Sorted(maps.Keys(raw.Stake)) {
			u, err := parseUIDKey(fmt.Sprintf("%s.stake[%q]", path, key), key, n)
			if err != nil {
				return Change{}, err
			}
			v, err := strconv.ParseUint(string(raw.Stake[key]), 10, 64)
			if err != nil {
				return Change{}, fmt.Errorf("%s.stake[%q]: %s is not an integer in [0, %d]", path, key, raw.Stake[key], uint64(math.MaxUint64))
			}
			c.Stake[u] = v
		}
	}
	if raw.Weights != nil {
		c.Weights = make(map[uint16][]consensus.Entry, len(raw.Weights))
		for _, key := range slices.Sorted(maps.Keys(raw.Weights)) {
			p := fmt.Sprintf("%s.weights[%q]", path, key)
			u, err := parseUIDKey(p, key, n)
			if err != nil {
				return Change{}, err
			}
			row, err := parseRow(p, raw.Weights[key], n)
			if err != nil {
				return Change{}, err
			}
			c.Weights[u] = row
		}
	}
	return c, nil
}

func parseUIDKey(path, key string, n int) (uint16, error) {
	u, err := strconv.ParseUint(key, 10, 16)
	if err != nil || (len(key) > 1 && key[0] == '0') {
		return 0, fmt.Errorf("%s: %q is not a uid", path, key)
	}
	if int(u) >= n {
		return 0, fmt.Errorf("%s: uid %d is out of range (n = %d)", path, u, n)
	}
	return uint16(u), nil
}

// parseRow decodes a row of [uid, value] pairs, checks it, and returns it
// max-upscaled as set_weights stores it.
func parseRow(path string, raw []json.RawMessage, n int) ([]consensus.Entry, error) {
	row := make([]consensus.Entry, len(raw))
	for k, msg := range raw {
		if err := row[k].UnmarshalJSON(msg); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", path, k, err)
		}
	}
	if err := checkEntries(row, n); err != nil {
		return nil, fmt.Errorf("%s%w", path, err)
	}
	return upscaleRow(row), nil
}

// upscaleRow is set_weights' storage step: the values max-upscaled so the
// largest is 65535 (weights.MaxUpscale), uids and order kept.
func upscaleRow(row []consensus.Entry) []consensus.Entry {
	vals := make([]uint16, len(row))
	for k, e := range row {
		vals[k] = e.Value
	}
	up := weights.MaxUpscale(vals)
	out := make([]consensus.Entry, len(row))
	for k, e := range row {
		out[k] = consensus.Entry{UID: e.UID, Value: up[k]}
	}
	return out
}

// decodeStrict decodes one JSON value into v, refusing unknown keys and
// trailing data; errors are prefixed with path.
func decodeStrict(path string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: trailing data after the JSON value", orRoot(path))
	}
	return nil
}

func orRoot(path string) string {
	if path == "" {
		return "scenario"
	}
	return path
}

func join(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// jsonError turns encoding/json's errors into messages that name the field.
func jsonError(path string, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("%s: %s is not a valid %s", orRoot(join(path, te.Field)), te.Value, te.Type)
	case errors.As(err, &se):
		return fmt.Errorf("%s: malformed JSON at byte %d: %v", orRoot(path), se.Offset, se)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%s: empty: want a JSON object", orRoot(path))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: malformed JSON: unexpected end of input", orRoot(path))
	}
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("%s: unknown key %s", orRoot(path), key)
	}
	return fmt.Errorf("%s: %w", orRoot(path), err)
}

func sortedKeys[V any](m map[uint16]V) []uint16 {
	keys := make([]uint16, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	return keys
}
