// Package chainclient talks to one Agora node over CometBFT's RPC: it
// queries the chain's JSON views, broadcasts signed transactions and waits
// for them to be included in a block.
//
// Every call takes a context; its deadline bounds the whole call,
// connection included (the HTTP client has no timeout of its own).
// Waiting for inclusion polls the node's transaction index (/tx?hash=)
// with backoff rather than holding a websocket subscription: it needs
// nothing but plain HTTP, survives a node restart in the middle, and
// cannot miss a block that lands before a subscription is in place. It
// needs the node's kv transaction indexer, which `agora node init` turns
// on.
package chainclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/keys"
)

// DefaultAddress is where `agora node init` puts a node's RPC server.
const DefaultAddress = "tcp://127.0.0.1:26657"

// Client is a client of one node's RPC server. It is safe for concurrent
// use; it holds idle HTTP connections, which Close releases.
type Client struct {
	addr      string
	rpc       *rpchttp.HTTP
	transport *http.Transport
}

// New returns a client of the node whose RPC server listens at addr:
// tcp://host:port, http://host:port or https://host[:port], or a bare
// host:port (taken as tcp://). It checks the form only; nothing is dialled
// until the first call.
func New(addr string) (*Client, error) {
	return NewWithDialer(addr, (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext)
}

// NewWithDialer is New with the function that opens connections to the
// node: the testnet harness's reaches nodes inside network namespaces.
func NewWithDialer(addr string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*Client, error) {
	remote, err := parseAddress(addr)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DisableCompression:  true, // as CometBFT's own client: no gzip bombs
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dial,
		MaxIdleConnsPerHost: 4,
	}
	c, err := rpchttp.NewWithClient(remote, "/websocket", &http.Client{Transport: tr})
	if err != nil {
		return nil, fmt.Errorf("chainclient: node address %q: %w", addr, err)
	}
	return &Client{addr: remote, rpc: c, transport: tr}, nil
}

// parseAddress checks addr and returns it in the form CometBFT's client
// takes.
func parseAddress(addr string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("chainclient: node address %q: %s (want tcp://host:port or http://host:port)", addr, why)
	}
	if addr == "" {
		return bad("empty")
	}
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return bad(err.Error())
	}
	switch u.Scheme {
	case "tcp", "http", "https":
	default:
		return bad(fmt.Sprintf("scheme %q is not tcp, http or https", u.Scheme))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return bad("only a scheme, a host and a port are allowed")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return bad("no host")
	}
	if port == "" && u.Scheme == "tcp" {
		return bad("no port")
	}
	if port != "" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return bad(fmt.Sprintf("port %q is not 1 to 65535", port))
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// Address is the node's RPC address as the client uses it.
func (c *Client) Address() string { return c.addr }

// HostPort is the node's host:port (a name or an IP; http's and https's
// default ports when the address has none): where a daemon's route to the
// node goes, for the address it advertises.
func (c *Client) HostPort() string {
	u, err := url.Parse(c.addr)
	if err != nil { // parseAddress parsed it
		return c.addr
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Close releases idle connections. The client stays usable.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// wrap names the operation and the node in err, and says plainly when the
// node could not be reached.
func (c *Client) wrap(op string, err error) error {
	var nerr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("chainclient: %s: no answer from node %s in time: %w", op, c.addr, err)
	case errors.As(err, &nerr) && nerr.Op == "dial":
		return fmt.Errorf("chainclient: %s: node %s is unreachable (is it running?): %w", op, c.addr, err)
	}
	return fmt.Errorf("chainclient: %s at %s: %w", op, c.addr, err)
}

// ChainID returns the node's chain id (from /status), which every signed
// transaction names.
func (c *Client) ChainID(ctx context.Context) (string, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", c.wrap("status", err)
	}
	return st.NodeInfo.Network, nil
}

// Latest returns the node's chain id and the height of its latest block
// (from /status): what a transaction's signature and valid_until need.
func (c *Client) Latest(ctx context.Context) (chainID string, height int64, err error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", 0, c.wrap("status", err)
	}
	return st.NodeInfo.Network, st.SyncInfo.LatestBlockHeight, nil
}

// Status is the node's /status: its identity, latest block and whether
// it is still catching up.
func (c *Client) Status(ctx context.Context) (*coretypes.ResultStatus, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return nil, c.wrap("status", err)
	}
	return st, nil
}

