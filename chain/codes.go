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
