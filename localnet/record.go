package localnet

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
)

// RecordFile is the file, in a localnet's Dir, where a running localnet
// says where its chain answers, so that other commands find it without
// --node (DESIGN.md section 10).
const RecordFile = "localnet.json"

// Record is the content of RecordFile.
type Record struct {
	// RPC is node 0's RPC address, tcp://127.0.0.1:PORT.
	RPC string `json:"rpc"`
	// PID is the process that runs the localnet; the record is stale once
	// it is gone.
	PID int `json:"pid"`
}

// WriteRecord writes r to dir/RecordFile atomically (a reader sees the
// old file or the new one, never part of one) and returns a function that
// removes it again, unless another localnet has replaced it since.
func WriteRecord(dir string, r Record) (remove func(), err error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("localnet: record: %w", err)
	}
	path := filepath.Join(dir, RecordFile)
	tmp, err := os.CreateTemp(dir, RecordFile+".*")
	if err != nil {
		return nil, fmt.Errorf("localnet: record: %w", err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("localnet: record: %w", err)
	}
	return func() {
		if cur, err := ReadRecord(dir); err == nil && cur == r {
			_ = os.Remove(path)
		}
	}, nil
}

// ReadRecord reads dir/RecordFile. An error wrapping fs.ErrNotExist means
// no localnet has run there, or the last one stopped cleanly.
func ReadRecord(dir string) (Record, error) {
	var r Record
	data, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%s: %w", filepath.Join(dir, RecordFile), err)
	}
	if r.RPC == "" || r.PID <= 0 {
		return r, fmt.Errorf("%s: no rpc address or process id", filepath.Join(dir, RecordFile))
	}
	return r, nil
}

// Alive reports whether the record's process still runs (on Unix, whether
// signal 0 reaches it; a process of another user counts as running).
func (r Record) Alive() bool {
	p, err := os.FindProcess(r.PID)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// SubnetOwnerBalance is what the genesis of a localnet gives the key that
// FundingKey returns: the demo's subnet owner, which pays for the subnet,
// the registrations and the stakes, and funds newcomers (Fund).
const SubnetOwnerBalance = 1_000_000 * chain.Unit

// FundingKey returns the key that funds newcomers of the localnet in dir:
// the owner in dir/keys.json, which the genesis of the demo (and of a
// chain-only localnet) credits with SubnetOwnerBalance. It creates
// keys.json with fresh keys if there is none, for a new chain's genesis.
func FundingKey(dir string) (*keys.PrivateKey, error) {
	ros, err := loadRoster(filepath.Join(dir, "keys.json"), nil)
	if err != nil {
		return nil, err
	}
	return keyOf(ros.Owner), nil
}

// ExistingFundingKey is FundingKey for a localnet that must already
// exist: it never writes keys.json.
func ExistingFundingKey(dir string) (*keys.PrivateKey, error) {
	path := filepath.Join(dir, "keys.json")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("localnet: no demo keys in %s (%w): start the demo there first (agora localnet, or agora localnet --chain-only)", dir, err)
	}
	return FundingKey(dir)
}

// Fund transfers amount base units from the funding key to to through
// client and waits for the block that includes it. It is how the demo
// funds a newcomer's wallet while it runs (agora localnet fund, and
// --balance on a resumed demo).
func Fund(ctx context.Context, client *chainclient.Client, from *keys.PrivateKey, to chain.AccountID, amount uint64) (*chainclient.Result, error) {
	if amount == 0 {
		return nil, errors.New("localnet: fund: amount must be positive")
	}
	r, err := client.SendTx(ctx, from, &chain.Transfer{To: to, Amount: amount})
	if err != nil {
		return r, fmt.Errorf("localnet: fund %s: %w", keys.PublicKey(to).Address(), err)
	}
	return r, nil
}

// FundAll funds each of balances through Fund, in order, and says so: how
// a resumed localnet applies --balance, whose genesis is already written.
func FundAll(ctx context.Context, client *chainclient.Client, from *keys.PrivateKey, balances []chain.GenesisBalance, say func(string, ...any)) error {
	for _, b := range balances {
		raw, err := hex.DecodeString(b.Account)
		if err != nil {
			return fmt.Errorf("localnet: balance %s: %w", b.Account, err)
		}
		pk, err := keys.PublicKeyFromBytes(raw)
		if err != nil {
			return fmt.Errorf("localnet: balance %s: %w", b.Account, err)
		}
		if _, err := Fund(ctx, client, from, chain.AccountID(pk), b.Amount); err != nil {
			return fmt.Errorf("%w (the chain is resumed, so --balance is a transfer from the demo's funding key; --reset starts a new chain with it in the genesis)", err)
		}
		say("funded %s with %s AGR (a transfer: the chain was resumed)", pk.Address(), fmt.Sprintf("%d.%09d", b.Amount/chain.Unit, b.Amount%chain.Unit))
	}
	return nil
}
