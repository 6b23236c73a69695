package chain

import (
	"errors"
	"fmt"

	"github.com/seed0ffb8d46/agora/consensus"
)

// Hyperparams are a subnet's settings, chosen by its owner. The JSON names
// are what `agora tx subnet create` and genesis files use.
type Hyperparams struct {
	// Yuma consensus, passed to consensus.Params.
	Tempo                 uint64 `json:"tempo"`
	Kappa                 uint16 `json:"kappa"`
	BondsPenalty          uint16 `json:"bonds_penalty"`
	BondsMovingAverage    uint64 `json:"bonds_moving_average"`
	Yuma3                 bool   `json:"yuma3"`
	LiquidAlpha           bool   `json:"liquid_alpha"`
	AlphaLow              uint16 `json:"alpha_low"`
	AlphaHigh             uint16 `json:"alpha_high"`
	AlphaSigmoidSteepness int16  `json:"alpha_sigmoid_steepness"`
	ActivityCutoff        uint64 `json:"activity_cutoff"`
	StakeThreshold        uint64 `json:"stake_threshold"`

	// Neurons.
	MaxUIDs        uint16 `json:"max_uids"`
	MaxValidators  uint16 `json:"max_validators"`
	ImmunityPeriod uint64 `json:"immunity_period"` // blocks after registration
	// ServingRateLimit is the least number of blocks between a neuron's
	// serve_axon transactions (subtensor's serving_rate_limit); the first
	// after registration is never limited.
	ServingRateLimit uint64 `json:"serving_rate_limit"`

	// Weights.
	WeightsRateLimit   uint64 `json:"weights_rate_limit"` // blocks between set_weights
	MinAllowedWeights  uint16 `json:"min_allowed_weights"`
	MaxWeightLimit     uint16 `json:"max_weight_limit"` // proportion of 65535
	CommitReveal       bool   `json:"commit_reveal"`
	RevealPeriodEpochs uint64 `json:"reveal_period_epochs"`
	// WeightsVersion is the least version key set_weights and
	// reveal_weights accept (subtensor's weights_version_key).
	WeightsVersion uint64 `json:"weights_version"`

	// Registration burn: the cost moves toward TargetRegistrations per
	// AdjustmentInterval blocks, within [MinBurn, MaxBurn].
	MinBurn             uint64 `json:"min_burn"`
	MaxBurn             uint64 `json:"max_burn"`
	TargetRegistrations uint16 `json:"target_registrations"`
	AdjustmentInterval  uint64 `json:"adjustment_interval"`

	// Mechanisms (subtensor's sub-subnets): MechanismCount incentive
	// mechanisms, 1 to MaxMechanisms, share the subnet's uids, each with
	// its own weights, bonds and epoch. MechanismSplit, when set, has one
	// proportion of 65535 per mechanism, summing to 65535: mechanism m
	// gets emission·split[m]/65535 of each epoch's emission, the rounding
	// remainder going to mechanism 0. Empty means an even split.
	MechanismCount uint8    `json:"mechanism_count"`
	MechanismSplit []uint16 `json:"mechanism_emission_split"`
}

// DefaultHyperparams returns subtensor's defaults where it has them, sized
// for a chain with ~1 s blocks.
func DefaultHyperparams() Hyperparams {
	c := consensus.DefaultParams()
	return Hyperparams{
		Tempo:                 c.Tempo,
		Kappa:                 c.Kappa,
		BondsPenalty:          c.BondsPenalty,
		BondsMovingAverage:    c.BondsMovingAverage,
		AlphaLow:              c.AlphaLow,
		AlphaHigh:             c.AlphaHigh,
		AlphaSigmoidSteepness: c.AlphaSigmoidSteepness,
		ActivityCutoff:        c.ActivityCutoff,
		MaxUIDs:               256,
		MaxValidators:         64,
		ImmunityPeriod:        4096,
		ServingRateLimit:      50,
		WeightsRateLimit:      100,
		MinAllowedWeights:     1,
		MaxWeightLimit:        65535,
		RevealPeriodEpochs:    1,
		MinBurn:               1_000_000_000 / 2, // 0.5 AGR
		MaxBurn:               100 * 1_000_000_000,
		TargetRegistrations:   2,
		AdjustmentInterval:    360,
		MechanismCount:        1,
	}
}

// MaxMechanisms is the most incentive mechanisms a subnet may have.
const MaxMechanisms = 8

