package chain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
)

// GenesisState is the app_state of a genesis file: the chain's fees and
// the initial balances. The chain id comes from the genesis document.
type GenesisState struct {
	Fees     Fees             `json:"fees"`
	Balances []GenesisBalance `json:"balances"`
	// EmissionPerBlock is minted per block and paid out at subnets'
	// epochs; absent means DefaultEmissionPerBlock.
	EmissionPerBlock *uint64 `json:"emission_per_block,omitempty"`
	// Governance is the hex key that may change the emission and subnet
	// shares (set_emission); absent means nobody may.
	Governance string `json:"governance,omitempty"`
}

// GenesisBalance is one initial balance.
type GenesisBalance struct {
	Account string `json:"account"` // hex ed25519 public key
	Amount  uint64 `json:"amount"`
}

// ParseGenesisState decodes app_state strictly: unknown keys and bad
// accounts are errors naming the entry.
func ParseGenesisState(data []byte) (*GenesisState, error) {
	gs := &GenesisState{Fees: DefaultFees()}
	if len(bytes.TrimSpace(data)) == 0 {
		return gs, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(gs); err != nil {
		return nil, fmt.Errorf("genesis app_state: %w", err)
	}
	if gs.Governance != "" {
		if _, err := ParseAccountID(gs.Governance); err != nil {
			return nil, fmt.Errorf("genesis app_state: governance: %w", err)
		}
	}
	seen := map[AccountID]bool{}
	var total uint64
	for i, b := range gs.Balances {
		id, err := ParseAccountID(b.Account)
		if err != nil {
			return nil, fmt.Errorf("genesis app_state: balances[%d]: %w", i, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("genesis app_state: balances[%d]: account %s appears twice", i, b.Account)
		}
		seen[id] = true
		if total+b.Amount < total || total+b.Amount > math.MaxInt64 {
			return nil, fmt.Errorf("genesis app_state: balances[%d]: total supply exceeds %d", i, uint64(math.MaxInt64))
		}
		total += b.Amount
	}
	return gs, nil
}

// ParseAccountID parses a hex ed25519 public key.
func ParseAccountID(s string) (AccountID, error) {
	var id AccountID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("account %q: want %d bytes of hex", s, len(id))
	}
	copy(id[:], b)
	return id, nil
}

// initGenesis sets up a fresh state from the genesis state.
func (s *State) initGenesis(chainID string, gs *GenesisState) {
	g := Global{ChainID: chainID, Fees: gs.Fees, NextNetuid: 1, EmissionPerBlock: DefaultEmissionPerBlock}
	if gs.EmissionPerBlock != nil {
		g.EmissionPerBlock = *gs.EmissionPerBlock
	}
	if gs.Governance != "" {
		g.Governance, _ = ParseAccountID(gs.Governance) // checked by ParseGenesisState
	}
	for _, b := range gs.Balances {
		id, _ := ParseAccountID(b.Account) // checked by ParseGenesisState
		s.setAccount(id, Account{Balance: b.Amount})
		g.GenesisSupply += b.Amount
	}
	g.TotalSupply = g.GenesisSupply
	s.setGlobal(g)
	s.forget()
}
