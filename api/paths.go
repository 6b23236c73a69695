package api

// The paths of the daemons' HTTP endpoints. A miner serves the first four
// on its axon, a validator the last on its status listener.
const (
	// PathCompletions takes a CompletionRequest and answers a
	// CompletionResponse (OpenAI's legacy completions endpoint).
	PathCompletions = "/v1/completions"
	// PathPreferenceTasks takes PreferenceTasks and answers {"accepted": n}.
	PathPreferenceTasks = "/v1/preference/tasks"
	// PathPreferenceLabels takes a PreferenceLabelsRequest and answers
	// PreferenceLabels.
	PathPreferenceLabels = "/v1/preference/labels"
	// PathPreferenceResults takes PreferenceResults and answers
	// {"accepted": n}.
	PathPreferenceResults = "/v1/preference/results"
	// PathScores answers ValidatorScores.
	PathScores = "/scores"
)
