package chain

import (
	"bytes"
	"crypto/ed25519"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// fixture is a chain with two subnets and a few accounts, the starting
// point of every transaction table test:
//
//	subnet 1 (owner alice): max_uids 4, burn 1 AGR; hka and hke registered
//	                        at uids 0 and 1 by alice; bob stakes 5 AGR on hka
//	subnet 2 (owner alice): max_uids 1, full with hkc, immune
//
// poor cannot pay a fee, scant cannot pay a burn; hkb is an unregistered hotkey with a balance; hkd
// has nothing.
type fixture struct {
	*testChain
	priv map[string]ed25519.PrivateKey
	id   map[string]AccountID
	// signed counts the transactions signed at height signedAt, per
	// signer, so that several from one signer can go in one block.
	signedAt int64
	signed   map[AccountID]uint64
}

var fixtureAccounts = []struct {
	name    string
	key     int
	balance uint64
}{
	{"alice", 1, 1000 * Unit},
	{"bob", 2, 1000 * Unit},
	{"poor", 3, 50_000},
	{"carol", 4, 1000 * Unit},
	{"hka", 11, 10 * Unit},
	{"hkb", 12, 10 * Unit},
	{"hkc", 13, 10 * Unit},
	{"hkd", 14, 0},
	{"hke", 15, 0},
	{"scant", 5, Unit / 2},
}

// subnet1Params and subnet2Params are the fixture's subnets' settings.
func subnet1Params() Hyperparams {
	p := DefaultHyperparams()
	p.MaxUIDs, p.MaxValidators = 4, 4
	p.ImmunityPeriod = 1000
	p.MinBurn, p.MaxBurn = 1*Unit, 10*Unit
	p.TargetRegistrations, p.AdjustmentInterval = 2, 1000
	return p
}

func subnet2Params() Hyperparams {
	p := subnet1Params()
	p.MaxUIDs, p.MaxValidators = 1, 1
	return p
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{priv: map[string]ed25519.PrivateKey{}, id: map[string]AccountID{}}
	balances := map[AccountID]uint64{}
	for _, a := range fixtureAccounts {
		priv, id := testKey(a.key)
		f.priv[a.name], f.id[a.name] = priv, id
		if a.balance > 0 {
			balances[id] = a.balance
		}
	}
	f.testChain = newTestChain(t, balances)
	f.mustBlock(
		f.tx("alice", &CreateSubnet{Params: subnet1Params()}),
		f.tx("alice", &CreateSubnet{Params: subnet2Params()}),
	)
	// A new subnet earns nothing until governance gives it a share; these
	// two have one each, as a set_emission would give them.
	f.mutateStaged(func(s *State) {
		for _, netuid := range []uint16{1, 2} {
			sn := s.subnets[netuid]
			sn.Share = 1
			s.setSubnet(netuid, sn)
		}
	})
	f.mustBlock(
		f.tx("alice", &Register{Netuid: 1, Hotkey: f.id["hka"], MaxBurn: 10 * Unit}),
		f.tx("alice", &Register{Netuid: 2, Hotkey: f.id["hkc"], MaxBurn: 10 * Unit}),
		f.tx("alice", &Register{Netuid: 1, Hotkey: f.id["hke"], MaxBurn: 10 * Unit}),
		f.tx("bob", &AddStake{Hotkey: f.id["hka"], Amount: 5 * Unit}),
	)
	return f
}

// tx signs body by name at its next nonce, counting the transactions
// already signed for the same block.
func (f *fixture) tx(name string, body Body) []byte {
	return f.txAt(name, f.nextNonce(name), body)
}

func (f *fixture) txAt(name string, nonce uint64, body Body) []byte {
	return sign(f.t, f.priv[name], nonce, body)
}

// nextNonce is the signer's committed nonce plus the transactions signed
// for the current block; a block resets it.
func (f *fixture) nextNonce(name string) uint64 {
	id := f.id[name]
	if f.signed == nil || f.signedAt != f.height {
		f.signedAt, f.signed = f.height, map[AccountID]uint64{}
	}
	n := f.nonce(id) + f.signed[id]
	f.signed[id]++
	return n
}

func ipv4(a, b, c, d byte) [16]byte { return netip.AddrFrom4([4]byte{a, b, c, d}).As16() }

// unsigned returns the signed part of a transaction.
func unsigned(raw []byte) []byte { return bytes.Clone(raw[:len(raw)-sigSize]) }

// txCase is one rejected transaction: built against a fresh fixture, it
// must fail with code and a log containing each of logs, and change nothing.
type txCase struct {
	name string
	tx   func(f *fixture) []byte
	code Code
	logs []string
}

func badParams(mut func(*Hyperparams)) Hyperparams {
	p := subnet1Params()
	mut(&p)
	return p
}

func rejectCases() []txCase {
	_, bobID := testKey(2)
	transfer := func(f *fixture) Body { return &Transfer{To: f.id["bob"], Amount: Unit} }
	cases := []txCase{
		// Envelope: chain id, nonce, fee, signature, bytes.
		{"wrong chain id", func(f *fixture) []byte {
			raw, _ := SignTx(f.priv["alice"], "other-chain", f.nonce(f.id["alice"]), transfer(f))
			return raw
		}, CodeWrongChain, []string{`chain "other-chain"`, `"agora-test"`}},
		{"nonce too low", func(f *fixture) []byte { return f.txAt("alice", 1, transfer(f)) },
			CodeBadNonce, []string{"nonce 1, want 5"}},
		{"nonce too high", func(f *fixture) []byte { return f.txAt("alice", 6, transfer(f)) },
			CodeBadNonce, []string{"nonce 6, want 5"}},
		{"nonce far too high", func(f *fixture) []byte { return f.txAt("bob", 1<<63, transfer(f)) },
			CodeBadNonce, []string{"nonce 9223372036854775808, want 1"}},
		{"nonce of an account that never sent", func(f *fixture) []byte { return f.txAt("carol", 1, transfer(f)) },
			CodeBadNonce, []string{"nonce 1, want 0"}},
		{"balance below the fee", func(f *fixture) []byte { return f.tx("poor", &Transfer{To: f.id["bob"], Amount: 1}) },
			CodeInsufficientBalance, []string{"balance 0.000050000 AGR (50000 base units) cannot pay the transfer fee of 0.000100000 AGR (100000 base units)"}},
		{"no account pays a fee", func(f *fixture) []byte { return f.tx("hkd", &Transfer{To: f.id["bob"], Amount: 1}) },
			CodeInsufficientBalance, []string{"balance 0.000000000 AGR (0 base units) cannot pay the transfer fee"}},
		{"balance below fee+amount", func(f *fixture) []byte {
			return f.tx("hkb", &Transfer{To: f.id["bob"], Amount: 10 * Unit})
		}, CodeInsufficientBalance, []string{"balance 9.999900000 AGR (9999900000 base units) is less than the 10.000000000 AGR (10000000000 base units) needed to transfer"}},
		{"signature of another key", func(f *fixture) []byte {
			raw := f.tx("alice", transfer(f))
			u := unsigned(raw)
			return append(u, ed25519.Sign(f.priv["bob"], signedMessage(u))...)
		}, CodeBadSignature, []string{"signature does not match signer"}},
		{"signer replaced", func(f *fixture) []byte {
			raw := f.tx("alice", transfer(f))
			bob := f.id["bob"]
			copy(raw[3+len(testChainID):], bob[:])
			return raw
		}, CodeBadSignature, []string{"signature does not match signer " + bobID.String()}},
		{"signature over another domain", func(f *fixture) []byte {
			raw := f.tx("alice", transfer(f))
			u := unsigned(raw)
			return append(u, ed25519.Sign(f.priv["alice"], u)...)
		}, CodeBadSignature, []string{"signature does not match"}},
		{"zero signature", func(f *fixture) []byte {
			raw := f.tx("alice", transfer(f))
			clear(raw[len(raw)-sigSize:])
			return raw
		}, CodeBadSignature, []string{"signature does not match"}},
		{"empty", func(f *fixture) []byte { return nil }, CodeMalformed, []string{"transaction has 0 bytes, want 115 to 65536"}},
		{"truncated", func(f *fixture) []byte { return f.tx("alice", transfer(f))[:100] }, CodeMalformed, []string{"transaction has 100 bytes"}},
		{"truncated body, signed", func(f *fixture) []byte {
			u := unsigned(f.tx("alice", transfer(f)))
			return signRaw(f.priv["alice"], u[:len(u)-1])
		}, CodeMalformed, []string{"transfer body: input ends early"}},
		{"trailing byte, signed", func(f *fixture) []byte {
			u := unsigned(f.tx("alice", transfer(f)))
			return signRaw(f.priv["alice"], append(u, 0))
		}, CodeMalformed, []string{"transfer body: 1 trailing bytes"}},
		{"trailing byte after the signature", func(f *fixture) []byte {
			return append(f.tx("alice", transfer(f)), 0)
		}, CodeMalformed, []string{"trailing bytes"}},
		{"too long", func(f *fixture) []byte { return make([]byte, maxTxSize+1) }, CodeMalformed, []string{"transaction has 65537 bytes"}},
		{"bad version", func(f *fixture) []byte {
			u := unsigned(f.tx("alice", transfer(f)))
			u[0] = 2
			return signRaw(f.priv["alice"], u)
		}, CodeMalformed, []string{"transaction version 2, want 1"}},
		{"unknown kind 0", func(f *fixture) []byte {
			u := unsigned(f.tx("alice", transfer(f)))
			u[1] = 0
			return signRaw(f.priv["alice"], u)
		}, CodeUnknownKind, []string{"unknown transaction kind 0"}},
		{"unknown kind 200", func(f *fixture) []byte {
			u := unsigned(f.tx("alice", transfer(f)))
			u[1] = 200
			return signRaw(f.priv["alice"], u)
		}, CodeUnknownKind, []string{"unknown transaction kind 200"}},
		{"chain id longer than the tx", func(f *fixture) []byte {
			u := unsigned(f.tx("alice", transfer(f)))
			u[2] = 255
			return signRaw(f.priv["alice"], u)
		}, CodeMalformed, []string{"transaction header: input ends early"}},
		{"bad bool byte", func(f *fixture) []byte {
			u := unsigned(f.tx("alice", &CreateSubnet{Params: subnet1Params()}))
			// Yuma3 follows the header and tempo, kappa, bonds penalty and
			// bonds moving average.
			off := 3 + len(testChainID) + 32 + 8 + 8 + 8 + 2 + 2 + 8
			if u[off] != 0 {
				panic("layout changed")
			}
			u[off] = 2
			return signRaw(f.priv["alice"], u)
		}, CodeMalformed, []string{"create_subnet body: boolean byte 2 is neither 0 nor 1"}},

		// any kind
		{"expired", func(f *fixture) []byte {
			// The block it is checked for is f.height+1.
			raw, _ := SignTxUntil(f.priv["alice"], testChainID, f.nextNonce("alice"), uint64(f.height), &Transfer{To: f.id["bob"], Amount: 1})
			return raw
		}, CodeExpired, []string{"transaction was valid until block ", "; this is block "}},

		// transfer
		{"transfer of zero", func(f *fixture) []byte { return f.tx("alice", &Transfer{To: f.id["bob"]}) },
			CodeBadAmount, []string{"transfer of 0"}},

		// create_subnet
		{"create subnet without the fee", func(f *fixture) []byte {
			return f.tx("hkb", &CreateSubnet{Params: subnet1Params()})
		}, CodeInsufficientBalance, []string{"cannot pay the create_subnet fee of 100.000000000 AGR (100000000000 base units)"}},

		// set_hyperparams
		{"set hyperparams of an unknown subnet", func(f *fixture) []byte {
			return f.tx("alice", &SetHyperparams{Netuid: 9, Params: subnet1Params()})
		}, CodeUnknownSubnet, []string{"no subnet 9"}},
		{"set hyperparams of subnet 0", func(f *fixture) []byte {
			return f.tx("alice", &SetHyperparams{Netuid: 0, Params: subnet1Params()})
		}, CodeUnknownSubnet, []string{"no subnet 0"}},
		{"set hyperparams by a non-owner", func(f *fixture) []byte {
			return f.tx("bob", &SetHyperparams{Netuid: 1, Params: subnet1Params()})
		}, CodeNotOwner, []string{"subnet 1 is owned by", "not "}},
		{"set max_uids below the uids in use", func(f *fixture) []byte {
			return f.tx("alice", &SetHyperparams{Netuid: 1, Params: badParams(func(p *Hyperparams) { p.MaxUIDs = 1; p.MaxValidators = 1 })})
		}, CodeBadParams, []string{"max_uids 1 is below the 2 uids in use"}},
		{"set hyperparams without the fee", func(f *fixture) []byte {
			return f.tx("poor", &SetHyperparams{Netuid: 1, Params: subnet1Params()})
		}, CodeInsufficientBalance, []string{"balance 0.000050000 AGR (50000 base units) cannot pay the set_hyperparams fee of 0.001000000 AGR (1000000 base units)"}},

		// register
		{"register on an unknown subnet", func(f *fixture) []byte {
			return f.tx("alice", &Register{Netuid: 7, Hotkey: f.id["hkb"], MaxBurn: 10 * Unit})
		}, CodeUnknownSubnet, []string{"no subnet 7"}},
		{"register an already registered hotkey", func(f *fixture) []byte {
			return f.tx("alice", &Register{Netuid: 1, Hotkey: f.id["hka"], MaxBurn: 10 * Unit})
		}, CodeAlreadyRegistered, []string{"is already registered on subnet 1"}},
		{"register a hotkey owned by another coldkey", func(f *fixture) []byte {
			return f.tx("carol", &Register{Netuid: 2, Hotkey: f.id["hka"], MaxBurn: 10 * Unit})
		}, CodeHotkeyOwnedElsewhere, []string{"belongs to coldkey"}},
		{"register with the burn above max_burn", func(f *fixture) []byte {
			return f.tx("carol", &Register{Netuid: 1, Hotkey: f.id["hkb"], MaxBurn: Unit - 1})
		}, CodeBurnTooHigh, []string{"registration costs 1.000000000 AGR (1000000000 base units), above the 0.999999999 AGR (999999999 base units) you allowed"}},
		{"register on a full subnet with every neuron immune", func(f *fixture) []byte {
			return f.tx("carol", &Register{Netuid: 2, Hotkey: f.id["hkb"], MaxBurn: 10 * Unit})
		}, CodeSubnetFull, []string{"subnet 2 has all 1 uids taken and every neuron is immune"}},
		{"register without the burn", func(f *fixture) []byte {
			return f.tx("scant", &Register{Netuid: 1, Hotkey: f.id["hkd"], MaxBurn: 10 * Unit})
		}, CodeInsufficientBalance, []string{"balance 0.499900000 AGR (499900000 base units) is less than the 1.000000000 AGR (1000000000 base units) needed to register"}},
		{"register without the fee", func(f *fixture) []byte {
			return f.tx("poor", &Register{Netuid: 1, Hotkey: f.id["hkd"], MaxBurn: 10 * Unit})
		}, CodeInsufficientBalance, []string{"cannot pay the register fee"}},
		{"register another coldkey's registration (front-running)", func(f *fixture) []byte {
			// Carol copies the body of alice's registration of hkb, the
			// proof included, and signs it herself.
			proof, _ := ProveHotkey(f.priv["hkb"], testChainID, f.id["alice"])
			return f.tx("carol", &Register{Netuid: 1, Hotkey: f.id["hkb"], MaxBurn: 10 * Unit, Proof: proof})
		}, CodeBadHotkeyProof, []string{"is not hotkey", "letting coldkey", `on chain "agora-test"`}},
		{"register with a hotkey proof for another chain", func(f *fixture) []byte {
			proof, _ := ProveHotkey(f.priv["hkb"], "other-chain", f.id["carol"])
			return f.tx("carol", &Register{Netuid: 1, Hotkey: f.id["hkb"], MaxBurn: 10 * Unit, Proof: proof})
		}, CodeBadHotkeyProof, []string{"the hotkey proof is not hotkey"}},
		{"register with a hotkey proof by another key", func(f *fixture) []byte {
			proof, _ := ProveHotkey(f.priv["carol"], testChainID, f.id["carol"])
			return f.tx("carol", &Register{Netuid: 1, Hotkey: f.id["hkb"], MaxBurn: 10 * Unit, Proof: proof})
		}, CodeBadHotkeyProof, []string{"the hotkey proof is not hotkey"}},
		{"register a small-order hotkey", func(f *fixture) []byte {
			var proof [sigSize]byte
			proof[0] = 1 // R = the identity, S = 0: "verifies" for a small-order key
			return f.tx("carol", &Register{Netuid: 1, Hotkey: AccountID{}, MaxBurn: 10 * Unit, Proof: proof})
		}, CodeBadHotkeyProof, []string{"the hotkey proof is not hotkey 0000"}},

		// serve_axon
		{"serve axon from an unregistered hotkey", func(f *fixture) []byte {
			return f.tx("hkb", &ServeAxon{Netuid: 1, IP: ipv4(10, 0, 0, 1), Port: 8091})
		}, CodeNotRegistered, []string{"is not registered on subnet 1"}},
		{"serve axon on another subnet", func(f *fixture) []byte {
			return f.tx("hka", &ServeAxon{Netuid: 2, IP: ipv4(10, 0, 0, 1), Port: 8091})
		}, CodeNotRegistered, []string{"is not registered on subnet 2"}},
		{"serve axon on an unknown subnet", func(f *fixture) []byte {
			return f.tx("hka", &ServeAxon{Netuid: 3, IP: ipv4(10, 0, 0, 1), Port: 8091})
		}, CodeUnknownSubnet, []string{"no subnet 3"}},
		{"serve axon at 0.0.0.0", func(f *fixture) []byte {
			return f.tx("hka", &ServeAxon{Netuid: 1, IP: ipv4(0, 0, 0, 0), Port: 8091})
		}, CodeMalformed, []string{"axon 0.0.0.0 port 8091 protocol 0", "want a specified address"}},
		{"serve axon at ::", func(f *fixture) []byte {
			return f.tx("hka", &ServeAxon{Netuid: 1, Port: 8091})
		}, CodeMalformed, []string{"axon :: port 8091"}},
		{"serve axon on port 0", func(f *fixture) []byte {
			return f.tx("hka", &ServeAxon{Netuid: 1, IP: ipv4(10, 0, 0, 1)})
		}, CodeMalformed, []string{"axon 10.0.0.1 port 0"}},
		{"serve axon with protocol 4", func(f *fixture) []byte {
			return f.tx("hka", &ServeAxon{Netuid: 1, IP: ipv4(10, 0, 0, 1), Port: 8091, Protocol: 4})
		}, CodeMalformed, []string{"protocol 4", "protocol 0 to 3"}},
		{"serve axon again within serving_rate_limit", func(f *fixture) []byte {
			f.mustBlock(f.tx("hka", &ServeAxon{Netuid: 1, IP: ipv4(10, 0, 0, 1), Port: 8091}))
			return f.tx("hka", &ServeAxon{Netuid: 1, IP: ipv4(10, 0, 0, 2), Port: 8091})
		}, CodeServingRateLimited, []string{"axon last served at block 3", "subnet 1 allows one serve_axon every 50 blocks, the next at block 53"}},

		// add_stake
		{"stake zero", func(f *fixture) []byte { return f.tx("bob", &AddStake{Hotkey: f.id["hka"]}) },
			CodeBadAmount, []string{"stake of 0"}},
		{"stake on an unregistered hotkey", func(f *fixture) []byte {
			return f.tx("bob", &AddStake{Hotkey: f.id["hkb"], Amount: Unit})
		}, CodeNotRegistered, []string{"is not registered on any subnet"}},
		{"stake more than the balance", func(f *fixture) []byte {
			return f.tx("hkb", &AddStake{Hotkey: f.id["hka"], Amount: 10 * Unit})
		}, CodeInsufficientBalance, []string{"balance 9.999900000 AGR (9999900000 base units) is less than the 10.000000000 AGR (10000000000 base units) needed to stake"}},

		{"stake without the fee", func(f *fixture) []byte { return f.tx("poor", &AddStake{Hotkey: f.id["hka"], Amount: 1}) },
			CodeInsufficientBalance, []string{"cannot pay the add_stake fee"}},

		// remove_stake
		{"unstake without the fee", func(f *fixture) []byte { return f.tx("poor", &RemoveStake{Hotkey: f.id["hka"], Amount: 1}) },
			CodeInsufficientBalance, []string{"cannot pay the remove_stake fee"}},
		{"unstake zero", func(f *fixture) []byte { return f.tx("bob", &RemoveStake{Hotkey: f.id["hka"]}) },
			CodeBadAmount, []string{"unstake of 0"}},
		{"unstake more than staked", func(f *fixture) []byte {
			return f.tx("bob", &RemoveStake{Hotkey: f.id["hka"], Amount: 5*Unit + 1})
		}, CodeInsufficientStake, []string{"is 5.000000000 AGR (5000000000 base units), less than the 5.000000001 AGR (5000000001 base units) to remove"}},
		{"unstake without a stake", func(f *fixture) []byte {
			return f.tx("carol", &RemoveStake{Hotkey: f.id["hka"], Amount: 1})
		}, CodeInsufficientStake, []string{"is 0.000000000 AGR (0 base units), less than the 0.000000001 AGR (1 base unit) to remove"}},
		{"unstake from an unregistered hotkey", func(f *fixture) []byte {
			return f.tx("carol", &RemoveStake{Hotkey: f.id["hkb"], Amount: 1})
		}, CodeInsufficientStake, []string{"is 0"}},
	}
	// Every branch of Hyperparams.Validate, through create_subnet and
	// set_hyperparams.
	for _, b := range []struct {
		name string
		mut  func(*Hyperparams)
		log  string
	}{
		{"tempo 0", func(p *Hyperparams) { p.Tempo = 0 }, "tempo 0: want 1 to 50400 blocks"},
		{"tempo too long", func(p *Hyperparams) { p.Tempo = 50_401 }, "tempo 50401: want 1 to 50400 blocks"},
		{"max_uids 0", func(p *Hyperparams) { p.MaxUIDs = 0 }, "max_uids 0: want 1 to 4096"},
		{"max_uids too many", func(p *Hyperparams) { p.MaxUIDs = 4097 }, "max_uids 4097: want 1 to 4096"},
		{"max_validators 0", func(p *Hyperparams) { p.MaxValidators = 0 }, "max_validators 0: want 1 to max_uids (4)"},
		{"max_validators above max_uids", func(p *Hyperparams) { p.MaxValidators = 5 }, "max_validators 5: want 1 to max_uids (4)"},
		{"min_allowed_weights above max_uids", func(p *Hyperparams) { p.MinAllowedWeights = 5 }, "min_allowed_weights 5 exceeds max_uids 4"},
		{"max_weight_limit 0", func(p *Hyperparams) { p.MaxWeightLimit = 0 }, "max_weight_limit 0 would forbid every weight"},
		{"weights_rate_limit 0", func(p *Hyperparams) { p.WeightsRateLimit = 0 }, "weights_rate_limit must be at least 1 block"},
		{"serving_rate_limit 0", func(p *Hyperparams) { p.ServingRateLimit = 0 }, "serving_rate_limit must be at least 1 block"},
		{"reveal_period_epochs 0", func(p *Hyperparams) { p.RevealPeriodEpochs = 0 }, "reveal_period_epochs 0: want 1 to 100"},
		{"reveal_period_epochs 101", func(p *Hyperparams) { p.RevealPeriodEpochs = 101 }, "reveal_period_epochs 101: want 1 to 100"},
		{"min_burn above max_burn", func(p *Hyperparams) { p.MinBurn = p.MaxBurn + 1 }, "min_burn 10000000001 exceeds max_burn 10000000000"},
		{"target_registrations 0", func(p *Hyperparams) { p.TargetRegistrations = 0 }, "target_registrations must be at least 1"},
		{"adjustment_interval 0", func(p *Hyperparams) { p.AdjustmentInterval = 0 }, "adjustment_interval must be at least 1 block"},
		{"bonds_moving_average above 1e6", func(p *Hyperparams) { p.BondsMovingAverage = 1_000_001 }, "bonds_moving_average: 1000001 exceeds 1000000"},
		{"alpha_low above alpha_high", func(p *Hyperparams) { p.AlphaLow = p.AlphaHigh + 1 }, "alpha_low: 58983 exceeds alpha_high 58982"},
	} {
		p := badParams(b.mut)
		cases = append(cases,
			txCase{"create subnet: " + b.name, func(f *fixture) []byte { return f.tx("alice", &CreateSubnet{Params: p}) },
				CodeBadParams, []string{"hyperparameters: ", b.log}},
			txCase{"set hyperparams: " + b.name, func(f *fixture) []byte { return f.tx("alice", &SetHyperparams{Netuid: 1, Params: p}) },
				CodeBadParams, []string{"hyperparameters: ", b.log}},
		)
	}
	return cases
}

func TestRejectedTransactions(t *testing.T) {
	for _, tc := range rejectCases() {
		t.Run(tc.name, func(t *testing.T) { checkRejected(t, tc) })
	}
}

// checkRejected builds tc's transaction against a fresh fixture and checks
// that CheckTx, PrepareProposal and FinalizeBlock all reject it with its
// code and log, and change nothing.
func checkRejected(t *testing.T, tc txCase) {
	t.Helper()
	f := newFixture(t)
	raw := tc.tx(f)
	before := f.snap()
	assertRejected := func(where string, code uint32, log string) {
		t.Helper()
		if Code(code) != tc.code {
			t.Errorf("%s: code %d (%s) %q, want %d (%s)", where, code, Code(code), log, tc.code, tc.code)
		}
		for _, want := range tc.logs {
			if !strings.Contains(log, want) {
				t.Errorf("%s: log %q does not say %q", where, log, want)
			}
		}
	}
	// CheckTx rejects it the same way and leaves no trace, and answers
	// the same when PreCheckTx ran ahead of it, as in a node.
	ct := f.checkTx(raw, abci.CheckTxType_New)
	assertRejected("CheckTx", ct.Code, ct.Log)
	sameSnapshot(t, "CheckTx", before, f.snap())
	if pre := f.preCheckedTx(raw); !reflect.DeepEqual(pre, ct) {
		t.Errorf("CheckTx after PreCheckTx = %+v, without %+v", pre, ct)
	}
	sameSnapshot(t, "CheckTx after PreCheckTx", before, f.snap())
	// PrepareProposal drops it.
	if got := f.prepare(1<<20, raw); len(got) != 0 {
		t.Errorf("PrepareProposal kept a bad transaction")
	}
	sameSnapshot(t, "PrepareProposal", before, f.snap())
	// FinalizeBlock gives it a code and the state does not change.
	res := f.block(raw)
	assertRejected("FinalizeBlock", res[0].Code, res[0].Log)
	if res[0].Codespace != "agora" || len(res[0].Events) != 0 {
		t.Errorf("FinalizeBlock: codespace %q, events %v", res[0].Codespace, res[0].Events)
	}
	sameSnapshot(t, "FinalizeBlock", before, f.snap())
	f.checkConsistency(true)
}

// TestFlippedBytes flips every byte of a signed transaction of each kind
// in turn: every variant is rejected, with the code its position calls
// for, and a block of all of them changes nothing.
func TestFlippedBytes(t *testing.T) {
	f := newFixture(t)
	bodies := []struct {
		signer string
		body   Body
	}{
		{"alice", &Transfer{To: f.id["bob"], Amount: Unit}},
		{"alice", &CreateSubnet{Params: subnet1Params()}},
		{"alice", &SetHyperparams{Netuid: 1, Params: subnet1Params()}},
		{"alice", &Register{Netuid: 1, Hotkey: f.id["hkb"], MaxBurn: 10 * Unit}},
		{"hka", &ServeAxon{Netuid: 1, IP: ipv4(10, 0, 0, 1), Port: 8091, Protocol: 2}},
		{"bob", &AddStake{Hotkey: f.id["hka"], Amount: Unit}},
		{"bob", &RemoveStake{Hotkey: f.id["hka"], Amount: Unit}},
		{"hka", &SetWeights{Netuid: 1, UIDs: []uint16{0}, Values: []uint16{1}}},
		{"hka", &CommitWeights{Netuid: 1}},
		{"hka", &RevealWeights{Netuid: 1, UIDs: []uint16{0}, Values: []uint16{1}, Salt: []uint16{1}}},
		{"alice", &SetEmission{PerBlock: 1}},
		{"hka", &CommitDatasetRoot{Netuid: 1, Root: [32]byte{1}, Records: 10, Chunks: 1}},
	}
	before := f.snap()
	var block [][]byte
	for _, b := range bodies {
		raw := f.txAt(b.signer, f.nonce(f.id[b.signer]), b.body)
		if _, err := DecodeTx(raw); err != nil {
			t.Fatalf("%s: the valid transaction is rejected: %v", b.body.Kind(), err)
		}
		signerAt := 3 + len(testChainID)
		for i := range raw {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(raw)
				bad[i] ^= mask
				tx, err := DecodeTx(bad)
				if err == nil {
					t.Fatalf("%s: byte %d ^ %#x accepted (signer %s)", b.body.Kind(), i, mask, tx.Signer)
				}
				const anyCode = Code(1 << 31)
				want := CodeBadSignature
				switch {
				case i == 0:
					want = CodeMalformed // version
				case i == 1:
					want = anyCode // kind: unknown, malformed body or bad signature
				case i == 2:
					want = CodeMalformed // chain id length
				case i >= signerAt+40 && i < len(raw)-sigSize:
					want = anyCode // body: a bool byte may become malformed
				}
				if want != anyCode && err.Code != want {
					t.Errorf("%s: byte %d ^ %#x: code %s (%s), want %s", b.body.Kind(), i, mask, err.Code, err.Msg, want)
				}
				if err.Code == CodeOK || err.Msg == "" {
					t.Errorf("%s: byte %d ^ %#x: empty rejection %+v", b.body.Kind(), i, mask, err)
				}
				if i%16 == 0 {
					block = append(block, bad)
				}
			}
		}
	}
	for i, r := range f.block(block...) {
		if r.Code == 0 {
			t.Errorf("flipped tx %d accepted in FinalizeBlock", i)
		}
	}
	sameSnapshot(t, "FinalizeBlock", before, f.snap())
}