// Consensus returns the epoch's view of the hyperparameters.
func (h Hyperparams) Consensus() consensus.Params {
	return consensus.Params{
		Kappa:                 h.Kappa,
		BondsPenalty:          h.BondsPenalty,
		BondsMovingAverage:    h.BondsMovingAverage,
		MaxAllowedValidators:  h.MaxValidators,
		ActivityCutoff:        h.ActivityCutoff,
		Tempo:                 h.Tempo,
		Yuma3:                 h.Yuma3,
		LiquidAlpha:           h.LiquidAlpha,
		AlphaLow:              h.AlphaLow,
		AlphaHigh:             h.AlphaHigh,
		AlphaSigmoidSteepness: h.AlphaSigmoidSteepness,
		StakeThreshold:        h.StakeThreshold,
	}
}

// Validate reports the first hyperparameter out of range, by its JSON name.
func (h Hyperparams) Validate() error {
	switch {
	case h.Tempo == 0 || h.Tempo > MaxTempo:
		return fmt.Errorf("tempo %d: want 1 to %d blocks", h.Tempo, MaxTempo)
	case h.MaxUIDs == 0 || int(h.MaxUIDs) > consensus.MaxUIDs:
		return fmt.Errorf("max_uids %d: want 1 to %d", h.MaxUIDs, consensus.MaxUIDs)
	case h.MaxValidators == 0 || h.MaxValidators > h.MaxUIDs:
		return fmt.Errorf("max_validators %d: want 1 to max_uids (%d)", h.MaxValidators, h.MaxUIDs)
	case h.ServingRateLimit == 0:
		return fmt.Errorf("serving_rate_limit must be at least 1 block")
	case h.WeightsRateLimit == 0:
		return fmt.Errorf("weights_rate_limit must be at least 1 block")
	case h.MinAllowedWeights > h.MaxUIDs:
		return fmt.Errorf("min_allowed_weights %d exceeds max_uids %d", h.MinAllowedWeights, h.MaxUIDs)
	case h.MaxWeightLimit == 0:
		return fmt.Errorf("max_weight_limit 0 would forbid every weight")
	case h.RevealPeriodEpochs == 0 || h.RevealPeriodEpochs > 100:
		return fmt.Errorf("reveal_period_epochs %d: want 1 to 100", h.RevealPeriodEpochs)
	case h.MinBurn > h.MaxBurn:
		return fmt.Errorf("min_burn %d exceeds max_burn %d", h.MinBurn, h.MaxBurn)
	case h.TargetRegistrations == 0:
		return fmt.Errorf("target_registrations must be at least 1")
	case h.AdjustmentInterval == 0:
		return fmt.Errorf("adjustment_interval must be at least 1 block")
	case h.MechanismCount == 0 || h.MechanismCount > MaxMechanisms:
		return fmt.Errorf("mechanism_count %d: want 1 to %d", h.MechanismCount, MaxMechanisms)
	case len(h.MechanismSplit) != 0 && len(h.MechanismSplit) != int(h.MechanismCount):
		return fmt.Errorf("mechanism_emission_split has %d entries, want one per mechanism (mechanism_count %d), or none for an even split",
			len(h.MechanismSplit), h.MechanismCount)
	}
	if len(h.MechanismSplit) != 0 {
		var sum uint64
		for _, v := range h.MechanismSplit {
			sum += uint64(v)
		}
		if sum != 65535 {
			return fmt.Errorf("mechanism_emission_split %v sums to %d, want 65535", h.MechanismSplit, sum)
		}
	}
	if err := h.Consensus().Validate(); err != nil {
		return err
	}
	return nil
}

func (h *Hyperparams) encode(e *enc) {
	e.u64(h.Tempo)
	e.u16(h.Kappa)
	e.u16(h.BondsPenalty)
	e.u64(h.BondsMovingAverage)
	e.bool(h.Yuma3)
	e.bool(h.LiquidAlpha)
	e.u16(h.AlphaLow)
	e.u16(h.AlphaHigh)
	e.i16(h.AlphaSigmoidSteepness)
	e.u64(h.ActivityCutoff)
	e.u64(h.StakeThreshold)
	e.u16(h.MaxUIDs)
	e.u16(h.MaxValidators)
	e.u64(h.ImmunityPeriod)
	e.u64(h.WeightsRateLimit)
	e.u16(h.MinAllowedWeights)
	e.u16(h.MaxWeightLimit)
	e.bool(h.CommitReveal)
	e.u64(h.RevealPeriodEpochs)
	e.u64(h.MinBurn)
	e.u64(h.MaxBurn)
	e.u16(h.TargetRegistrations)
	e.u64(h.AdjustmentInterval)
	e.u64(h.WeightsVersion)
	e.u64(h.ServingRateLimit)
}

