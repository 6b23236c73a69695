// Package rlhf holds Agora's human preference data: the tasks a validator
// sends (a prompt and two completions), the labels that labelers give them
// on a miner's labelling page, the durable store those labels are written
// to before anyone acknowledges them, and the export that turns accepted
// labels into a preference dataset whose Merkle root validators commit on
// chain (DESIGN.md sections 8 and 9).
//
// # Durability
//
// A [Store] is an append-only log file. [Store.Append] returns nil only
// after the label's record has been written and fsynced, so a crash (kill
// -9, power loss on a disk that honours fsync) never loses a label that a
// labeler saw acknowledged. Appends from many goroutines are group
// committed: one writer goroutine writes every record that is waiting with
// one write and one fsync, then wakes all their callers. A label is keyed
// by (TaskID, LabelerID) and stored at most once. On open the log is read
// back; a torn record at the end (a crash in the middle of a write) is cut
// off, a damaged record with valid records after it is reported as an
// error with its offset and never skipped.
//
// # Dataset
//
// [Export] writes the accepted labels that express a preference (choice a
// or b) as JSON Lines in Hugging Face TRL's standard explicit-prompt
// preference format ({"prompt", "chosen", "rejected"} plus metadata), in
// content-addressed chunks, with a manifest.json that lists the chunks and
// holds the RFC 6962 Merkle root over their SHA-256 hashes. The same
// labels and tasks always give the same bytes, chunks and root. [Verify]
// checks a copy of an export against its manifest; comparing the
// manifest's root with the one committed on chain checks it against the
// chain.
package rlhf