// TestSmallOrderSigner: under ZIP-215 anyone can sign for a small-order key
// (S = 0 with R the identity verifies for every message), so such a signer
// is refused: funds at the all-zero key, an obvious burn address, stay put.
func TestSmallOrderSigner(t *testing.T) {
	var zero AccountID // the point (sqrt(-1), 0), of order 4
	_, thief := testKey(9)
	c := newTestChain(t, map[AccountID]uint64{zero: 50 * Unit, thief: Unit})
	e := &enc{}
	e.u8(txVersion)
	e.u8(uint8(KindTransfer))
	e.u8(uint8(len(testChainID)))
	e.b = append(e.b, testChainID...)
	e.id(zero)
	e.u64(0) // nonce
	e.u64(0) // valid until
	(&Transfer{To: thief, Amount: 40 * Unit}).encode(e)
	sig := make([]byte, 64)
	sig[0] = 1 // R = the identity (y = 1), S = 0
	raw := append(e.b, sig...)
	if !verifySig(zero, signedMessage(e.b), sig) {
		t.Fatal("the forged signature does not verify: the test no longer shows the attack")
	}
	before := c.snap()
	res := c.finalize(raw).TxResults
	if res[0].Code != uint32(CodeBadSignature) || !strings.Contains(res[0].Log, "not a usable public key") {
		t.Errorf("forged transfer: code %d %q, want bad_signature", res[0].Code, res[0].Log)
	}
	if got := c.app.State().Account(zero).Balance; got != 50*Unit {
		t.Errorf("zero key balance = %d, want %d", got, 50*Unit)
	}
	sameSnapshot(t, "forged transfer", before, c.snap())
	for _, pub := range []AccountID{zero, {1}} { // (0,1) is the identity: order 1
		if !weakSigner(pub) {
			t.Errorf("weakSigner(%x) = false", pub[:4])
		}
	}
	if _, id := testKey(1); weakSigner(id) {
		t.Errorf("weakSigner(an ordinary key) = true")
	}
}

