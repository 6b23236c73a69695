package chainclient

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
)

// Role says which of a uid's figures a daemon is paid by: a miner by
// incentive (and its consensus), a validator by dividends (and its
// validator trust).
type Role int

// The roles.
const (
	RoleMiner Role = iota
	RoleValidator
)

// Standing is what a subnet's last epoch made of one hotkey: the figures a
// daemon reports each epoch. Figures are proportions in [0, 1] (the chain's
// u16 over 65535).
type Standing struct {
	Netuid uint16
	// Epoch is the subnet's epoch index (chain.SubnetView.Epoch).
	Epoch uint64
	// Registered is false when the hotkey has no uid: nothing else is set
	// then, but Netuid and Epoch.
	Registered bool
	UID        uint16
	Permit     bool
	Stake      uint64
	// Figure is the role's pay: incentive for a miner, dividends for a
	// validator. Trust is consensus for a miner, validator trust for a
	// validator.
	Figure, Trust float64
	// Rank is 1 + the uids with a larger Figure (ties share a rank), of N
	// uids.
	Rank, N int
	// Mechanisms has the same per incentive mechanism, on a subnet with
	// more than one; empty otherwise.
	Mechanisms []MechanismStanding
	// MaxValidators is the subnet's max_validators; Permits the uids that
	// hold a validator permit, this one excluded.
	MaxValidators, Permits int
	// StakeNeeded is, for a validator without a permit, the least stake
	// that earns one at the next epoch: one base unit above the lowest
	// stake among the permit holders when the permits are full, else any
	// stake at all (1).
	StakeNeeded uint64
}

// MechanismStanding is a Standing's figures on one incentive mechanism.
type MechanismStanding struct {
	Mechanism     uint8
	Figure, Trust float64
	Rank          int
}

// figures returns the role's pay and trust of n, as stored (u16).
func (r Role) figures(n chain.NeuronView) (figure, trust uint16) {
	if r == RoleValidator {
		return n.Dividends, n.ValidatorTrust
	}
	return n.Incentive, n.Consensus
}

func (r Role) mechFigures(m chain.MechanismNeuronView) (figure, trust uint16) {
	if r == RoleValidator {
		return m.Dividends, m.ValidatorTrust
	}
	return m.Incentive, m.Consensus
}

func share(v uint16) float64 { return float64(v) / math.MaxUint16 }

// StandingOf reads hotkey's standing in view as role sees it.
func StandingOf(view *chain.MetagraphView, hotkey chain.AccountID, role Role) Standing {
	s := Standing{Netuid: view.Subnet.Netuid, Epoch: view.Subnet.Epoch, N: len(view.Neurons), MaxValidators: int(view.Subnet.Params.MaxValidators)}
	self := -1
	for i, n := range view.Neurons {
		if n.Hotkey == hotkey.String() {
			self = i
		}
	}
	if self < 0 {
		return s
	}
	me := view.Neurons[self]
	s.Registered, s.UID, s.Permit, s.Stake = true, me.UID, me.ValidatorPermit, me.Stake
	fig, trust := role.figures(me)
	s.Figure, s.Trust, s.Rank = share(fig), share(trust), 1
	for _, n := range view.Neurons {
		if f, _ := role.figures(n); f > fig {
			s.Rank++
		}
	}
	for k, mv := range me.Mechanisms {
		f, t := role.mechFigures(mv)
		ms := MechanismStanding{Mechanism: mv.Mechanism, Figure: share(f), Trust: share(t), Rank: 1}
		for _, n := range view.Neurons {
			if k < len(n.Mechanisms) {
				if of, _ := role.mechFigures(n.Mechanisms[k]); of > f {
					ms.Rank++
				}
			}
		}
		s.Mechanisms = append(s.Mechanisms, ms)
	}
	lowest := uint64(math.MaxUint64)
	for i, n := range view.Neurons {
		if i != self && n.ValidatorPermit && n.Stake > 0 {
			s.Permits++
			lowest = min(lowest, n.Stake)
		}
	}
	s.StakeNeeded = 1
	if s.MaxValidators > 0 && s.Permits >= s.MaxValidators && lowest < math.MaxUint64 {
		s.StakeNeeded = lowest + 1
	}
	return s
}

