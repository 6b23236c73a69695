package chain

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"go.uber.org/zap"
)

// testKey returns a deterministic key for tests.
func testKey(i int) (ed25519.PrivateKey, AccountID) {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, fmt.Sprintf("agora test key %d", i))
	priv := ed25519.NewKeyFromSeed(seed)
	var id AccountID
	copy(id[:], priv.Public().(ed25519.PublicKey))
	testKeys.Store(id, priv)
	return priv, id
}

// testKeys holds every testKey's private key by its account, so that a
// test's registrations can carry their hotkey's proof.
var testKeys sync.Map // AccountID → ed25519.PrivateKey

// proved returns body, or for a Register without a hotkey proof a copy
// with the proof by the hotkey's test key letting signer own it on
// chainID. Tests that check bad proofs set one.
func proved(body Body, chainID string, signer ed25519.PrivateKey) Body {
	r, ok := body.(*Register)
	if !ok || r.Proof != ([sigSize]byte{}) {
		return body
	}
	hot, ok := testKeys.Load(r.Hotkey)
	if !ok {
		return body
	}
	c := *r
	var err error
	if c.Proof, err = ProveHotkey(hot.(ed25519.PrivateKey), chainID, AccountID(signer.Public().(ed25519.PublicKey))); err != nil {
		panic(err)
	}
	return &c
}

// testChain is an App driven block by block, as CometBFT would.
type testChain struct {
	t      testing.TB
	db     dbm.DB
	app    *App
	height int64
}

const testChainID = "agora-test"

// testGenesis is the app_state of a genesis with these balances and fees.
func testGenesis(balances map[AccountID]uint64, fees Fees) []byte {
	gs := GenesisState{Fees: fees}
	for _, id := range slices.SortedFunc(maps.Keys(balances), func(a, b AccountID) int { return bytes.Compare(a[:], b[:]) }) {
		gs.Balances = append(gs.Balances, GenesisBalance{Account: hex.EncodeToString(id[:]), Amount: balances[id]})
	}
	raw, _ := json.Marshal(gs)
	return raw
}

func newTestChain(t testing.TB, balances map[AccountID]uint64) *testChain {
	t.Helper()
	return newTestChainOn(t, dbm.NewMemDB(), testGenesis(balances, DefaultFees()))
}

// newTestChainOn opens a fresh app on db and runs InitChain with appState.
func newTestChainOn(t testing.TB, db dbm.DB, appState []byte) *testChain {
	t.Helper()
	app, err := NewApp(db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChainID, AppStateBytes: appState}); err != nil {
		t.Fatal(err)
	}
	return &testChain{t: t, db: db, app: app}
}

// blockTime is the header time of block h in tests.
func blockTime(h int64) time.Time { return time.Unix(1_700_000_000+h, 0) }

// finalize runs FinalizeBlock for the next height, without Commit.
func (c *testChain) finalize(txs ...[]byte) *abci.ResponseFinalizeBlock {
	c.t.Helper()
	c.height++
	resp, err := c.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{
		Height: c.height, Time: blockTime(c.height), Txs: txs,
	})
	if err != nil {
		c.t.Fatalf("FinalizeBlock %d: %v", c.height, err)
	}
	if len(resp.TxResults) != len(txs) {
		c.t.Fatalf("FinalizeBlock %d: %d results for %d txs", c.height, len(resp.TxResults), len(txs))
	}
	return resp
}

func (c *testChain) commit() {
	c.t.Helper()
	if _, err := c.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		c.t.Fatalf("Commit %d: %v", c.height, err)
	}
}

// block finalizes and commits one block of txs and returns the results.
func (c *testChain) block(txs ...[]byte) []*abci.ExecTxResult {
	c.t.Helper()
	resp := c.finalize(txs...)
	c.commit()
	return resp.TxResults
}