// TestHotkeyProof: a proof verifies for the coldkey and chain it was made
// for and no other, and ProveHotkey refuses what it cannot sign.
func TestHotkeyProof(t *testing.T) {
	hot, hotID := testKey(901)
	_, cold := testKey(902)
	_, other := testKey(903)
	proof, err := ProveHotkey(hot, testChainID, cold)
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyHotkeyProof(hotID, testChainID, cold, proof) {
		t.Fatal("a hotkey's proof does not verify")
	}
	for name, ok := range map[string]bool{
		"another coldkey": VerifyHotkeyProof(hotID, testChainID, other, proof),
		"another chain":   VerifyHotkeyProof(hotID, testChainID+"x", cold, proof),
		"another hotkey":  VerifyHotkeyProof(other, testChainID, cold, proof),
	} {
		if ok {
			t.Errorf("the proof verifies for %s", name)
		}
	}
	if _, err := ProveHotkey(hot, "", cold); err == nil || !strings.Contains(err.Error(), "chain id") {
		t.Errorf("empty chain id: %v", err)
	}
	if _, err := ProveHotkey(hot[:31], testChainID, cold); err == nil || !strings.Contains(err.Error(), "private key has 31 bytes") {
		t.Errorf("short key: %v", err)
	}
}

// TestValidUntil: a transaction is taken up to and including its
// valid_until block and refused after it, also by the recheck of one
// admitted in time; 0 means any block.
func TestValidUntil(t *testing.T) {
	f := newFixture(t)
	until := func(h int64, amount uint64) []byte {
		raw, err := SignTxUntil(f.priv["alice"], testChainID, f.nonce(f.id["alice"]), uint64(h), &Transfer{To: f.id["bob"], Amount: amount})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	// The next block is f.height+1: a transaction valid until it is taken.
	last := until(f.height+1, 1)
	if r := f.checkTx(last, abci.CheckTxType_New); r.Code != 0 {
		t.Fatalf("CheckTx of a transaction valid until the next block: %d %s", r.Code, r.Log)
	}
	if tx, err := DecodeTx(last); err != nil || tx.ValidUntil != uint64(f.height+1) {
		t.Fatalf("decoded valid_until: %+v %v", tx, err)
	}
	f.mustBlock(last)
	// (Refused once the block it was meant for has passed, and changing
	// nothing: the "expired" case of TestRejectedTransactions.)
	//
	// A transaction admitted to the mempool that a block did not include
	// in time leaves it at the recheck after that block.
	pending := until(f.height+1, 3)
	if r := f.checkTx(pending, abci.CheckTxType_New); r.Code != 0 {
		t.Fatalf("CheckTx: %d %s", r.Code, r.Log)
	}
	f.block()
	if r := f.checkTx(pending, abci.CheckTxType_Recheck); Code(r.Code) != CodeExpired {
		t.Errorf("recheck after its last block: %d %s, want expired", r.Code, r.Log)
	}
	// 0: any block.
	any, err := SignTxUntil(f.priv["alice"], testChainID, f.nonce(f.id["alice"]), 0, &Transfer{To: f.id["bob"], Amount: 4})
	if err != nil {
		t.Fatal(err)
	}
	f.mustBlock(any)
}
