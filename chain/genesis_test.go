package chain

import (
	"context"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"
)

func TestGenesis(t *testing.T) {
	_, a := testKey(1)
	_, b := testKey(2)
	good := `{"fees":{"transfer":7},"balances":[{"account":"` + a.String() + `","amount":5},{"account":"` + b.String() + `","amount":6}]}`
	gs, err := ParseGenesisState([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	wantFees := DefaultFees()
	wantFees.Transfer = 7
	if gs.Fees != wantFees || len(gs.Balances) != 2 {
		t.Errorf("parsed %+v", gs)
	}
	if gs, err := ParseGenesisState(nil); err != nil || gs.Fees != DefaultFees() {
		t.Errorf("empty app_state: %+v %v", gs, err)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"balance":[]}`, "unknown field"},
		{`{"balances":[{"account":"zz","amount":1}]}`, "balances[0]: account \"zz\""},
		{`{"balances":[{"account":"` + a.String() + `","amount":1},{"account":"` + a.String() + `","amount":1}]}`, "balances[1]: account " + a.String() + " appears twice"},
		{`{"balances":[{"account":"` + a.String() + `","amount":9223372036854775807},{"account":"` + b.String() + `","amount":1}]}`, "balances[1]: total supply exceeds"},
		{`[`, "genesis app_state"},
	} {
		if _, err := ParseGenesisState([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}

	c := newTestChainOn(t, dbm.NewMemDB(), []byte(good))
	g := c.global()
	if g.ChainID != testChainID || g.GenesisSupply != 11 || g.TotalSupply != 11 || g.NextNetuid != 1 || g.Fees != wantFees {
		t.Errorf("global %+v", g)
	}
	if c.balance(a) != 5 || c.balance(b) != 6 {
		t.Errorf("balances %d %d", c.balance(a), c.balance(b))
	}
	supplyInvariant(t, c.app.State())
	c.checkConsistency(false)

	for _, id := range []string{"", strings.Repeat("x", 65)} {
		app, _ := NewApp(dbm.NewMemDB(), zap.NewNop())
		if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: id, AppStateBytes: []byte(good)}); err == nil {
			t.Errorf("chain id %q accepted", id)
		}
	}
}

// TestGenesisEmission: emission_per_block and governance come from
// app_state; absent, the default emission and no governance key.
func TestGenesisEmission(t *testing.T) {
	_, a := testKey(1)
	c := newTestChainOn(t, dbm.NewMemDB(), []byte(`{"emission_per_block":5,"governance":"`+a.String()+`"}`))
	if g := c.global(); g.EmissionPerBlock != 5 || g.Governance != a {
		t.Errorf("global %+v", g)
	}
	c = newTestChainOn(t, dbm.NewMemDB(), nil)
	if g := c.global(); g.EmissionPerBlock != DefaultEmissionPerBlock || g.Governance != (AccountID{}) {
		t.Errorf("default global %+v", g)
	}
	if _, err := ParseGenesisState([]byte(`{"governance":"zz"}`)); err == nil || !strings.Contains(err.Error(), "governance") {
		t.Errorf("bad governance: %v", err)
	}
}