// BlockMetas returns the metadata (block id and header) of the blocks
// from minHeight to maxHeight that the node has, newest first, at most 20
// (CometBFT's /blockchain).
func (c *Client) BlockMetas(ctx context.Context, minHeight, maxHeight int64) ([]*types.BlockMeta, error) {
	r, err := c.rpc.BlockchainInfo(ctx, minHeight, maxHeight)
	if err != nil {
		return nil, c.wrap("blockchain", err)
	}
	return r.BlockMetas, nil
}

// Signers returns the addresses (hex, as /status's validator_info shows
// them) of the validators whose votes for the block at height are in its
// commit.
func (c *Client) Signers(ctx context.Context, height int64) ([]string, error) {
	r, err := c.rpc.Commit(ctx, &height)
	if err != nil {
		return nil, c.wrap("commit", err)
	}
	var out []string
	for _, s := range r.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			out = append(out, s.ValidatorAddress.String())
		}
	}
	return out, nil
}

// QueryError is a query the node answered with an error, such as an
// unknown subnet; Log is the node's message.
type QueryError struct {
	Path   string
	Code   uint32
	Log    string
	Height int64
}

func (e *QueryError) Error() string { return fmt.Sprintf("query %s: %s", e.Path, e.Log) }

// Query asks the app the question at path (see chain's Query* paths) and
// decodes its JSON answer into out. It returns the height of the state
// that answered. An answer with a non-zero code is a *QueryError.
func (c *Client) Query(ctx context.Context, path string, out any) (int64, error) {
	res, err := c.rpc.ABCIQuery(ctx, path, nil)
	if err != nil {
		return 0, c.wrap("query "+path, err)
	}
	r := res.Response
	if r.Code != 0 {
		return r.Height, &QueryError{Path: path, Code: r.Code, Log: r.Log, Height: r.Height}
	}
	if err := json.Unmarshal(r.Value, out); err != nil {
		return r.Height, fmt.Errorf("chainclient: query %s: decode answer: %w", path, err)
	}
	return r.Height, nil
}

// Account returns an account's balance and nonce; an account the chain
// has never seen has zero of both.
func (c *Client) Account(ctx context.Context, id chain.AccountID) (chain.AccountView, error) {
	var v chain.AccountView
	_, err := c.Query(ctx, chain.QueryAccount+id.String(), &v)
	return v, err
}

// Hotkey returns a registered hotkey's owner, take and total stake.
func (c *Client) Hotkey(ctx context.Context, id chain.AccountID) (chain.HotkeyView, error) {
	var v chain.HotkeyView
	_, err := c.Query(ctx, chain.QueryHotkey+id.String(), &v)
	return v, err
}

// Subnet returns a subnet's owner, hyperparameters, burn and size.
func (c *Client) Subnet(ctx context.Context, netuid uint16) (chain.SubnetView, error) {
	var v chain.SubnetView
	_, err := c.Query(ctx, chain.QuerySubnet+strconv.Itoa(int(netuid)), &v)
	return v, err
}

// Neuron returns one uid of a subnet, with its weight and bond rows.
func (c *Client) Neuron(ctx context.Context, netuid, uid uint16) (chain.NeuronView, error) {
	var v chain.NeuronView
	_, err := c.Query(ctx, fmt.Sprintf("%s%d/%d", chain.QueryNeuron, netuid, uid), &v)
	return v, err
}

// Metagraph returns a subnet and every neuron on it, by uid.
func (c *Client) Metagraph(ctx context.Context, netuid uint16) (chain.MetagraphView, error) {
	var v chain.MetagraphView
	_, err := c.Query(ctx, chain.QueryMetagraph+strconv.Itoa(int(netuid)), &v)
	return v, err
}

// Weights returns uid's stored weights on mechanism m of netuid (0 on a
// subnet with one mechanism).
func (c *Client) Weights(ctx context.Context, netuid, uid uint16, m uint8) (chain.RowView, error) {
	var v chain.RowView
	_, err := c.Query(ctx, chain.RowPath(false, netuid, uid, m), &v)
	return v, err
}

// Bonds returns uid's bonds on mechanism m of netuid.
func (c *Client) Bonds(ctx context.Context, netuid, uid uint16, m uint8) (chain.RowView, error) {
	var v chain.RowView
	_, err := c.Query(ctx, chain.RowPath(true, netuid, uid, m), &v)
	return v, err
}

// Commits returns hotkey's pending weight commits on mechanism m of
// netuid, oldest first, with the subnet's current epoch.
func (c *Client) Commits(ctx context.Context, netuid uint16, m uint8, hotkey chain.AccountID) (chain.CommitsView, error) {
	var v chain.CommitsView
	_, err := c.Query(ctx, chain.CommitsPath(netuid, m, hotkey), &v)
	return v, err
}

