package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// AccountID is an account's ed25519 public key. Coldkeys (which hold
// balances and own hotkeys) and hotkeys (a neuron's identity) are both
// accounts; every account has a balance and a nonce.
type AccountID [ed25519.PublicKeySize]byte

// String returns the key in hex; wallets show the checksummed address.
func (a AccountID) String() string { return hex.EncodeToString(a[:]) }

// Kind is a transaction's kind. Values are part of the protocol.
type Kind uint8

// Transaction kinds.
const (
	KindTransfer Kind = iota + 1
	KindCreateSubnet
	KindSetHyperparams
	KindRegister
	KindServeAxon
	KindAddStake
	KindRemoveStake
	KindSetWeights
	KindCommitWeights
	KindRevealWeights
	KindSetEmission
	KindCommitDatasetRoot
	kindEnd // one past the last kind
)

var kindNames = [...]string{
	KindTransfer:          "transfer",
	KindCreateSubnet:      "create_subnet",
	KindSetHyperparams:    "set_hyperparams",
	KindRegister:          "register",
	KindServeAxon:         "serve_axon",
	KindAddStake:          "add_stake",
	KindRemoveStake:       "remove_stake",
	KindSetWeights:        "set_weights",
	KindCommitWeights:     "commit_weights",
	KindRevealWeights:     "reveal_weights",
	KindSetEmission:       "set_emission",
	KindCommitDatasetRoot: "commit_dataset_root",
}

func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Layout of a transaction, in the exact bytes that are signed and sent:
//
//	version   u8   (1)
//	kind      u8
//	chain id  u8 length, then that many bytes (at most 64)
//	signer    32 bytes, the ed25519 public key
//	nonce     u64, the signer's next nonce
//	until     u64, the last block height that may include it; 0: any
//	body      the kind's fields (see each Body type)
//	signature 64 bytes: ed25519 over txDomain followed by every byte above
//
// The node verifies the signature on the bytes it received; nothing is
// re-encoded before verification.
const (
	txVersion    = 1
	txDomain     = "agora/tx/v1\x00"
	maxChainID   = 64
	sigSize      = ed25519.SignatureSize
	maxTxSize    = 64 << 10
	minTxSize    = 2 + 1 + 32 + 8 + 8 + sigSize
	maxAxonProto = 3
)

// Tx is a decoded, signature-checked transaction.
type Tx struct {
	Kind    Kind
	ChainID string
	Signer  AccountID
	Nonce   uint64
	// ValidUntil is the last block height that may include the
	// transaction; 0 means any. A wallet sets it so that a transaction
	// that was not included in time can never be, and the nonce is free
	// for another.
	ValidUntil uint64
	Body       Body
	// Hash is sha256 of the raw bytes: the transaction's id.
	Hash [32]byte
}

// Body is a transaction's kind-specific part.
type Body interface {
	Kind() Kind
	encode(*enc)
	decode(*dec)
}

// Transfer moves Amount from the signer to To.
type Transfer struct {
	To     AccountID
	Amount uint64
}

// CreateSubnet creates a subnet owned by the signer, with Params.
type CreateSubnet struct{ Params Hyperparams }

// SetHyperparams replaces a subnet's hyperparameters; only its owner may.
type SetHyperparams struct {
	Netuid uint16
	Params Hyperparams
}

// Register burns the subnet's registration cost from the signer (a
// coldkey) and registers Hotkey, which the signer then owns, on Netuid. It
// fails if the cost is above MaxBurn, so a price change between signing
// and inclusion cannot overcharge.
//
// Proof is the hotkey's signature of HotkeyProofMessage(chain id, signer):
// the hotkey's holder agreeing that the signer owns it. Without it anyone
// who saw a registration in the mempool could register the same hotkey
// first, under their own coldkey, and own it for good: its take, the
// stake its owner's dividends go to, the miner's earnings.
type Register struct {
	Netuid  uint16
	Hotkey  AccountID
	MaxBurn uint64
	Proof   [sigSize]byte
}

// hotkeyProofDomain separates hotkey proofs from every other message an
// Agora key signs.
const hotkeyProofDomain = "agora/hotkey-owner/v1\x00"

// HotkeyProofMessage is what a hotkey signs to let coldkey own it on the
// chain chainID: the domain, the chain id's length and bytes, the coldkey.
// It names no subnet or nonce: ownership of a hotkey is for good, so the
// one proof serves every registration of it by that coldkey.
func HotkeyProofMessage(chainID string, coldkey AccountID) []byte {
	msg := make([]byte, 0, len(hotkeyProofDomain)+1+len(chainID)+len(coldkey))
	msg = append(msg, hotkeyProofDomain...)
	msg = append(msg, byte(len(chainID)))
	msg = append(append(msg, chainID...), coldkey[:]...)
	return msg
}

