package chain

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// verifySig checks an ed25519 signature under zip215 with no key cache and
// no weak-key check: the plain verification the app's paths are tested
// against.
func verifySig(pub AccountID, msg, sig []byte) bool {
	return voied.VerifyWithOptions(pub[:], msg, sig, zip215)
}

// badSig returns raw with its signature's first byte flipped: well formed,
// signed by no one.
func badSig(raw []byte) []byte {
	bad := bytes.Clone(raw)
	bad[len(bad)-sigSize] ^= 1
	return bad
}

// TestPreCheckTxOtherBytes: CheckTx uses PreCheckTx's outcome only for the
// bytes it was computed on. A context pre-checked for a valid transaction
// does not get a forged one with the same body admitted, nor the reverse.
func TestPreCheckTxOtherBytes(t *testing.T) {
	alice, aliceID := testKey(1)
	_, bobID := testKey(2)
	c := newTestChain(t, map[AccountID]uint64{aliceID: 100 * Unit})
	good := sign(t, alice, 0, &Transfer{To: bobID, Amount: Unit})
	bad := badSig(good)
	check := func(ctx context.Context, raw []byte) *abci.ResponseCheckTx {
		t.Helper()
		return c.checkTxIn(ctx, raw, abci.CheckTxType_New)
	}
	if r := check(c.app.PreCheckTx(context.Background(), good), bad); r.Code != uint32(CodeBadSignature) {
		t.Errorf("forged transaction with a context pre-checked for the valid one: code %d %q, want bad_signature", r.Code, r.Log)
	}
	if r := check(c.app.PreCheckTx(context.Background(), bad), good); r.Code != 0 {
		t.Errorf("valid transaction with a context pre-checked for a forged one: code %d %q", r.Code, r.Log)
	}
}

// TestCheckTxDryRun: a dry-run CheckTx (the /check_tx RPC's) answers as an
// admission would, any number of times, and admits nothing: the same
// transaction is then admitted, and a transaction its balance could not
// cover after an admission is still refused.
func TestCheckTxDryRun(t *testing.T) {
	alice, aliceID := testKey(1)
	_, bobID := testKey(2)
	c := newTestChain(t, map[AccountID]uint64{aliceID: 10 * Unit})
	check := func(ctx context.Context, raw []byte) *abci.ResponseCheckTx {
		t.Helper()
		return c.checkTxIn(ctx, raw, abci.CheckTxType_New)
	}
	first := sign(t, alice, 0, &Transfer{To: bobID, Amount: 6 * Unit})
	for range 3 {
		if r := check(DryRun(context.Background()), first); r.Code != 0 {
			t.Fatalf("dry run of a valid transfer: code %d %q", r.Code, r.Log)
		}
	}
	if r := check(context.Background(), first); r.Code != 0 {
		t.Fatalf("admitting the transfer after dry runs: code %d %q, want 0", r.Code, r.Log)
	}
	// Nonce 1 would spend more than is left once nonce 0 is pending: the
	// dry run says so too, and admits nothing either way.
	second := sign(t, alice, 1, &Transfer{To: bobID, Amount: 6 * Unit})
	if r := check(DryRun(context.Background()), second); r.Code != uint32(CodeInsufficientBalance) {
		t.Errorf("dry run of an overspend: code %d %q, want insufficient_balance", r.Code, r.Log)
	}
	small := sign(t, alice, 1, &Transfer{To: bobID, Amount: Unit})
	if r := check(context.Background(), small); r.Code != 0 {
		t.Errorf("admitting nonce 1 after a refused dry run: code %d %q", r.Code, r.Log)
	}
}

// TestCheckTxBetweenFinalizeAndCommit: CometBFT may call CheckTx after
// FinalizeBlock and before Commit, on a state that already holds the
// block. A sender whose admitted transfer is in that block can still send
// what it has left: the block's spending is not counted twice.
func TestCheckTxBetweenFinalizeAndCommit(t *testing.T) {
	alice, aliceID := testKey(1)
	_, bobID := testKey(2)
	c := newTestChain(t, map[AccountID]uint64{aliceID: 100 * Unit})
	first := sign(t, alice, 0, &Transfer{To: bobID, Amount: 60 * Unit})
	if r := c.checkTx(first, abci.CheckTxType_New); r.Code != 0 {
		t.Fatalf("first transfer: code %d %q", r.Code, r.Log)
	}
	if r := c.finalize(first); r.TxResults[0].Code != 0 {
		t.Fatalf("first transfer in the block: code %d %q", r.TxResults[0].Code, r.TxResults[0].Log)
	}
	second := sign(t, alice, 1, &Transfer{To: bobID, Amount: 30 * Unit})
	if r := c.checkTx(second, abci.CheckTxType_New); r.Code != 0 {
		t.Errorf("second transfer between FinalizeBlock and Commit: code %d %q, want admitted", r.Code, r.Log)
	}
	// And what the sender cannot afford is still refused.
	third := sign(t, alice, 2, &Transfer{To: bobID, Amount: 30 * Unit})
	if r := c.checkTx(third, abci.CheckTxType_New); r.Code != uint32(CodeInsufficientBalance) || !strings.Contains(r.Log, "taken by this sender's transactions already in the mempool") {
		t.Errorf("an overspend between FinalizeBlock and Commit: code %d %q, want insufficient_balance saying what the mempool holds", r.Code, r.Log)
	}
	c.commit()
}

