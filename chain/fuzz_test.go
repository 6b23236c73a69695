package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fuzzBodies is one body of every kind, for seeds.
func fuzzBodies() []Body {
	_, a := testKey(2)
	p := DefaultHyperparams()
	p.Yuma3, p.CommitReveal = true, true
	return []Body{
		&Transfer{To: a, Amount: 12345},
		&CreateSubnet{Params: p},
		&SetHyperparams{Netuid: 3, Params: p},
		&Register{Netuid: 1, Hotkey: a, MaxBurn: 1 << 40},
		&ServeAxon{Netuid: 1, IP: ipv4(192, 168, 1, 2), Port: 8091, Protocol: 2},
		&AddStake{Hotkey: a, Amount: 7},
		&RemoveStake{Hotkey: a, Amount: 7},
		&SetWeights{Netuid: 1, UIDs: []uint16{0, 3}, Values: []uint16{1, 65535}, VersionKey: 2},
		&CommitWeights{Netuid: 1, Hash: sha256.Sum256([]byte("weights"))},
		&RevealWeights{Netuid: 1, UIDs: []uint16{3}, Values: []uint16{9}, Salt: []uint16{1, 2, 3}, VersionKey: 2},
		&SetEmission{PerBlock: Unit, Shares: []SubnetShare{{Netuid: 1, Share: 3}}},
		&CommitDatasetRoot{Netuid: 1, Root: sha256.Sum256([]byte("dataset")), Records: 1234, Chunks: 2},
	}
}

// fuzzSeedTxs are valid signed transactions of every kind, and a few
// broken ones.
func fuzzSeedTxs() map[string][]byte {
	priv, _ := testKey(1)
	out := map[string][]byte{}
	for i, b := range fuzzBodies() {
		raw, err := SignTx(priv, testChainID, uint64(i*1000), proved(b, testChainID, priv))
		if err != nil {
			panic(err)
		}
		out["valid_"+b.Kind().String()] = raw
		// The wrapped form FuzzDecodeTx also reads: kind, then body.
		e := &enc{b: []byte{byte(b.Kind())}}
		b.encode(e)
		out["body_"+b.Kind().String()] = e.b
	}
	tr := out["valid_transfer"]
	out["truncated"] = tr[:len(tr)-1]
	out["trailing"] = append(bytes.Clone(tr), 0)
	out["empty"] = nil
	return out
}

// signedHeader is the signed header of a transaction of kind by key 1.
func signedHeader(kind byte, nonce uint64) []byte {
	_, id := testKey(1)
	e := &enc{}
	e.u8(txVersion)
	e.u8(kind)
	e.u8(uint8(len(testChainID)))
	e.b = append(e.b, testChainID...)
	e.id(id)
	e.u64(nonce)
	e.u64(0) // valid until any block
	return e.b
}