func (h *Hyperparams) decode(d *dec) {
	h.Tempo = d.u64()
	h.Kappa = d.u16()
	h.BondsPenalty = d.u16()
	h.BondsMovingAverage = d.u64()
	h.Yuma3 = d.bool()
	h.LiquidAlpha = d.bool()
	h.AlphaLow = d.u16()
	h.AlphaHigh = d.u16()
	h.AlphaSigmoidSteepness = d.i16()
	h.ActivityCutoff = d.u64()
	h.StakeThreshold = d.u64()
	h.MaxUIDs = d.u16()
	h.MaxValidators = d.u16()
	h.ImmunityPeriod = d.u64()
	h.WeightsRateLimit = d.u64()
	h.MinAllowedWeights = d.u16()
	h.MaxWeightLimit = d.u16()
	h.CommitReveal = d.bool()
	h.RevealPeriodEpochs = d.u64()
	h.MinBurn = d.u64()
	h.MaxBurn = d.u64()
	h.TargetRegistrations = d.u16()
	h.AdjustmentInterval = d.u64()
	h.WeightsVersion = d.u64()
	h.ServingRateLimit = d.u64()
}

// mechanismsSet says whether h's mechanisms differ from one mechanism
// with no split: only then do records and transaction bodies carry them
// (encodeMechanisms), so a subnet with one mechanism encodes as before
// mechanisms existed.
func (h *Hyperparams) mechanismsSet() bool {
	return h.MechanismCount != 1 || len(h.MechanismSplit) != 0
}

// encodeMechanisms appends the mechanism count and split when they are
// set: the optional trailing section of the subnet record and of the
// create_subnet and set_hyperparams bodies.
func (h *Hyperparams) encodeMechanisms(e *enc) {
	if h.mechanismsSet() {
		e.u8(h.MechanismCount)
		e.u16s(h.MechanismSplit)
	}
}

// decodeMechanisms reads what encodeMechanisms wrote, as the last thing
// in d: no bytes left means one mechanism and no split. A section that
// says so explicitly is refused, so that every value has one encoding.
func (h *Hyperparams) decodeMechanisms(d *dec) {
	h.MechanismCount, h.MechanismSplit = 1, nil
	if d.err != nil || len(d.b) == 0 {
		return
	}
	h.MechanismCount, h.MechanismSplit = d.u8(), d.u16s()
	if d.err == nil && !h.mechanismsSet() {
		d.err = errors.New("a mechanisms section for one mechanism with no split, which is written as nothing")
	}
}

// mechanismShares splits an epoch's emission r among the mechanisms:
// r·split[m]/65535 in 128-bit arithmetic, or r/count each when no split is
// set, the remainder to mechanism 0. The shares sum to r.
func (h *Hyperparams) mechanismShares(r uint64) []uint64 {
	c := max(int(h.MechanismCount), 1)
	out := make([]uint64, c)
	var sum uint64
	for m := range out {
		if len(h.MechanismSplit) == c {
			out[m] = mulDiv(r, uint64(h.MechanismSplit[m]), 65535)
		} else {
			out[m] = r / uint64(c)
		}
		sum += out[m]
	}
	out[0] += r - sum
	return out
}

// effectiveSplit is the split in force: MechanismSplit, or when empty
// 65535/count each with the remainder to mechanism 0. It weighs each
// mechanism's u16 outputs in a neuron's aggregate.
func (h *Hyperparams) effectiveSplit() []uint16 {
	c := max(int(h.MechanismCount), 1)
	if len(h.MechanismSplit) == c {
		return h.MechanismSplit
	}
	out := make([]uint16, c)
	for m := range out {
		out[m] = uint16(65535 / c)
	}
	out[0] += uint16(65535 % c)
	return out
}

// EffectiveSplit is the emission split in force, for readers of a
// SubnetView: one u16 proportion of 65535 per mechanism, summing to
// 65535 (MechanismSplit, or the even split when it is empty, remainder to
// mechanism 0). The slice is the caller's.
func (h *Hyperparams) EffectiveSplit() []uint16 {
	return append([]uint16(nil), h.effectiveSplit()...)
}