// StandingConfig configures ReportStanding.
type StandingConfig struct {
	Hotkey chain.AccountID
	Role   Role
	// Prefix names the gauges: "agora_miner" or "agora_validator".
	Prefix string
	// Registry receives the gauges; nil registers none.
	Registry prometheus.Registerer
	// Logger logs the line of each epoch; nil logs nothing.
	Logger *zap.Logger
	// RegisterHint is the command that registers the hotkey, which the
	// line of an unregistered hotkey shows.
	RegisterHint string
	// Poll is how often the snapshot is looked at; default 1s.
	Poll time.Duration
}

// standingMetrics are the gauges of a daemon's standing.
type standingMetrics struct {
	registered, uid, permit, stake, figure, trust, rank *prometheus.GaugeVec
	mFigure, mTrust, mRank                              *prometheus.GaugeVec
}

// standingNames are the gauges' names after the prefix, by role: the
// figure's and the trust's.
func standingNames(r Role) (figure, trust string) {
	if r == RoleValidator {
		return "dividends", "validator_trust"
	}
	return "incentive", "consensus"
}

func newStandingMetrics(reg prometheus.Registerer, prefix string, role Role) *standingMetrics {
	fig, trust := standingNames(role)
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + "_" + name, Help: help}, append([]string{"netuid"}, labels...))
	}
	m := &standingMetrics{
		registered: g("registered", "1 if the hotkey has a uid on the subnet, else 0."),
		uid:        g("uid", "The hotkey's uid on the subnet (absent while not registered)."),
		permit:     g("validator_permit", "1 if the uid holds a validator permit, else 0."),
		stake:      g("stake", "The hotkey's stake, in base units."),
		figure:     g(fig, "The uid's "+fig+" at the subnet's last epoch, in [0, 1]."),
		trust:      g(trust, "The uid's "+trust+" at the subnet's last epoch, in [0, 1]."),
		rank:       g("rank", "The uid's rank among the subnet's uids by "+fig+" (1 is the highest)."),
		mFigure:    g("mechanism_"+fig, "The uid's "+fig+" on each incentive mechanism, in [0, 1].", "mechanism"),
		mTrust:     g("mechanism_"+trust, "The uid's "+trust+" on each incentive mechanism, in [0, 1].", "mechanism"),
		mRank:      g("mechanism_rank", "The uid's rank by "+fig+" on each incentive mechanism.", "mechanism"),
	}
	reg.MustRegister(m.registered, m.uid, m.permit, m.stake, m.figure, m.trust, m.rank, m.mFigure, m.mTrust, m.mRank)
	return m
}

func (m *standingMetrics) set(s Standing) {
	nu := strconv.Itoa(int(s.Netuid))
	if !s.Registered {
		m.registered.WithLabelValues(nu).Set(0)
		for _, g := range []*prometheus.GaugeVec{m.uid, m.permit, m.stake, m.figure, m.trust, m.rank} {
			g.DeleteLabelValues(nu)
		}
		m.mFigure.Reset()
		m.mTrust.Reset()
		m.mRank.Reset()
		return
	}
	b := 0.0
	if s.Permit {
		b = 1
	}
	m.registered.WithLabelValues(nu).Set(1)
	m.uid.WithLabelValues(nu).Set(float64(s.UID))
	m.permit.WithLabelValues(nu).Set(b)
	m.stake.WithLabelValues(nu).Set(float64(s.Stake))
	m.figure.WithLabelValues(nu).Set(s.Figure)
	m.trust.WithLabelValues(nu).Set(s.Trust)
	m.rank.WithLabelValues(nu).Set(float64(s.Rank))
	for _, ms := range s.Mechanisms {
		mech := strconv.Itoa(int(ms.Mechanism))
		m.mFigure.WithLabelValues(nu, mech).Set(ms.Figure)
		m.mTrust.WithLabelValues(nu, mech).Set(ms.Trust)
		m.mRank.WithLabelValues(nu, mech).Set(float64(ms.Rank))
	}
}