// FuzzDecodeTx: DecodeTx never panics, every rejection has a code and a
// message, and every accepted transaction verifies and is in canonical
// form. The input is also read as a kind byte and a body, signed with a
// known key: then it is rejected only as malformed or of an unknown kind,
// and if accepted, SignTx of the decoded fields gives the same bytes.
func FuzzDecodeTx(f *testing.F) {
	for _, raw := range fuzzSeedTxs() {
		f.Add(raw)
	}
	priv, id := testKey(1)
	f.Fuzz(func(t *testing.T, data []byte) {
		tx, err := DecodeTx(data)
		if err != nil {
			if err.Code == CodeOK || err.Msg == "" {
				t.Fatalf("empty rejection %+v", err)
			}
		} else {
			unsigned, sig := data[:len(data)-sigSize], data[len(data)-sigSize:]
			if !ed25519.Verify(tx.Signer[:], signedMessage(unsigned), sig) {
				t.Fatalf("accepted a transaction that does not verify")
			}
			if tx.Hash != sha256.Sum256(data) {
				t.Fatalf("hash is not of the raw bytes")
			}
			e := &enc{}
			e.u8(txVersion)
			e.u8(uint8(tx.Kind))
			e.u8(uint8(len(tx.ChainID)))
			e.b = append(e.b, tx.ChainID...)
			e.id(tx.Signer)
			e.u64(tx.Nonce)
			e.u64(tx.ValidUntil)
			tx.Body.encode(e)
			if !bytes.Equal(e.b, unsigned) {
				t.Fatalf("accepted a non-canonical encoding:\n%x\n%x", unsigned, e.b)
			}
		}
		if len(data) == 0 {
			return
		}
		nonce := uint64(len(data))
		raw := signRaw(priv, append(signedHeader(data[0], nonce), data[1:]...))
		tx, err = DecodeTx(raw)
		if err != nil {
			// A registration's body carries a signature of its own,
			// which random bytes do not make.
			badProof := err.Code == CodeBadHotkeyProof && Kind(data[0]) == KindRegister
			if err.Code != CodeMalformed && err.Code != CodeUnknownKind && !badProof {
				t.Fatalf("validly signed transaction rejected with %s: %s", err.Code, err.Msg)
			}
			return
		}
		if tx.Signer != id || tx.Nonce != nonce || tx.ChainID != testChainID || tx.Kind != Kind(data[0]) || tx.Body.Kind() != tx.Kind {
			t.Fatalf("decoded header %+v", tx)
		}
		again, serr := SignTx(priv, testChainID, nonce, tx.Body)
		if serr != nil {
			t.Fatal(serr)
		}
		if !bytes.Equal(again, raw) {
			t.Fatalf("SignTx of the decoded body differs:\n%x\n%x", raw, again)
		}
		tx2, err := DecodeTx(again)
		if err != nil || !reflect.DeepEqual(tx2, tx) {
			t.Fatalf("round trip: %+v %v", tx2, err)
		}
	})
}

// FuzzSignature: flipping any bit of a valid transaction makes DecodeTx
// reject it; it is never accepted, under its signer or another.
func FuzzSignature(f *testing.F) {
	for name, raw := range fuzzSeedTxs() {
		if strings.HasPrefix(name, "valid_") {
			f.Add(raw, uint32(0))
			f.Add(raw, uint32(8*len(raw)-1))
			f.Add(raw, uint32(8*(3+len(testChainID))+5)) // in the signer
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, bit uint32) {
		orig, err := DecodeTx(raw)
		if err != nil {
			return
		}
		bit %= uint32(8 * len(raw))
		bad := bytes.Clone(raw)
		bad[bit/8] ^= 1 << (bit % 8)
		tx, err := DecodeTx(bad)
		if err == nil {
			t.Fatalf("bit %d flipped and accepted: signer %s (was %s)", bit, tx.Signer, orig.Signer)
		}
		if err.Code == CodeOK || err.Msg == "" {
			t.Fatalf("empty rejection %+v", err)
		}
	})
}

// TestWriteFuzzSeeds regenerates testdata/fuzz when AGORA_WRITE_FUZZ_SEEDS
// is set; otherwise it checks that the committed seeds are there.
func TestWriteFuzzSeeds(t *testing.T) {
	seeds := fuzzSeedTxs()
	write := os.Getenv("AGORA_WRITE_FUZZ_SEEDS") != ""
	for _, target := range []string{"FuzzDecodeTx", "FuzzSignature"} {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, raw := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(raw)))
			if target == "FuzzSignature" {
				if !strings.HasPrefix(name, "valid_") {
					continue
				}
				content += fmt.Sprintf("uint32(%d)\n", 8*(3+len(testChainID))+3)
			}
			path := filepath.Join(dir, name)
			if write {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != content {
				t.Errorf("%s is missing or stale (run with AGORA_WRITE_FUZZ_SEEDS=1): %v", path, err)
			}
		}
	}
}
