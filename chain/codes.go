package chain

// Code is a transaction's result code. Zero is success; every rejection has
// its own code so that clients can act on it without parsing the log text,
// which says what was wrong in words.
type Code uint32

// Result codes. Their values are part of the protocol: never renumber.
const (
	CodeOK Code = iota
	CodeMalformed
	CodeWrongChain
	CodeBadSignature
	CodeBadNonce
	CodeInsufficientBalance
	CodeUnknownKind
	CodeUnknownSubnet
	CodeUnknownAccount
	CodeNotOwner
	CodeBadParams
	CodeAlreadyRegistered
	CodeSubnetFull
	CodeBurnTooHigh
	CodeHotkeyOwnedElsewhere
	CodeNotRegistered
	CodeInsufficientStake
	CodeSubnetLimit
	CodeBadAmount
	CodeBadWeights           // the weights package rejected the vector
	CodeOutdatedVersion      // version key below the subnet's weights_version
	CodeRateLimited          // weights set or committed too soon
	CodeNoPermit             // weights other than a self-weight without a validator permit
	CodeCommitRevealOn       // set_weights on a subnet that uses commit-reveal
	CodeCommitRevealOff      // commit or reveal on a subnet that does not
	CodeTooManyCommits       // MaxPendingCommits unrevealed commits already
	CodeNoMatchingCommit     // no pending commit has the revealed hash
	CodeRevealTooEarly       // the commit's reveal epoch has not come
	CodeRevealExpired        // the commit's reveal epoch has passed
	CodeNotGovernance        // set_emission not signed by the governance key
	CodeServingRateLimited   // serve_axon sooner than serving_rate_limit allows
	CodeTooManyPending       // CheckTx only: MaxPendingTxs of the sender's already in the mempool
	CodeBadDataset           // commit_dataset_root of an empty or inconsistent export
	CodeDatasetRateLimited   // commit_dataset_root sooner than weights_rate_limit allows
	CodeTooManyRegistrations // MaxRegistrationsPerTarget × target_registrations this interval already
	CodeBadHotkeyProof       // register without the hotkey's signature letting the signer own it
	CodeExpired              // a block after the transaction's valid_until
	CodeUnknownMechanism     // weights for a mechanism the subnet does not have
)

var codeNames = [...]string{
	CodeOK:                   "ok",
	CodeMalformed:            "malformed",
	CodeWrongChain:           "wrong_chain",
	CodeBadSignature:         "bad_signature",
	CodeBadNonce:             "bad_nonce",
	CodeInsufficientBalance:  "insufficient_balance",
	CodeUnknownKind:          "unknown_kind",
	CodeUnknownSubnet:        "unknown_subnet",
	CodeUnknownAccount:       "unknown_account",
	CodeNotOwner:             "not_owner",
	CodeBadParams:            "bad_params",
	CodeAlreadyRegistered:    "already_registered",
	CodeSubnetFull:           "subnet_full",
	CodeBurnTooHigh:          "burn_too_high",
	CodeHotkeyOwnedElsewhere: "hotkey_owned_elsewhere",
	CodeNotRegistered:        "not_registered",
	CodeInsufficientStake:    "insufficient_stake",
	CodeSubnetLimit:          "subnet_limit",
	CodeBadAmount:            "bad_amount",
	CodeBadWeights:           "bad_weights",
	CodeOutdatedVersion:      "outdated_version",
	CodeRateLimited:          "rate_limited",
	CodeNoPermit:             "no_validator_permit",
	CodeCommitRevealOn:       "commit_reveal_on",
	CodeCommitRevealOff:      "commit_reveal_off",
	CodeTooManyCommits:       "too_many_commits",
	CodeNoMatchingCommit:     "no_matching_commit",
	CodeRevealTooEarly:       "reveal_too_early",
	CodeRevealExpired:        "reveal_expired",
	CodeNotGovernance:        "not_governance",
	CodeServingRateLimited:   "serving_rate_limited",
	CodeTooManyPending:       "too_many_pending",
	CodeBadDataset:           "bad_dataset",
	CodeDatasetRateLimited:   "dataset_rate_limited",
	CodeTooManyRegistrations: "too_many_registrations",
	CodeBadHotkeyProof:       "bad_hotkey_proof",
	CodeExpired:              "expired",
	CodeUnknownMechanism:     "unknown_mechanism",
}

// String returns the code's stable name, e.g. "bad_nonce".
func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return "unknown"
}

// TxError is why a transaction was rejected: a code and a message for
// people. Handlers return it; the app turns it into a result, never an
// ABCI error.
type TxError struct {
	Code Code
	Msg  string
}

func (e *TxError) Error() string { return e.Code.String() + ": " + e.Msg }

// reject builds a TxError with a formatted message.
func reject(code Code, format string, args ...any) *TxError {
	return &TxError{Code: code, Msg: sprintf(format, args...)}
}