// mustBlock is block, failing the test if any transaction fails.
func (c *testChain) mustBlock(txs ...[]byte) []*abci.ExecTxResult {
	c.t.Helper()
	res := c.block(txs...)
	for i, r := range res {
		if r.Code != 0 {
			c.t.Fatalf("block %d tx %d: code %d (%s) %s", c.height, i, r.Code, Code(r.Code), r.Log)
		}
	}
	return res
}

func (c *testChain) checkTx(raw []byte, typ abci.CheckTxType) *abci.ResponseCheckTx {
	c.t.Helper()
	return c.checkTxIn(context.Background(), raw, typ)
}

// checkTxIn is checkTx with ctx: a PreCheckTx outcome, a dry run.
func (c *testChain) checkTxIn(ctx context.Context, raw []byte, typ abci.CheckTxType) *abci.ResponseCheckTx {
	c.t.Helper()
	resp, err := c.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: typ})
	if err != nil {
		c.t.Fatalf("CheckTx: %v", err)
	}
	return resp
}

// preCheckedTx is checkTx of a new transaction the way a node runs it:
// PreCheckTx first, then CheckTx with the context it returned.
func (c *testChain) preCheckedTx(raw []byte) *abci.ResponseCheckTx {
	c.t.Helper()
	return c.checkTxIn(c.app.PreCheckTx(context.Background(), raw), raw, abci.CheckTxType_New)
}

// fundedKeys returns n test keys, testKey(first) on, and genesis balances
// giving each of them balance.
func fundedKeys(n, first int, balance uint64) ([]ed25519.PrivateKey, []AccountID, map[AccountID]uint64) {
	privs, ids, balances := make([]ed25519.PrivateKey, n), make([]AccountID, n), make(map[AccountID]uint64, n)
	for i := range n {
		privs[i], ids[i] = testKey(first + i)
		balances[ids[i]] = balance
	}
	return privs, ids, balances
}

func (c *testChain) prepare(maxBytes int64, txs ...[]byte) [][]byte {
	c.t.Helper()
	resp, err := c.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{
		MaxTxBytes: maxBytes, Txs: txs, Height: c.height + 1, Time: blockTime(c.height + 1),
	})
	if err != nil {
		c.t.Fatalf("PrepareProposal: %v", err)
	}
	return resp.Txs
}

func (c *testChain) nonce(id AccountID) uint64     { return c.app.State().Account(id).Nonce }
func (c *testChain) balance(id AccountID) uint64   { return c.app.State().Account(id).Balance }
func (c *testChain) global() Global                { return c.app.State().Global() }
func (c *testChain) subnet(netuid uint16) Subnet   { sn, _ := c.app.State().Subnet(netuid); return sn }
func (c *testChain) hotkey(id AccountID) Hotkey    { h, _ := c.app.State().Hotkey(id); return h }
func (c *testChain) stake(hk, ck AccountID) uint64 { return c.app.State().Stake(hk, ck) }

func sign(t testing.TB, priv ed25519.PrivateKey, nonce uint64, body Body) []byte {
	t.Helper()
	raw, err := SignTx(priv, testChainID, nonce, proved(body, testChainID, priv))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// signRaw signs arbitrary unsigned transaction bytes, for malformed bodies
// with valid signatures.
func signRaw(priv ed25519.PrivateKey, unsigned []byte) []byte {
	sig := ed25519.Sign(priv, signedMessage(unsigned))
	return append(bytes.Clone(unsigned), sig...)
}

// --- state dumps -----------------------------------------------------------

// allKeys returns the key of every record in s, sorted.
func allKeys(s *State) []string {
	keys := []string{keyGlobal()}
	for id := range s.accounts {
		keys = append(keys, keyAccount(id))
	}
	for id := range s.hotkeys {
		keys = append(keys, keyHotkey(id))
	}
	for k := range s.stakes {
		keys = append(keys, keyStake(k))
	}
	for netuid := range s.subnets {
		keys = append(keys, keySubnet(netuid))
	}
	for k := range s.neurons {
		keys = append(keys, keyNeuron(k))
	}
	for mk, m := range s.commits {
		for hk := range m {
			keys = append(keys, keyCommits(commitKey{mk.netuid, mk.mechanism, hk}))
		}
	}
	for netuid := range s.datasets {
		keys = append(keys, keyDatasets(netuid))
	}
	slices.Sort(keys)
	return keys
}

// dumpState encodes every record of s, plus the derived hotkey→uid index
// under keys starting with "~" (they are not records, but a revert that
// forgot them would corrupt later transactions).
func dumpState(t testing.TB, s *State) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, k := range allKeys(s) {
		v := s.encodeRecord(k)
		if v == nil {
			t.Fatalf("record %x is listed but encodes to nil", k)
		}
		out[k] = v
	}
	for hk, set := range s.stakers {
		for ck := range set {
			out[fmt.Sprintf("~stakers/%x/%x", hk[:], ck[:])] = []byte{1}
		}
	}
	for netuid, idx := range s.uidOf {
		for hk, uid := range idx {
			out[fmt.Sprintf("~uid/%d/%x", netuid, hk[:])] = []byte{byte(uid >> 8), byte(uid)}
		}
	}
	return out
}