// ProveHotkey returns hotkey's signature letting coldkey own it on chainID,
// for Register.Proof.
func ProveHotkey(hotkey ed25519.PrivateKey, chainID string, coldkey AccountID) ([sigSize]byte, error) {
	var proof [sigSize]byte
	if len(chainID) == 0 || len(chainID) > maxChainID {
		return proof, fmt.Errorf("chain: chain id %q: want 1 to %d bytes", chainID, maxChainID)
	}
	if len(hotkey) != ed25519.PrivateKeySize {
		return proof, fmt.Errorf("chain: hotkey's private key has %d bytes, want %d", len(hotkey), ed25519.PrivateKeySize)
	}
	copy(proof[:], ed25519.Sign(hotkey, HotkeyProofMessage(chainID, coldkey)))
	return proof, nil
}

// NewRegister returns coldkey's registration of hotkey on netuid, burning
// at most maxBurn, with the hotkey's proof for chainID.
func NewRegister(chainID string, netuid uint16, hotkey ed25519.PrivateKey, coldkey AccountID, maxBurn uint64) (*Register, error) {
	proof, err := ProveHotkey(hotkey, chainID, coldkey)
	if err != nil {
		return nil, err
	}
	var id AccountID
	copy(id[:], hotkey.Public().(ed25519.PublicKey))
	return &Register{Netuid: netuid, Hotkey: id, MaxBurn: maxBurn, Proof: proof}, nil
}

// VerifyHotkeyProof reports whether proof is hotkey's signature letting
// coldkey own it on chainID, under the rules transactions' signatures
// verify by.
func VerifyHotkeyProof(hotkey AccountID, chainID string, coldkey AccountID, proof [sigSize]byte) bool {
	return verifyHotkeyProof(expandSigner(hotkey), chainID, coldkey, proof)
}

func verifyHotkeyProof(key *voied.ExpandedPublicKey, chainID string, coldkey AccountID, proof [sigSize]byte) bool {
	return key != nil && voied.VerifyExpandedWithOptions(key, HotkeyProofMessage(chainID, coldkey), proof[:], zip215)
}

// ServeAxon publishes where the signer (a registered hotkey) serves.
type ServeAxon struct {
	Netuid   uint16
	IP       [16]byte // IPv6, or IPv4-mapped IPv6
	Port     uint16
	Protocol uint8 // 0 http, 1 https, 2 grpc, 3 ws
}

// AddStake stakes Amount of the signer's (a coldkey's) balance on Hotkey.
type AddStake struct {
	Hotkey AccountID
	Amount uint64
}

// RemoveStake returns Amount of the signer's stake on Hotkey to its balance.
type RemoveStake struct {
	Hotkey AccountID
	Amount uint64
}

// SetWeights sets the signer's (a registered hotkey's) weights on Netuid:
// UIDs[i] gets Values[i]; only the ratios matter. VersionKey must be at
// least the subnet's weights_version. Mechanism is which of the subnet's
// incentive mechanisms the weights are for (0 on a subnet with one).
type SetWeights struct {
	Netuid     uint16
	UIDs       []uint16
	Values     []uint16
	VersionKey uint64
	Mechanism  uint8
}

// CommitWeights commits the signer (a registered hotkey) to weights it
// reveals later on the same mechanism: Hash is weights.CommitHashMechanism
// of the hotkey, Netuid, Mechanism and the reveal's uids, values, salt and
// version key (weights.CommitHash for mechanism 0).
type CommitWeights struct {
	Netuid    uint16
	Hash      [32]byte
	Mechanism uint8
}

// RevealWeights reveals weights committed earlier with CommitWeights on
// Mechanism, in the commit's reveal epoch.
type RevealWeights struct {
	Netuid     uint16
	UIDs       []uint16
	Values     []uint16
	Salt       []uint16
	VersionKey uint64
	Mechanism  uint8
}

// SetEmission is the governance key's: it sets the chain's emission per
// block and, for each listed subnet, its share (a weight: a subnet gets
// share/Σshares of the emission).
type SetEmission struct {
	PerBlock uint64
	Shares   []SubnetShare
}

