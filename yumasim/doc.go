// Package yumasim is the multi-epoch Yuma simulator: subnet owners run a
// scenario (stakes, weights, hyperparameters and the changes to them over
// time) through consensus.Epoch to see what a hyperparameter does before
// they set it on chain.
//
// ParseScenario reads a scenario file, Run computes it (a pure function:
// integer arithmetic, no I/O), and WriteTable, WriteJSON, WriteSVG and
// WritePNG render the results. Floats appear only in the plotting code.
//
// # Scenario format
//
// A scenario is one JSON object. Decoding is strict: an unknown key, a
// number out of range or a uid that is not one is an error naming the
// field, e.g. `changes[2].weights["7"]: uid 7 is out of range (n = 5)`.
//
//	{
//	  "comment": "free text (optional)",
//	  "n": 5,                          // number of uids, 1..4096 (required)
//	  "epochs": 20,                    // epochs to run, 1..100000 (required)
//	  "params": {"kappa": 32767, ...}, // consensus.Params keys; missing keys
//	                                   // take consensus.DefaultParams();
//	                                   // "tempo" (> 0) is the blocks per epoch
//	  "emission": 1000000000,          // base units per epoch (default 1e9)
//	  "start_block": 360,              // block of epoch 0 (default: tempo)
//	  "owner_uid": null,               // the subnet owner's uid, or null
//	  "stake": [8, 1, 1, 0, 0],        // initial stake per uid (required)
//	  "weights": [[[3, 65535], [4, 0]], ..., []],
//	                                   // initial rows, one per uid (optional)
//	  "registration": [0, 0, 0, 0, 0], // block_at_registration (default 0s;
//	                                   // each must be before start_block)
//	  "permits": [true, ...],          // permits at epoch 0 (default: those a
//	                                   // warm-up epoch grants: the top
//	                                   // max_allowed_validators by stake)
//	  "names": ["A", "B", "C", "S1", "S2"], // labels (default "uid i")
//	  "changes": [
//	    {"epoch": 0, "copy": {"uid": 2, "from": "consensus", "lag": 1}},
//	    {"epoch": 1, "weights": {"0": [[3, 0], [4, 65535]]}},
//	    {"epoch": 3, "stake": {"2": 500}, "params": {"kappa": 39321}},
//	    {"epoch": 9, "stop": [1], "resume": [2], "comment": "..."}
//	  ],
//	  "mechanisms": [                  // incentive mechanisms 1, 2, ... (optional)
//	    {"weights": [...], "changes": [{"epoch": 2, "weights": {...}}]}
//	  ],
//	  "mechanism_emission_split": [45875, 19660] // per mechanism, sum 65535
//	                                   // (optional; default even)
//	}
//
// Mechanisms are the chain's (DESIGN.md section 3): the top-level weights
// and changes are mechanism 0's, and each entry of "mechanisms" is the next
// mechanism's own initial weights and weight changes (weights, copy, stop,
// resume; stake and params are the subnet's, changed at the top level).
// Each epoch runs once per mechanism on its share of the emission, split as
// on chain, and the epoch's output is the aggregate the chain stores:
// emission summed, consensus, incentive, dividends and validator trust
// weighted by the split; each mechanism's own output is under "mechanisms".
//
// A weight row is a list of [uid, value] pairs with u16 values, as a
// validator passes them to set_weights; the simulator stores the row
// max-upscaled as set_weights does (weights.MaxUpscale: the largest value
// becomes 65535), so only ratios matter. Zero values are kept as entries,
// which matters to Yuma3's bonds (a bond whose column has no entry is
// dropped, one with a zero entry decays).
//
// Each change applies just before the epoch it names; changes must be in
// non-decreasing epoch order, and those for the same epoch apply in file
// order. Its keys, all optional, apply in this order:
//   - "params": hyperparameters that change from this epoch on;
//   - "stake": {"uid": stake} sets stakes;
//   - "weights": {"uid": row} are set_weights calls at the epoch's block:
//     the row is stored, the uid's last_update becomes that block, and
//     any copying by the uid ends;
//   - "copy": the weight-copying attack. From this epoch on, at every epoch
//     e the uid sets as its weights the consensus vector of epoch e−lag
//     (lag ≥ 1, default 1), max-upscaled to u16 as set_weights stores it
//     (integer arithmetic, round half away from zero), keeping its
//     non-zero entries. Before epoch lag there is nothing to copy and the
//     uid keeps its weights. "from" must be "consensus". Copying is a mode,
//     not a one-off, because that is what a copier does;
//   - "stop": uids that stop re-setting their weights (and stop copying);
//   - "resume": uids that re-set their weights every epoch again.
//
// # Time
//
// Epoch 0 runs at start_block and epoch e at the block of epoch e−1 plus
// the tempo in force at e. Each epoch reads LastEpochBlock = the previous
// epoch's block (0 at epoch 0). By default every uid re-sets its weights at
// every epoch's block, so its last_update is that block and nobody goes
// inactive; a stopped uid's last_update stays at the last block it set
// weights, and it goes inactive once activity_cutoff blocks have passed.
// Validator permits and bonds are carried from each epoch to the next, as
// the chain stores them.
//
// # Output
//
// Run returns one EpochResult per epoch: the block, the inputs summary
// (params, stake, permits, last updates, weights, copying uids) and the
// consensus.Output, bonds included. WriteTable prints them as text with
// four-place decimals computed from the u16 values; WriteJSON writes them
// for machines; WriteSVG and WritePNG plot dividends and incentive per uid
// over the epochs, both drawn from one layout (the PNG in a bitmap font).
package yumasim