// fullHash rehashes a dump from scratch, ignoring the "~" index entries.
func fullHash(dump map[string][]byte) []byte {
	h := newHasher()
	for k, v := range dump {
		if !strings.HasPrefix(k, "~") {
			h.set(k, v)
		}
	}
	return h.root()
}

type snapshot struct {
	hash []byte
	dump map[string][]byte
}

func (c *testChain) snap() snapshot {
	c.t.Helper()
	return snapshot{hash: bytes.Clone(c.app.appHash), dump: dumpState(c.t, c.app.State())}
}

// describeKey renders a record key for messages.
func describeKey(k string) string {
	switch k[0] {
	case prefixGlobal:
		return "global"
	case prefixAccount:
		return fmt.Sprintf("account/%x", k[1:5])
	case prefixHotkey:
		return fmt.Sprintf("hotkey/%x", k[1:5])
	case prefixStake:
		return fmt.Sprintf("stake/%x/%x", k[1:5], k[33:37])
	case prefixSubnet:
		return fmt.Sprintf("subnet/%d", uint16(k[1])<<8|uint16(k[2]))
	case prefixNeuron:
		return fmt.Sprintf("neuron/%d/%d", uint16(k[1])<<8|uint16(k[2]), uint16(k[3])<<8|uint16(k[4]))
	case prefixCommits:
		if len(k) > 35 {
			return fmt.Sprintf("commits/%d/%x/mechanism %d", uint16(k[1])<<8|uint16(k[2]), k[3:7], k[35])
		}
		return fmt.Sprintf("commits/%d/%x", uint16(k[1])<<8|uint16(k[2]), k[3:7])
	case prefixDatasets:
		return fmt.Sprintf("datasets/%d", uint16(k[1])<<8|uint16(k[2]))
	case '~': // ~uid/<netuid>/<hex hotkey>
		return k[:strings.LastIndexByte(k, '/')+9]
	}
	return k
}

// changedKeys lists the keys whose value differs between two dumps.
func changedKeys(a, b map[string][]byte) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			out = append(out, describeKey(k))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, describeKey(k))
		}
	}
	slices.Sort(out)
	return out
}

func sameSnapshot(t testing.TB, what string, before, after snapshot) {
	t.Helper()
	if !bytes.Equal(before.hash, after.hash) {
		t.Errorf("%s: app hash changed: %X -> %X", what, before.hash, after.hash)
	}
	if d := changedKeys(before.dump, after.dump); len(d) > 0 {
		t.Errorf("%s: state changed in %v", what, d)
	}
}