// CommitDatasetRoot records on chain that the signer (a hotkey registered
// on Netuid with a validator permit) published a preference dataset export
// (rlhf.Export) whose manifest has this Merkle root, number of records and
// number of chunks, so that anyone given a copy can check it against the
// chain (DESIGN.md section 9).
type CommitDatasetRoot struct {
	Netuid  uint16
	Root    [32]byte // the manifest's merkle_root
	Records uint64   // the manifest's records: preference pairs over all chunks
	Chunks  uint32   // the manifest's number of chunks
}

// SubnetShare is one subnet's emission share.
type SubnetShare struct {
	Netuid uint16
	Share  uint32
}

func (Transfer) Kind() Kind          { return KindTransfer }
func (SetWeights) Kind() Kind        { return KindSetWeights }
func (CommitWeights) Kind() Kind     { return KindCommitWeights }
func (RevealWeights) Kind() Kind     { return KindRevealWeights }
func (SetEmission) Kind() Kind       { return KindSetEmission }
func (CreateSubnet) Kind() Kind      { return KindCreateSubnet }
func (SetHyperparams) Kind() Kind    { return KindSetHyperparams }
func (Register) Kind() Kind          { return KindRegister }
func (ServeAxon) Kind() Kind         { return KindServeAxon }
func (AddStake) Kind() Kind          { return KindAddStake }
func (RemoveStake) Kind() Kind       { return KindRemoveStake }
func (CommitDatasetRoot) Kind() Kind { return KindCommitDatasetRoot }

func (b *Transfer) encode(e *enc) { e.id(b.To); e.u64(b.Amount) }
func (b *Transfer) decode(d *dec) { b.To = d.id(); b.Amount = d.u64() }

// Hyperparameters end their bodies: the mechanisms' trailing section
// (Hyperparams.encodeMechanisms) is there only when they are set.
func (b *CreateSubnet) encode(e *enc) { b.Params.encode(e); b.Params.encodeMechanisms(e) }
func (b *CreateSubnet) decode(d *dec) { b.Params.decode(d); b.Params.decodeMechanisms(d) }
func (b *SetHyperparams) encode(e *enc) {
	e.u16(b.Netuid)
	b.Params.encode(e)
	b.Params.encodeMechanisms(e)
}
func (b *SetHyperparams) decode(d *dec) {
	b.Netuid = d.u16()
	b.Params.decode(d)
	b.Params.decodeMechanisms(d)
}
func (b *Register) encode(e *enc) {
	e.u16(b.Netuid)
	e.id(b.Hotkey)
	e.u64(b.MaxBurn)
	e.b = append(e.b, b.Proof[:]...)
}
func (b *Register) decode(d *dec) {
	b.Netuid, b.Hotkey, b.MaxBurn = d.u16(), d.id(), d.u64()
	copy(b.Proof[:], d.take(sigSize))
}
func (b *ServeAxon) encode(e *enc) {
	e.u16(b.Netuid)
	e.b = append(e.b, b.IP[:]...)
	e.u16(b.Port)
	e.u8(b.Protocol)
}
func (b *ServeAxon) decode(d *dec) {
	b.Netuid = d.u16()
	copy(b.IP[:], d.take(16))
	b.Port = d.u16()
	b.Protocol = d.u8()
}
func (b *AddStake) encode(e *enc)    { e.id(b.Hotkey); e.u64(b.Amount) }
func (b *AddStake) decode(d *dec)    { b.Hotkey = d.id(); b.Amount = d.u64() }
func (b *RemoveStake) encode(e *enc) { e.id(b.Hotkey); e.u64(b.Amount) }
func (b *RemoveStake) decode(d *dec) { b.Hotkey = d.id(); b.Amount = d.u64() }

// The weights bodies end with their mechanism, a u8, only when it is not
// 0: a mechanism-0 transaction has the bytes it had before mechanisms.
func encodeMechanism(e *enc, m uint8) {
	if m != 0 {
		e.u8(m)
	}
}

// decodeMechanism reads what encodeMechanism wrote, as the last thing in
// d. An explicit 0 is malformed: mechanism 0 is written as nothing.
func decodeMechanism(d *dec) uint8 {
	if d.err != nil || len(d.b) == 0 {
		return 0
	}
	m := d.u8()
	if m == 0 && d.err == nil {
		d.err = errors.New("mechanism 0 is encoded as no byte, not as a 0")
	}
	return m
}