// LogStanding logs s as one line: the uid's figures, or that it is not
// registered and how to register (hint); for a validator without a permit
// a warning of what it needs.
func LogStanding(log *zap.Logger, s Standing, role Role, hint string) {
	if !s.Registered {
		if hint == "" {
			hint = fmt.Sprintf("agora tx register --wallet WALLET --hotkey NAME --netuid %d", s.Netuid)
		}
		log.Warn("epoch: the hotkey is not registered on the subnet, so it earns nothing; waiting (register it with: "+hint+")", zap.Uint64("epoch", s.Epoch))
		return
	}
	fig, trust := standingNames(role)
	fields := []zap.Field{zap.Uint64("epoch", s.Epoch), zap.Uint16("uid", s.UID), zap.Bool("validator_permit", s.Permit),
		zap.Float64(fig, s.Figure), zap.Float64(trust, s.Trust), zap.String("rank", fmt.Sprintf("%d/%d", s.Rank, s.N))}
	for _, ms := range s.Mechanisms {
		p := "mechanism" + strconv.Itoa(int(ms.Mechanism)) + "_"
		fields = append(fields, zap.Float64(p+fig, ms.Figure), zap.Float64(p+trust, ms.Trust), zap.String(p+"rank", fmt.Sprintf("%d/%d", ms.Rank, s.N)))
	}
	if role == RoleValidator {
		fields = append(fields, zap.String("stake", chain.FormatAGR(s.Stake)))
	}
	log.Info("epoch", fields...)
	if role == RoleValidator && !s.Permit {
		LogNoPermit(log, s)
	}
}

// LogNoPermit warns that a validator has no validator permit: its stake,
// the stake that would earn one, and that it sets no weights meanwhile.
func LogNoPermit(log *zap.Logger, s Standing) {
	need := "the subnet's permits are not all taken: any stake earns one at the next epoch"
	if s.StakeNeeded > 1 {
		need = fmt.Sprintf("the subnet's %d permits (max_validators) are taken: it needs more stake than the lowest permit holder's, at least %s AGR", s.MaxValidators, chain.FormatAGR(s.StakeNeeded))
	}
	log.Warn("no validator permit: this validator scores miners but will not set weights until it has one (miners may also refuse it); "+need+" (agora tx stake add)",
		zap.Uint64("epoch", s.Epoch), zap.Uint16("uid", s.UID), zap.String("stake", chain.FormatAGR(s.Stake)), zap.String("stake_needed", chain.FormatAGR(s.StakeNeeded)),
		zap.Int("permits", s.Permits), zap.Int("max_validators", s.MaxValidators))
}

// Snapshotter is a source of metagraph snapshots: *MetagraphCache is one.
type Snapshotter interface {
	Snapshot() (view *chain.MetagraphView, height int64, ok bool)
}

// ReportStanding, until ctx is done, looks at src every Poll and, on the
// first snapshot and whenever the subnet's epoch changes, logs the
// hotkey's standing (LogStanding) and sets its gauges. The gauges also
// follow a registration or a permit that changes between epochs.
func ReportStanding(ctx context.Context, src Snapshotter, cfg StandingConfig) {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	var m *standingMetrics
	if cfg.Registry != nil {
		m = newStandingMetrics(cfg.Registry, cfg.Prefix, cfg.Role)
	}
	t := time.NewTicker(cfg.Poll)
	defer t.Stop()
	logged := false
	var epoch uint64
	for {
		if view, _, ok := src.Snapshot(); ok {
			s := StandingOf(view, cfg.Hotkey, cfg.Role)
			if m != nil {
				m.set(s)
			}
			if !logged || s.Epoch != epoch {
				LogStanding(log, s, cfg.Role, cfg.RegisterHint)
				logged, epoch = true, s.Epoch
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