// Supply returns the supply ledger.
func (c *Client) Supply(ctx context.Context) (chain.SupplyView, error) {
	var v chain.SupplyView
	_, err := c.Query(ctx, chain.QuerySupply, &v)
	return v, err
}

// NextNonce returns the nonce the account's next transaction must carry
// for the node to admit it: the last block's nonce plus the account's
// transactions already in the node's mempool, so that transactions sent
// one after another (each after the node answered the previous broadcast)
// need not wait for blocks in between. Two senders asking at once get the
// same nonce, and the node admits only one of their transactions.
func (c *Client) NextNonce(ctx context.Context, id chain.AccountID) (uint64, error) {
	var v chain.NonceView
	if _, err := c.Query(ctx, chain.QueryNonce+id.String(), &v); err != nil {
		return 0, err
	}
	return v.Next, nil
}

// Result is what became of a broadcast transaction.
type Result struct {
	// Hash is the transaction's id: sha256 of its bytes, upper-case hex
	// as CometBFT shows it.
	Hash string `json:"hash"`
	// Height is the block that included it; 0 if it was rejected by
	// CheckTx or not waited for.
	Height int64 `json:"height"`
	// Code is the result code: CheckTx's if it was rejected there or not
	// waited for, else the block's (FinalizeBlock's). Zero is success.
	Code chain.Code `json:"code"`
	// CodeName is Code's stable name, such as "insufficient_balance".
	CodeName string `json:"code_name"`
	// Log says what was wrong, in words.
	Log       string `json:"log"`
	Codespace string `json:"codespace,omitempty"`
	// Events are the block result's events (included transactions only).
	Events []abci.Event `json:"events,omitempty"`
}

// OK reports whether the transaction was accepted (by CheckTx) or, if it
// was included, applied.
func (r *Result) OK() bool { return r.Code == chain.CodeOK }

// Included reports whether the transaction is in a block.
func (r *Result) Included() bool { return r.Height > 0 }