func (b *SetWeights) encode(e *enc) {
	e.u16(b.Netuid)
	e.u16s(b.UIDs)
	e.u16s(b.Values)
	e.u64(b.VersionKey)
	encodeMechanism(e, b.Mechanism)
}
func (b *SetWeights) decode(d *dec) {
	b.Netuid, b.UIDs, b.Values, b.VersionKey = d.u16(), d.u16s(), d.u16s(), d.u64()
	b.Mechanism = decodeMechanism(d)
}
func (b *CommitWeights) encode(e *enc) {
	e.u16(b.Netuid)
	e.b = append(e.b, b.Hash[:]...)
	encodeMechanism(e, b.Mechanism)
}
func (b *CommitWeights) decode(d *dec) {
	b.Netuid = d.u16()
	copy(b.Hash[:], d.take(32))
	b.Mechanism = decodeMechanism(d)
}
func (b *RevealWeights) encode(e *enc) {
	e.u16(b.Netuid)
	e.u16s(b.UIDs)
	e.u16s(b.Values)
	e.u16s(b.Salt)
	e.u64(b.VersionKey)
	encodeMechanism(e, b.Mechanism)
}
func (b *RevealWeights) decode(d *dec) {
	b.Netuid, b.UIDs, b.Values, b.Salt, b.VersionKey = d.u16(), d.u16s(), d.u16s(), d.u16s(), d.u64()
	b.Mechanism = decodeMechanism(d)
}
func (b *SetEmission) encode(e *enc) {
	e.u64(b.PerBlock)
	e.u32(uint32(len(b.Shares)))
	for _, sh := range b.Shares {
		e.u16(sh.Netuid)
		e.u32(sh.Share)
	}
}
func (b *SetEmission) decode(d *dec) {
	b.PerBlock = d.u64()
	n := d.u32()
	if d.err == nil && uint64(n)*6 > uint64(len(d.b)) {
		d.err = errShort
		return
	}
	b.Shares = nil
	for range n {
		b.Shares = append(b.Shares, SubnetShare{Netuid: d.u16(), Share: d.u32()})
	}
}

func (b *CommitDatasetRoot) encode(e *enc) {
	e.u16(b.Netuid)
	e.b = append(e.b, b.Root[:]...)
	e.u64(b.Records)
	e.u32(b.Chunks)
}
func (b *CommitDatasetRoot) decode(d *dec) {
	b.Netuid = d.u16()
	copy(b.Root[:], d.take(32))
	b.Records, b.Chunks = d.u64(), d.u32()
}

// newBody returns an empty body of kind k, or nil for an unknown kind.
func newBody(k Kind) Body {
	switch k {
	case KindTransfer:
		return &Transfer{}
	case KindCreateSubnet:
		return &CreateSubnet{}
	case KindSetHyperparams:
		return &SetHyperparams{}
	case KindRegister:
		return &Register{}
	case KindServeAxon:
		return &ServeAxon{}
	case KindAddStake:
		return &AddStake{}
	case KindRemoveStake:
		return &RemoveStake{}
	case KindSetWeights:
		return &SetWeights{}
	case KindCommitWeights:
		return &CommitWeights{}
	case KindRevealWeights:
		return &RevealWeights{}
	case KindSetEmission:
		return &SetEmission{}
	case KindCommitDatasetRoot:
		return &CommitDatasetRoot{}
	}
	return nil
}

// SignTx encodes and signs a transaction that any block may include. It is
// what wallets and daemons call; the chain only decodes.
func SignTx(priv ed25519.PrivateKey, chainID string, nonce uint64, body Body) ([]byte, error) {
	return SignTxUntil(priv, chainID, nonce, 0, body)
}

