package localnet

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/seed0ffb8d46/agora/chain"
	"github.com/seed0ffb8d46/agora/chainclient"
	"github.com/seed0ffb8d46/agora/keys"
	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/weights"
)

// The adversaries of --adversaries: miners and a validator that cheat in
// the ways DESIGN.md section 7 says the network must not pay for. Each
// declares the honest miners' model.

// recorder is an honest miner's backend that also lets the copier read
// its answers, as a copier reading an honest miner's public answers would.
type recorder struct {
	miner.Backend
	mu      sync.Mutex
	answers map[string]*llm.OpenAIGeneration // by prompt
}

func newRecorder(b miner.Backend) *recorder {
	return &recorder{Backend: b, answers: map[string]*llm.OpenAIGeneration{}}
}

func (r *recorder) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	g, err := r.Backend.Generate(ctx, req, fn)
	if err == nil {
		r.mu.Lock()
		r.answers[req.Prompt] = g
		if len(r.answers) > 256 {
			for k := range r.answers {
				delete(r.answers, k)
				break
			}
		}
		r.mu.Unlock()
	}
	return g, err
}

func (r *recorder) lookup(prompt string) (*llm.OpenAIGeneration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.answers[prompt]
	return g, ok
}

// copier answers with an honest miner's answer to the same prompt,
// fetched a network round trip after the honest miner gave it.
type copier struct {
	miner.Backend
	from *recorder
}

func (c *copier) Generate(ctx context.Context, req *miner.Request, _ llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	for {
		if g, ok := c.from.lookup(req.Prompt); ok {
			select {
			case <-time.After(50 * time.Millisecond):
				return g, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// junk answers random letters.
type junk struct{ miner.Backend }

func (j junk) Generate(_ context.Context, req *miner.Request, _ llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	r := rand.New(rand.NewPCG(req.Options.Seed, 9))
	var b strings.Builder
	for range 30 {
		for range 2 + r.IntN(6) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		b.WriteByte(' ')
	}
	return &llm.OpenAIGeneration{Generation: llm.Generation{Text: b.String(), FinishReason: llm.FinishLength}, Model: j.Model()}, nil
}

// lazy echoes the prompt.
type lazy struct{ miner.Backend }

func (l lazy) Generate(_ context.Context, req *miner.Request, _ llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	p := req.Prompt
	if req.Chat {
		p = miner.ChatPrompt(req.Messages)
	}
	return &llm.OpenAIGeneration{Generation: llm.Generation{Text: p, FinishReason: llm.FinishStop}, Model: l.Model()}, nil
}

// perturb returns a different checkpoint of the same shape: every 7th
// weight nudged. A miner serving it while declaring the original model is
// the wrong-model cheat.
func perturb(data []byte) []byte {
	out := append([]byte(nil), data...)
	for i := 28 + 4000; i+4 <= len(out); i += 28 {
		out[i+3] ^= 0x01
	}
	return out
}

// copyWeights is the weight-copying validator: it sets the weights that
// the validator it copies last set on chain, without scoring anyone. On a
// subnet with commit-reveal it can only copy revealed weights, and must
// commit and reveal them itself, an epoch later: the lag Yuma's bonds
// punish.
func copyWeights(ctx context.Context, client *chainclient.Client, key *keys.PrivateKey, netuid, from uint16, every time.Duration, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last []uint16
	var pending *chain.RevealWeights
	var pendingEpoch uint64
	pk := key.PublicKey()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := func() error {
			qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			sn, err := client.Subnet(qctx, netuid)
			if err != nil {
				return err
			}
			var ep chain.EpochView
			if _, err := client.Query(qctx, chain.QueryEpoch+strconv.Itoa(int(netuid)), &ep); err != nil {
				return err
			}
			if pending != nil {
				switch due := pendingEpoch + sn.Params.RevealPeriodEpochs; {
				case ep.Epoch < due:
					return nil
				case ep.Epoch == due:
					_, err := client.SendTx(qctx, key, pending)
					pending = nil
					return err
				default:
					pending = nil // expired
				}
			}
			n, err := client.Neuron(qctx, netuid, from)
			if err != nil || len(n.Weights) == 0 {
				return err
			}
			uids := make([]uint16, len(n.Weights))
			values := make([]uint16, len(n.Weights))
			for i, e := range n.Weights {
				uids[i], values[i] = e.UID, e.Value
			}
			if slices.Equal(last, values) {
				return nil
			}
			if !sn.Params.CommitReveal {
				_, err = client.SendTx(qctx, key, &chain.SetWeights{Netuid: netuid, UIDs: uids, Values: values, VersionKey: sn.Params.WeightsVersion})
			} else {
				salt := []uint16{uint16(ep.Epoch), 7, 7, 7}
				h := weights.CommitHash(pk[:], netuid, uids, values, salt, sn.Params.WeightsVersion)
				if _, err = client.SendTx(qctx, key, &chain.CommitWeights{Netuid: netuid, Hash: h}); err == nil {
					pending = &chain.RevealWeights{Netuid: netuid, UIDs: uids, Values: values, Salt: salt, VersionKey: sn.Params.WeightsVersion}
					pendingEpoch = ep.Epoch
				}
			}
			if err == nil {
				last = values
			}
			return err
		}()
		if err != nil && ctx.Err() == nil {
			log.Debug("weight copier", zap.Error(err))
		}
	}
}