// Fees are the fixed fee of each transaction kind, in base units. Fees are
// burned.
type Fees struct {
	Transfer       uint64 `json:"transfer"`
	CreateSubnet   uint64 `json:"create_subnet"`
	SetHyperparams uint64 `json:"set_hyperparams"`
	Register       uint64 `json:"register"`
	ServeAxon      uint64 `json:"serve_axon"`
	AddStake       uint64 `json:"add_stake"`
	RemoveStake    uint64 `json:"remove_stake"`
	SetWeights     uint64 `json:"set_weights"`
	CommitWeights  uint64 `json:"commit_weights"`
	RevealWeights  uint64 `json:"reveal_weights"`
	SetEmission    uint64 `json:"set_emission"`
	// CommitDatasetRoot came after the first release: the global record
	// stores it only when it is not zero (see encodeRecord), so a chain
	// that leaves it free hashes exactly as before it existed.
	CommitDatasetRoot uint64 `json:"commit_dataset_root"`
}

// Of returns the fee of kind k.
func (f Fees) Of(k Kind) uint64 {
	switch k {
	case KindTransfer:
		return f.Transfer
	case KindCreateSubnet:
		return f.CreateSubnet
	case KindSetHyperparams:
		return f.SetHyperparams
	case KindRegister:
		return f.Register
	case KindServeAxon:
		return f.ServeAxon
	case KindAddStake:
		return f.AddStake
	case KindRemoveStake:
		return f.RemoveStake
	case KindSetWeights:
		return f.SetWeights
	case KindCommitWeights:
		return f.CommitWeights
	case KindRevealWeights:
		return f.RevealWeights
	case KindSetEmission:
		return f.SetEmission
	case KindCommitDatasetRoot:
		return f.CommitDatasetRoot
	}
	return 0
}

// feesV1End is one past the last kind whose fee Fees.encode writes: the
// kinds of the first release. Later kinds' fees are written at the end of
// the global record, and only when not zero (see encodeRecord).
const feesV1End = KindSetEmission + 1

func (f *Fees) encode(e *enc) {
	for k := KindTransfer; k < feesV1End; k++ {
		e.u64(f.Of(k))
	}
}

// decode reads what encode wrote; the fees of later kinds are the global
// record's to read.
func (f *Fees) decode(d *dec) {
	*f = Fees{d.u64(), d.u64(), d.u64(), d.u64(), d.u64(), d.u64(), d.u64(),
		d.u64(), d.u64(), d.u64(), d.u64(), 0}
}

// Unit is one AGR in base units.
const Unit = 1_000_000_000

// DefaultFees are small next to the amounts they move, and make creating a
// subnet costly enough not to be spam.
func DefaultFees() Fees {
	return Fees{
		Transfer:       Unit / 10_000,
		CreateSubnet:   100 * Unit,
		SetHyperparams: Unit / 1_000,
		Register:       Unit / 10_000,
		ServeAxon:      0, // free, as in subtensor: a new hotkey has no balance
		AddStake:       Unit / 10_000,
		RemoveStake:    Unit / 10_000,
		// Weights are free, as in subtensor: a hotkey signs them and
		// usually holds no balance. The rate limit and the cap on pending
		// commits bound them instead.
		SetWeights:    0,
		CommitWeights: 0,
		RevealWeights: 0,
		SetEmission:   Unit / 1_000,
		// Dataset roots are free for the same reason as weights: a
		// validator's hotkey signs them and usually holds no balance. Only
		// hotkeys with a validator permit may commit, at most once per
		// weights_rate_limit blocks each, and a subnet keeps only the last
		// MaxDatasetRoots.
		CommitDatasetRoot: 0,
	}
}

// DefaultTake is a new hotkey's take of its nominators' dividends, as a
// proportion of 65535 (subtensor's 11796, 18%).
const DefaultTake = 11796

// OwnerCut is the subnet owner's share of each epoch's emission, as a
// proportion of 65535 (subtensor's SubnetOwnerCut, 18%).
const OwnerCut = 11796

// MaxPendingCommits is how many unrevealed, unexpired weight commits a
// hotkey may have on a subnet (subtensor's limit).
const MaxPendingCommits = 10

// DefaultEmissionPerBlock is the chain's emission per block when genesis
// does not set one: 1 AGR, as subtensor's 1 TAO.
const DefaultEmissionPerBlock = Unit

// MaxSubnets bounds the number of subnets.
const MaxSubnets = 1024

// MaxTempo is the longest tempo a subnet may have, in blocks: a week of
// 12-second blocks. Every epoch therefore starts within MaxTempo blocks of
// the previous one, which bounds how long a stake addition matters to
// dividends (stakeRec).
const MaxTempo = 50_400

// MaxRegistrationsPerTarget bounds a subnet's registrations in one
// adjustment interval to this many times its target_registrations, as
// subtensor does. The burn moves only once per interval, so without a
// bound one coldkey could replace every neuron past its immunity in one
// block at the current price.
const MaxRegistrationsPerTarget = 3