// SignTxUntil is SignTx for a transaction that no block after height
// validUntil may include (0: any may).
func SignTxUntil(priv ed25519.PrivateKey, chainID string, nonce, validUntil uint64, body Body) ([]byte, error) {
	if len(chainID) == 0 || len(chainID) > maxChainID {
		return nil, fmt.Errorf("chain: chain id %q: want 1 to %d bytes", chainID, maxChainID)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("chain: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	e := &enc{b: make([]byte, 0, 160)}
	e.u8(txVersion)
	e.u8(uint8(body.Kind()))
	e.u8(uint8(len(chainID)))
	e.b = append(e.b, chainID...)
	e.b = append(e.b, priv.Public().(ed25519.PublicKey)...)
	e.u64(nonce)
	e.u64(validUntil)
	body.encode(e)
	sig := ed25519.Sign(priv, signedMessage(e.b))
	return append(e.b, sig...), nil
}

// signedMessage is what a transaction's signature covers: the domain, then
// every byte before the signature.
func signedMessage(unsigned []byte) []byte {
	msg := make([]byte, 0, len(txDomain)+len(unsigned))
	return append(append(msg, txDomain...), unsigned...)
}

// SignedMessage returns what the signature of the signed transaction raw
// covers (raw without its signature, after the domain), for tools that
// check signatures themselves; nil if raw is too short to be one.
func SignedMessage(raw []byte) []byte {
	if len(raw) < minTxSize {
		return nil
	}
	return signedMessage(raw[:len(raw)-sigSize])
}

// DecodeTx parses raw transaction bytes and checks the signature over
// exactly those bytes. It checks the form only: chain id, nonce, balances
// and the body's meaning are checked against state when it is applied.
func DecodeTx(raw []byte) (*Tx, *TxError) { return decodeTx(raw, nil) }

// decodeTx is DecodeTx that skips verifying a signature the cache has seen
// verify for these exact bytes (the hash covers the signature), and
// remembers the ones it verifies.
func decodeTx(raw []byte, cache *sigCache) (*Tx, *TxError) {
	p := parseTx(raw)
	if err := p.checkSig(cache); err != nil {
		return nil, err
	}
	return p.tx, nil
}

// parsedTx is a transaction decoded but whose signature is not checked yet:
// parseTx's outcome. Exactly one of tx and err is set.
type parsedTx struct {
	tx *Tx
	// unsigned is every byte before the signature, sig the signature.
	unsigned, sig []byte
	err           *TxError
	// verified says the signature was verified ahead (parseBlock).
	verified bool
	// key is the signer's expanded key, once verifiable has found it
	// usable.
	key *voied.ExpandedPublicKey
}

// parseTx decodes raw and checks its form, everything DecodeTx checks but
// the signature.
func parseTx(raw []byte) parsedTx {
	if len(raw) < minTxSize || len(raw) > maxTxSize {
		return parsedTx{err: reject(CodeMalformed, "transaction has %d bytes, want %d to %d", len(raw), minTxSize, maxTxSize)}
	}
	if raw[0] != txVersion {
		return parsedTx{err: reject(CodeMalformed, "transaction version %d, want %d", raw[0], txVersion)}
	}
	unsigned, sig := raw[:len(raw)-sigSize], raw[len(raw)-sigSize:]
	d := &dec{b: unsigned[1:]}
	tx := &Tx{Kind: Kind(d.u8()), Hash: sha256.Sum256(raw)}
	tx.ChainID = string(d.take(int(d.u8())))
	tx.Signer = d.id()
	tx.Nonce = d.u64()
	tx.ValidUntil = d.u64()
	if d.err != nil {
		return parsedTx{err: reject(CodeMalformed, "transaction header: %v", d.err)}
	}
	if tx.Body = newBody(tx.Kind); tx.Body == nil {
		return parsedTx{err: reject(CodeUnknownKind, "unknown transaction kind %d", uint8(tx.Kind))}
	}
	tx.Body.decode(d)
	if err := d.done(); err != nil {
		return parsedTx{err: reject(CodeMalformed, "%s body: %v", tx.Kind, err)}
	}
	return parsedTx{tx: tx, unsigned: unsigned, sig: sig}
}

// checkSig finishes decodeTx: it returns p's error, or checks that the
// signer is a usable key, the signature verifies (unless it was verified
// ahead) and a registration's hotkey proof verifies, unless the cache has
// seen these exact bytes pass all of it. It adds the transactions that
// pass to the cache.
func (p *parsedTx) checkSig(cache *sigCache) *TxError {
	if p.err != nil {
		return p.err
	}
	tx := p.tx
	if cache.has(tx.Hash) {
		return nil // these exact bytes passed every check below before
	}
	if !p.verified {
		if err := p.verifiable(cache); err != nil {
			return err
		}
		if !voied.VerifyExpandedWithOptions(p.key, signedMessage(p.unsigned), p.sig, zip215) {
			return reject(CodeBadSignature, "signature does not match signer %s", tx.Signer)
		}
	}
	if r, ok := tx.Body.(*Register); ok && !verifyHotkeyProof(cache.signer(r.Hotkey), tx.ChainID, tx.Signer, r.Proof) {
		return reject(CodeBadHotkeyProof, "the hotkey proof is not hotkey %s's signature letting coldkey %s own it on chain %q",
			r.Hotkey, tx.Signer, tx.ChainID)
	}
	cache.add(tx.Hash)
	return nil
}

// verifiable rejects a transaction whose signer is not a usable public key
// (see weakSigner), whatever its signature, and otherwise sets p.key.
func (p *parsedTx) verifiable(cache *sigCache) *TxError {
	if p.key = cache.signer(p.tx.Signer); p.key == nil {
		return reject(CodeBadSignature, "signer %s is not a usable public key (not canonical, or of small order)", p.tx.Signer)
	}
	return nil
}
