package chain

import (
	"encoding/hex"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Dataset roots (DESIGN.md section 9). A validator exports the labels it
// accepted as a preference dataset (rlhf.Export) and commits the export
// manifest's Merkle root with commit_dataset_root, so that anyone given a
// copy can check it against the chain. Each subnet keeps the latest
// MaxDatasetRoots commits, oldest first; a subnet without any has no
// record at all, so the app hash of a chain that never commits one is what
// it was before dataset roots existed.

// MaxDatasetRoots is how many committed dataset roots a subnet keeps: a
// commit beyond it drops the oldest.
const MaxDatasetRoots = 64

// datasetRootSize is a DatasetRoot's stored size: root, records, chunks,
// hotkey and block.
const datasetRootSize = 32 + 8 + 4 + 32 + 8

// DatasetRoot is one committed dataset root: the export's Merkle root and
// size, the validator hotkey that committed it and the block it was
// committed in.
type DatasetRoot struct {
	Root    [32]byte
	Records uint64
	Chunks  uint32
	Hotkey  AccountID
	Block   uint64
}

// DatasetRootEvent is the type of the event a commit_dataset_root emits
// after its transaction event, with the attributes netuid, root (hex),
// records, chunks and hotkey (hex); netuid, root and hotkey are indexed.
const DatasetRootEvent = "dataset_root"

// commitDatasetRoot appends the root to the subnet's list. The signer must
// be registered on the subnet and hold a validator permit; the export must
// be non-empty with no more chunks than records; and a hotkey may commit
// once per weights_rate_limit blocks on a subnet (the transaction is free,
// so this bounds it, as the rate limit bounds set_weights). The limit is
// read from the hotkey's latest root still in the list.
func (s *State) commitDatasetRoot(hotkey AccountID, b *CommitDatasetRoot, blk Block) ([]abci.EventAttribute, []abci.Event, *TxError) {
	sn, uid, n, err := s.registeredNeuron(hotkey, b.Netuid)
	if err != nil {
		return nil, nil, err
	}
	if !n.Permit {
		return nil, nil, reject(CodeNoPermit, "uid %d (hotkey %s) has no validator permit on subnet %d: only validators with a permit commit dataset roots",
			uid, hotkey, b.Netuid)
	}
	switch {
	case b.Records == 0 || b.Chunks == 0:
		return nil, nil, reject(CodeBadDataset, "dataset of %d records in %d chunks: an empty export has nothing to commit", b.Records, b.Chunks)
	case uint64(b.Chunks) > b.Records:
		return nil, nil, reject(CodeBadDataset, "dataset of %d records in %d chunks: every chunk of an export holds at least one record", b.Records, b.Chunks)
	}
	ds := s.datasets[b.Netuid]
	limit := sn.Params.WeightsRateLimit
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Hotkey != hotkey {
			continue
		}
		if last := ds[i].Block; blk.Height-last < limit {
			return nil, nil, reject(CodeDatasetRateLimited, "hotkey %s committed a dataset root at block %d; subnet %d allows one every %d blocks (weights_rate_limit), the next at block %d",
				hotkey, last, b.Netuid, limit, last+limit)
		}
		break
	}
	if len(ds) >= MaxDatasetRoots {
		ds = ds[len(ds)-MaxDatasetRoots+1:]
	}
	next := make([]DatasetRoot, 0, len(ds)+1)
	next = append(append(next, ds...), DatasetRoot{Root: b.Root, Records: b.Records, Chunks: b.Chunks, Hotkey: hotkey, Block: blk.Height})
	s.setDatasets(b.Netuid, next)
	netuid := u64s(uint64(b.Netuid))
	return []abci.EventAttribute{
			{Key: "netuid", Value: netuid, Index: true},
			{Key: "uid", Value: u64s(uint64(uid))},
		}, []abci.Event{{Type: DatasetRootEvent, Attributes: []abci.EventAttribute{
			{Key: "netuid", Value: netuid, Index: true},
			{Key: "root", Value: hex.EncodeToString(b.Root[:]), Index: true},
			{Key: "records", Value: u64s(b.Records)},
			{Key: "chunks", Value: u64s(uint64(b.Chunks))},
			{Key: "hotkey", Value: hotkey.String(), Index: true},
		}}}, nil
}

// DatasetsView is a subnet's committed dataset roots, oldest first (newest
// last): the latest Max of them.
type DatasetsView struct {
	Netuid uint16            `json:"netuid"`
	Max    int               `json:"max"`
	Roots  []DatasetRootView `json:"roots"`
}

// DatasetRootView is one committed dataset root as queries show it: the
// root in lower-case hex, as in an export's manifest.json, and the hotkey
// in hex.
type DatasetRootView struct {
	Root    string `json:"root"`
	Records uint64 `json:"records"`
	Chunks  uint32 `json:"chunks"`
	Hotkey  string `json:"hotkey"`
	Block   uint64 `json:"block"`
}

// datasetsView answers QueryDatasets.
func (s *State) datasetsView(netuid uint16) (DatasetsView, error) {
	if _, ok := s.subnets[netuid]; !ok {
		return DatasetsView{}, fmt.Errorf("no subnet %d", netuid)
	}
	v := DatasetsView{Netuid: netuid, Max: MaxDatasetRoots, Roots: []DatasetRootView{}}
	for _, r := range s.datasets[netuid] {
		v.Roots = append(v.Roots, DatasetRootView{Root: hex.EncodeToString(r.Root[:]), Records: r.Records, Chunks: r.Chunks,
			Hotkey: r.Hotkey.String(), Block: r.Block})
	}
	return v, nil
}