// TestPreCheckTxConcurrent runs PreCheckTx from many goroutines at once,
// then CheckTx under one mutex as CometBFT's local client does, with
// forged signatures among valid transfers: every forged one is rejected
// with bad_signature and DecodeTx's log, and every valid one is admitted.
// Under -race it also checks that PreCheckTx shares nothing unguarded
// with CheckTx or with itself.
func TestPreCheckTxConcurrent(t *testing.T) {
	const senders, perSender = 8, 20
	privs, _, balances := fundedKeys(senders, 100, 100*Unit)
	_, to := testKey(99)
	c := newTestChain(t, balances)
	var abciLock sync.Mutex
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for nonce := range uint64(perSender) {
				good := sign(t, privs[s], nonce, &Transfer{To: to, Amount: 1})
				for _, raw := range [][]byte{badSig(good), good} {
					ctx := c.app.PreCheckTx(context.Background(), raw)
					abciLock.Lock()
					resp, err := c.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
					abciLock.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
					_, want := DecodeTx(raw)
					switch {
					case want == nil && resp.Code != 0:
						t.Errorf("sender %d nonce %d: valid transfer rejected: %d %q", s, nonce, resp.Code, resp.Log)
					case want != nil && (resp.Code != uint32(want.Code) || resp.Log != want.Msg):
						t.Errorf("sender %d nonce %d: forged transfer: code %d %q, want %d %q", s, nonce, resp.Code, resp.Log, want.Code, want.Msg)
					}
				}
			}
		})
	}
	wg.Wait()
}

// blockOfEverything is a block of n transactions of every sort parseBlock
// must tell apart: valid transfers from several signers, forged signatures,
// malformed bytes, a small-order signer, and valid signatures on
// transactions that fail when applied (wrong chain id, a replayed nonce).
func blockOfEverything(t testing.TB, n int) (txs [][]byte, balances map[AccountID]uint64) {
	const signers = 5
	privs, ids, balances := fundedKeys(signers, 200, 1000*Unit)
	_, to := testKey(299)
	var zero AccountID
	weak := append(bytes.Clone(sign(t, privs[0], 0, &Transfer{To: to, Amount: 1})[:3+len(testChainID)]), zero[:]...)
	weak = append(weak, make([]byte, 8+8+32+8)...) // nonce, valid until, to, amount
	weak = append(weak, make([]byte, sigSize)...)
	weak[len(weak)-sigSize] = 1 // R = the identity, S = 0: "verifies" for a small-order key
	nonces := make([]uint64, signers)
	for i := range n {
		s := i % signers
		switch i % 10 {
		case 1:
			// A registration, its hotkey's proof right or made by
			// another key; either fails later, as there is no subnet.
			hot, hotID := testKey(298)
			proof, err := ProveHotkey(hot, testChainID, ids[s])
			if err != nil {
				t.Fatal(err)
			}
			if i%20 == 11 {
				_, hotID = testKey(297)
			}
			txs = append(txs, sign(t, privs[s], nonces[s], &Register{Netuid: 1, Hotkey: hotID, MaxBurn: Unit, Proof: proof}))
			nonces[s]++
		case 3:
			txs = append(txs, badSig(sign(t, privs[s], nonces[s], &Transfer{To: to, Amount: 1})))
		case 5:
			txs = append(txs, []byte("not a transaction"))
		case 7:
			txs = append(txs, weak)
		case 8:
			other, err := SignTx(privs[s], "other-chain", nonces[s], &Transfer{To: to, Amount: 1})
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, other)
		case 9:
			txs = append(txs, sign(t, privs[s], 0, &Transfer{To: to, Amount: 2})) // nonce 0 again
		default:
			txs = append(txs, sign(t, privs[s], nonces[s], &Transfer{To: to, Amount: 1}))
			nonces[s]++
		}
	}
	return txs, balances
}