// TxHash returns the hash CometBFT indexes tx by, in upper-case hex.
func TxHash(tx []byte) string {
	h := sha256.Sum256(tx)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// Broadcast submits tx with broadcast_tx_sync: it returns once the node's
// CheckTx has accepted or rejected it, with its hash and CheckTx's code
// and log. A rejection is a Result with a non-zero code, not an error; an
// error means the node did not answer. A transaction the node already has
// in its mempool cache counts as accepted.
func (c *Client) Broadcast(ctx context.Context, tx []byte) (*Result, error) {
	r := &Result{Hash: TxHash(tx)}
	res, err := c.rpc.BroadcastTxSync(ctx, tx)
	if err != nil {
		if strings.Contains(err.Error(), "tx already exists in cache") {
			r.CodeName = chain.CodeOK.String()
			return r, nil
		}
		return r, c.wrap("broadcast", err)
	}
	r.Code, r.Log, r.Codespace = chain.Code(res.Code), res.Log, res.Codespace
	r.CodeName = r.Code.String()
	return r, nil
}

// BroadcastAndWait broadcasts tx and, if CheckTx accepts it, waits until a
// block includes it, returning the block's result code, log, events and
// height. A CheckTx rejection returns at once. It waits until ctx is done
// (give it a deadline): a transaction CheckTx accepted can still be
// dropped from the mempool, say when an earlier one of the same sender
// spends the balance it needed, and then never lands.
//
// A transaction with a valid_until height that the chain has passed
// without including it returns a result with code expired: it never will
// be included, and its nonce is free for another.
func (c *Client) BroadcastAndWait(ctx context.Context, tx []byte) (*Result, error) {
	r, err := c.Broadcast(ctx, tx)
	if err != nil || !r.OK() {
		return r, err
	}
	var until uint64
	if t, err := chain.DecodeTx(tx); err == nil {
		until = t.ValidUntil
	}
	return c.waitTx(ctx, r.Hash, until)
}

// expiryMargin is how many blocks past a transaction's valid_until the
// wait lets the node's transaction index catch up before it says the
// transaction expired.
const expiryMargin = 2

// Poll intervals of WaitTx: it starts fast, as blocks on a local chain
// come every few hundred ms, and backs off to a second.
const (
	firstPoll = 20 * time.Millisecond
	maxPoll   = time.Second
)

// WaitTx polls the node's transaction index until the transaction with
// hash (hex) is in a block, or ctx is done.
func (c *Client) WaitTx(ctx context.Context, hash string) (*Result, error) {
	return c.waitTx(ctx, hash, 0)
}

// waitTx is WaitTx for a transaction valid until block until (0: any),
// which stops waiting once the chain is past it.
func (c *Client) waitTx(ctx context.Context, hash string, until uint64) (*Result, error) {
	raw, err := hex.DecodeString(hash)
	if err != nil || len(raw) != sha256.Size {
		return nil, fmt.Errorf("chainclient: wait: transaction hash %q: want %d bytes of hex", hash, sha256.Size)
	}
	delay := firstPoll
	var lastErr error
	past := false // the chain was past until at the previous lookup
	for {
		res, err := c.rpc.Tx(ctx, raw, false)
		switch {
		case err == nil:
			tr := res.TxResult
			code := chain.Code(tr.Code)
			return &Result{
				Hash: strings.ToUpper(hash), Height: res.Height, Code: code, CodeName: code.String(),
				Log: tr.Log, Codespace: tr.Codespace, Events: tr.Events,
			}, nil
		case strings.Contains(err.Error(), "transaction indexing is disabled"):
			return nil, fmt.Errorf("chainclient: wait for %s: node %s does not index transactions (set tx_index.indexer = \"kv\" in its config.toml)", hash, c.addr)
		case strings.Contains(err.Error(), ") not found"):
			lastErr = nil // not in a block yet
			if past {
				return &Result{Hash: strings.ToUpper(hash), Code: chain.CodeExpired, CodeName: chain.CodeExpired.String(),
					Log: fmt.Sprintf("not included by block %d, the last it was valid for; it never will be, and its nonce is free for another", until)}, nil
			}
			if until > 0 {
				// Looked up after this lookup, so that a block that
				// included it in time is indexed by the next one.
				st, err := c.rpc.Status(ctx)
				past = err == nil && st.SyncInfo.LatestBlockHeight > int64(until)+expiryMargin
			}
		case ctx.Err() != nil:
			// The call was cut short by ctx; report what came before.
		default:
			lastErr = err // the node may be restarting: keep trying
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			if lastErr != nil {
				return nil, c.wrap("wait for "+hash, lastErr)
			}
			return nil, fmt.Errorf("chainclient: transaction %s was accepted but is not in a block yet (%w); it may still land, or have been dropped from the mempool: check the account's nonce", hash, context.Cause(ctx))
		case <-t.C:
		}
		delay = min(2*delay, maxPoll)
	}
}

// Register registers hotkey on netuid, owned by coldkey, which signs and
// burns at most maxBurn; the hotkey signs the proof that lets coldkey own
// it. It waits for inclusion, as SendTx does.
func (c *Client) Register(ctx context.Context, coldkey, hotkey *keys.PrivateKey, netuid uint16, maxBurn uint64) (*Result, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := chain.NewRegister(chainID, netuid, hotkey.Ed25519(), chain.AccountID(coldkey.PublicKey()), maxBurn)
	if err != nil {
		return nil, fmt.Errorf("chainclient: register: %w", err)
	}
	return c.SendTx(ctx, coldkey, reg)
}

// TxValidity is how many blocks past the latest SendTx's transactions
// may wait for inclusion (their valid_until): about five minutes of
// one-second blocks. After that one can never land, and its nonce is free
// for another.
const TxValidity = 300

// SendTx signs body with key at the account's next nonce, valid for
// TxValidity blocks, and broadcasts it, waiting until a block includes it
// or it expires (see BroadcastAndWait). It is for
// daemons that send a transaction now and then (a miner's serve_axon,
// a validator's weights). The nonce counts the key's transactions already
// in the mempool (NextNonce), so it may be called again before the last
// one lands, but not concurrently for one key. A rejection or failure in
// the block is an error carrying the node's log.
func (c *Client) SendTx(ctx context.Context, key *keys.PrivateKey, body chain.Body) (*Result, error) {
	chainID, height, err := c.Latest(ctx)
	if err != nil {
		return nil, err
	}
	nonce, err := c.NextNonce(ctx, chain.AccountID(key.PublicKey()))
	if err != nil {
		return nil, err
	}
	tx, err := chain.SignTxUntil(key.Ed25519(), chainID, nonce, uint64(max(height, 0))+TxValidity, body)
	if err != nil {
		return nil, fmt.Errorf("chainclient: sign %s: %w", body.Kind(), err)
	}
	r, err := c.BroadcastAndWait(ctx, tx)
	if err != nil {
		return nil, err
	}
	if !r.OK() {
		return r, fmt.Errorf("chainclient: %s rejected (code %d): %s", body.Kind(), r.Code, r.Log)
	}
	return r, nil
}
