// Package api is the wire contract between Agora's daemons: the HTTP paths
// and the JSON bodies that a validator sends a miner, that a miner answers,
// and that a validator publishes for the dashboard. It holds types and
// constants only, and imports nothing outside the standard library, so that
// miner, validator and dashboard can each depend on it without depending on
// one another (DESIGN.md section 2; internal/depcheck keeps those arrows).
//
// # Paths
//
//	POST PathCompletions         validator → miner: CompletionRequest, answered with a CompletionResponse
//	POST PathPreferenceTasks     validator → miner: PreferenceTasks for the miner's labelers
//	POST PathPreferenceLabels    validator → miner: PreferenceLabelsRequest, answered with PreferenceLabels
//	POST PathPreferenceResults   validator → miner: PreferenceResults, how the labelers did on traps
//	GET  PathScores              dashboard → validator: ValidatorScores
//
// Requests to a miner are signed (package protocol's Epistula v2 headers)
// and so are its answers; /scores is public. The completion types are
// the part of OpenAI's completions format that a validator sends and reads:
// a miner speaks the whole format to any client, and its own decoding of a
// request (absent fields taking OpenAI's defaults) is the miner's business.
//
// A change of a field's JSON name here is a change of the protocol between
// every validator and every miner on a subnet: keep names as they are, and
// add fields instead.
package api