// TestParseBlockMatchesDecodeTx: whether the signatures are verified
// ahead in batches on several goroutines or not at all, checkSig on
// parseBlock's results gives exactly DecodeTx's answer for every
// transaction, and only valid signatures end up in the cache.
func TestParseBlockMatchesDecodeTx(t *testing.T) {
	for _, n := range []int{1, 10, 3*blockWorkerTxs + 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			txs, _ := blockOfEverything(t, n)
			cache := newSigCache()
			parsed := parseBlock(txs, cache)
			seen := map[string]bool{}
			for i, raw := range txs {
				wantTx, wantErr := DecodeTx(raw)
				if wantErr != nil {
					seen[wantErr.Code.String()+": "+wantErr.Msg[:min(len(wantErr.Msg), 16)]] = true
				}
				p := &parsed[i]
				err := p.checkSig(cache)
				if !reflect.DeepEqual(err, wantErr) {
					t.Fatalf("tx %d: checkSig %v, DecodeTx %v", i, err, wantErr)
				}
				if wantErr != nil {
					// Only a bad hotkey proof fails past the signature.
					if p.verified != (wantErr.Code == CodeBadHotkeyProof) || (p.tx != nil && cache.has(p.tx.Hash)) {
						t.Errorf("tx %d (%v): verified %v, cached %v", i, wantErr, p.verified, p.tx != nil && cache.has(p.tx.Hash))
					}
					continue
				}
				if !reflect.DeepEqual(p.tx, wantTx) {
					t.Errorf("tx %d: parsed %+v, DecodeTx %+v", i, p.tx, wantTx)
				}
				if !cache.has(p.tx.Hash) {
					t.Errorf("tx %d: valid but not cached", i)
				}
			}
			if n > 10 && len(seen) != 4 {
				t.Errorf("rejections %v: want a forged signature, a small-order signer, malformed bytes and a bad hotkey proof", seen)
			}
		})
	}
}

// TestFinalizeBlockColdMatchesWarm: a block whose transactions this node
// never saw (verified in FinalizeBlock, in batches) gives the same results
// and app hash as the same block after every transaction went through
// CheckTx (verified there, one at a time), and as the block applied with
// the cache cleared before each transaction.
func TestFinalizeBlockColdMatchesWarm(t *testing.T) {
	txs, balances := blockOfEverything(t, 3*blockWorkerTxs+17)
	cold := newTestChain(t, balances)
	warm := newTestChain(t, balances)
	for _, raw := range txs {
		warm.preCheckedTx(raw)
	}
	coldRes, warmRes := cold.finalize(txs...), warm.finalize(txs...)
	if !reflect.DeepEqual(coldRes, warmRes) {
		t.Fatalf("cold and warm FinalizeBlock differ:\ncold %+v\nwarm %+v", coldRes, warmRes)
	}
	ok := 0
	for _, r := range coldRes.TxResults {
		if r.Code == 0 {
			ok++
		}
	}
	if ok == 0 || ok == len(txs) {
		t.Fatalf("%d of %d transactions applied: the block does not mix good and bad ones", ok, len(txs))
	}
	// The reference: decodeTx one at a time, as FinalizeBlock did before
	// batch verification, on a fresh app.
	ref := newTestChain(t, balances)
	s := ref.app.state
	blk := Block{Height: 1, Time: blockTime(1).UnixNano()}
	s.beginBlock(blk)
	for i, raw := range txs {
		tx, err := DecodeTx(raw)
		if err == nil {
			_, err = s.apply(tx, blk)
		}
		got := coldRes.TxResults[i]
		if (err == nil) != (got.Code == 0) || (err != nil && (got.Code != uint32(err.Code) || got.Log != err.Msg)) {
			t.Errorf("tx %d: FinalizeBlock code %d %q, one at a time %v", i, got.Code, got.Log, err)
		}
	}
	s.endBlock(blk)
	s.forget()
	if got := ref.app.stage(); !bytes.Equal(got, coldRes.AppHash) {
		t.Errorf("app hash %X, one at a time %X", coldRes.AppHash, got)
	}
}