// checkConsistency checks that the incremental app hash equals a rehash
// from scratch, and, after a commit, that the database holds exactly the
// in-memory records.
func (c *testChain) checkConsistency(committed bool) {
	c.t.Helper()
	dump := dumpState(c.t, c.app.State())
	if got := fullHash(dump); !bytes.Equal(got, c.app.appHash) {
		c.t.Fatalf("height %d: incremental app hash %X, full rehash %X", c.height, c.app.appHash, got)
	}
	if !committed {
		return
	}
	it, err := c.db.Iterator([]byte{1}, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	defer it.Close()
	stored := map[string][]byte{}
	for ; it.Valid(); it.Next() {
		stored[string(it.Key())] = bytes.Clone(it.Value())
	}
	for k := range dump {
		if strings.HasPrefix(k, "~") {
			delete(dump, k)
		}
	}
	if d := changedKeys(dump, stored); len(d) > 0 {
		c.t.Fatalf("height %d: database differs from memory in %v", c.height, d)
	}
}

// supplyInvariant checks Σ balances + Σ stakes == total supply == genesis +
// minted − burned, and that every hotkey's stake is the sum of its stakes.
func supplyInvariant(t testing.TB, s *State) {
	t.Helper()
	var sum uint64
	for _, a := range s.accounts {
		sum += a.Balance
	}
	perHotkey := map[AccountID]uint64{}
	for k, v := range s.stakes {
		sum += v.Amount
		perHotkey[k.hotkey] += v.Amount
		if v.Base > v.Amount {
			t.Fatalf("stake of %s on %s: base %d above amount %d", k.coldkey, k.hotkey, v.Base, v.Amount)
		}
	}
	g := s.global
	if sum != g.TotalSupply || g.TotalSupply != g.GenesisSupply+g.Minted-g.Burned {
		t.Fatalf("supply: Σ balances+stakes %d, total %d, genesis %d + minted %d - burned %d", sum, g.TotalSupply, g.GenesisSupply, g.Minted, g.Burned)
	}
	for id, h := range s.hotkeys {
		if h.Stake != perHotkey[id] {
			t.Fatalf("hotkey %s: stake %d, Σ stakes on it %d", id, h.Stake, perHotkey[id])
		}
	}
	for id := range perHotkey {
		if _, ok := s.hotkeys[id]; !ok {
			t.Fatalf("stake on unregistered hotkey %s", id)
		}
	}
}

func TestTransferCommitReload(t *testing.T) {
	alice, aliceID := testKey(1)
	_, bobID := testKey(2)
	c := newTestChain(t, map[AccountID]uint64{aliceID: 10 * Unit})
	res := c.block(sign(t, alice, 0, &Transfer{To: bobID, Amount: 3 * Unit}))
	if res[0].Code != 0 {
		t.Fatalf("transfer: code %d %s", res[0].Code, res[0].Log)
	}
	fee := DefaultFees().Transfer
	if got := c.app.State().Account(aliceID); got.Balance != 7*Unit-fee || got.Nonce != 1 {
		t.Errorf("alice = %+v", got)
	}
	if got := c.app.State().Account(bobID).Balance; got != 3*Unit {
		t.Errorf("bob balance = %d", got)
	}
	// Replaying the same bytes fails on the nonce and changes nothing.
	before := c.app.appHash
	res = c.block(sign(t, alice, 0, &Transfer{To: bobID, Amount: 3 * Unit}))
	if res[0].Code != uint32(CodeBadNonce) {
		t.Errorf("replay: code %d %s", res[0].Code, res[0].Log)
	}
	if string(before) != string(c.app.appHash) {
		t.Errorf("a rejected transaction changed the app hash")
	}
	// A fresh app on the same database resumes at the same height and hash.
	app2, err := NewApp(c.db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	info, _ := app2.Info(context.Background(), &abci.RequestInfo{})
	if info.LastBlockHeight != c.height || string(info.LastBlockAppHash) != string(c.app.appHash) {
		t.Errorf("reloaded at %d %X, want %d %X", info.LastBlockHeight, info.LastBlockAppHash, c.height, c.app.appHash)
	}
	if got := app2.State().Account(bobID).Balance; got != 3*Unit {
		t.Errorf("reloaded bob balance = %d", got)
	}
}