// TestVerifyBatchFindsTheBadOne: a batch with one forged signature fails
// batch verification, and verifyBatch then marks every other signature
// verified and not the forged one; without it the batch passes.
func TestVerifyBatchFindsTheBadOne(t *testing.T) {
	const n, forged = 10, 6
	_, to := testKey(399)
	ps := make([]*parsedTx, n)
	for i := range ps {
		priv, _ := testKey(300 + i)
		raw := sign(t, priv, 0, &Transfer{To: to, Amount: 1})
		if i == forged {
			raw = badSig(raw)
		}
		p := parseTx(raw)
		if p.err != nil || p.verifiable(nil) != nil {
			t.Fatal(p.err)
		}
		ps[i] = &p
	}
	if batchValid(ps) {
		t.Fatal("a batch with a forged signature verified")
	}
	without := append(append([]*parsedTx{}, ps[:forged]...), ps[forged+1:]...)
	if !batchValid(without) {
		t.Fatal("a batch of valid signatures failed")
	}
	verifyBatch(ps)
	for i, p := range ps {
		if want := i != forged; p.verified != want {
			t.Errorf("tx %d: verified %v, want %v", i, p.verified, want)
		}
	}
	// A batch of one is verified alone, with the same answers.
	priv, _ := testKey(300)
	good := sign(t, priv, 0, &Transfer{To: to, Amount: 1})
	for _, raw := range [][]byte{good, badSig(good)} {
		p := parseTx(raw)
		if err := p.verifiable(nil); err != nil {
			t.Fatal(err)
		}
		verifyBatch([]*parsedTx{&p})
		if want := bytes.Equal(raw, good); p.verified != want {
			t.Errorf("batch of one: verified %v, want %v", p.verified, want)
		}
	}
}

// TestRecentKeepsTheLatest: the cache holds at least the last size/2
// entries put, at most size, and forgets the oldest first.
func TestRecentKeepsTheLatest(t *testing.T) {
	const size = 10
	r := newRecent[int, int](size)
	for i := range 100 {
		r.put(i, -i)
		held := 0
		for k := range i + 1 {
			if v, ok := r.get(k); ok {
				held++
				if v != -k {
					t.Fatalf("get(%d) = %d", k, v)
				}
			} else if k > i-size/2 {
				t.Fatalf("after put(%d), %d (one of the last %d) is gone", i, k, size/2)
			}
		}
		if held > size {
			t.Fatalf("after put(%d) it holds %d entries, more than %d", i, held, size)
		}
	}
	if _, ok := r.get(0); ok {
		t.Error("the first entry is still there after 100 more")
	}
}

// BenchmarkVerifySigBatch is the cost per signature of ed25519
// verification one at a time (single) and in batches of n, as parseBlock
// does it: transfers from 200 signers, their expanded keys cached.
func BenchmarkVerifySigBatch(b *testing.B) {
	const signers = 200
	_, to := testKey(999)
	ps := make([]*parsedTx, 1024)
	cache := newSigCache()
	for i := range ps {
		priv, _ := testKey(1000 + i%signers)
		p := parseTx(sign(b, priv, uint64(i), &Transfer{To: to, Amount: 1}))
		if err := p.verifiable(cache); err != nil {
			b.Fatal(err)
		}
		ps[i] = &p
	}
	b.Run("single", func(b *testing.B) {
		i := 0
		for b.Loop() {
			p := ps[i%len(ps)]
			if !voied.VerifyExpandedWithOptions(p.key, signedMessage(p.unsigned), p.sig, zip215) {
				b.Fatal("invalid")
			}
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i)/1000, "us/sig")
	})
	for _, n := range []int{1, 4, 8, 16, maxSigBatch} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				lo := i % (len(ps) - n)
				if !batchValid(ps[lo : lo+n]) {
					b.Fatal("invalid")
				}
				i += n
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i)/1000, "us/sig")
		})
	}
}

// TestExpandedKeysVerifyAsPlain: checking a signature through the cache of
// expanded keys, first and repeat signers alike, accepts exactly what plain
// ZIP-215 verification of a usable key accepts, and batches agree.
func TestExpandedKeysVerifyAsPlain(t *testing.T) {
	_, to := testKey(499)
	cache := newSigCache()
	var ps []*parsedTx
	for i := range 300 {
		priv, _ := testKey(500 + i%7) // signers repeat: cache hits
		raw := sign(t, priv, uint64(i), &Transfer{To: to, Amount: uint64(i + 1)})
		switch i % 3 {
		case 1:
			raw = badSig(raw)
		case 2:
			raw = append([]byte(nil), raw...)
			raw[len(raw)-sigSize-1] ^= 1 // the signed amount
		}
		p := parseTx(raw)
		if p.err != nil {
			t.Fatal(p.err)
		}
		want := verifySig(p.tx.Signer, signedMessage(p.unsigned), p.sig) && !weakSigner(p.tx.Signer)
		if got := p.checkSig(cache) == nil; got != want {
			t.Fatalf("tx %d: cached check %v, plain ZIP-215 %v", i, got, want)
		}
		q := parseTx(raw)
		if got := q.checkSig(nil) == nil; got != want {
			t.Fatalf("tx %d: uncached check %v, plain ZIP-215 %v", i, got, want)
		}
		if want {
			r := parseTx(raw)
			if err := r.verifiable(cache); err != nil {
				t.Fatal(err)
			}
			ps = append(ps, &r)
		}
	}
	if len(ps) < 50 || !batchValid(ps) {
		t.Fatalf("a batch of %d valid signatures failed", len(ps))
	}
}
