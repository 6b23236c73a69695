package cheat

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
	"github.com/seed0ffb8d46/agora/scoring"
)

// The red team's cheats: what an author who has read the validator's
// code (issue 14's "pay only work the declared model sampled") would try
// next, each the cheapest way to be paid without sampling the prompt it
// was sent under the seed it was sent.
//
//   - Universal answers every story prompt with a sample the model drew
//     once for a prompt of its own: no work per request.
//   - Preempt recovers the round's seed from its own (the per-miner seed
//     is an invertible mix of the round's seed and the uid), samples the
//     answer another miner will give, and hands it in first, so that a
//     copy check that credits the first arrival fails the other miner.
//   - StopSeeker searches the nucleus for the shortest continuation after
//     which the model could stop, and claims it did; it refuses when
//     there is none, since refusing costs an answer and failing a window.
//   - Quantize makes a cheaper model (fewer mantissa bits, as fp16, bf16
//     or fp8 serving does) that leans on the near-tie allowance.
//   - Selective hands in another cheat's answer only when the validator's
//     own public check passes it, and refuses otherwise.
//   - Bloat answers with as many token ids as the validator reads: work
//     for the validator, none for the miner.

// errRefused is a cheat's refusal: the miner answers with an error
// status, which a validator scores as no answer (not a hard failure).
var errRefused = errors.New("cheat: refused (a refusal costs one answer, a failed check the window)")

// universalPrompt is the prompt Universal samples its answers for.
const universalPrompt = "Lily had a red kite."

// Universal answers every sampled task (temperature above 0) with one of
// Pool samples (default 4) the declared model drew for Prompt (default a
// story opening of its own), at the request's temperature, top_p and
// max_tokens, the first time it was asked: after that it never runs the
// model for a story prompt. Member picks the sample, so that hotkeys of
// one operator hand in different ones in a round. Greedy tasks
// (reference tasks, temperature 0) go to the backend. LM is the declared
// model, whose tokenizer spells the sample after the prompt it was sent.
type Universal struct {
	miner.Backend
	LM     *llm.Llama
	Prompt string
	Pool   int
	Member int

	once sync.Once
	pool []*llm.OpenAIGeneration
	err  error
}

// Generate implements miner.Backend.
func (u *Universal) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	if req.Options.Temperature <= 0 {
		return u.Backend.Generate(ctx, req, fn)
	}
	u.once.Do(func() {
		n := u.Pool
		if n <= 0 {
			n = 4
		}
		prompt := u.Prompt
		if prompt == "" {
			prompt = universalPrompt
		}
		for i := range n {
			own := miner.Request{Prompt: prompt, Options: req.Options}
			own.Options.Seed = uint64(i) + 1
			g, err := u.Backend.Generate(context.WithoutCancel(ctx), &own, nil)
			if err != nil {
				u.err = err
				return
			}
			u.pool = append(u.pool, g)
		}
	})
	if u.err != nil {
		return nil, u.err
	}
	g := u.pool[u.Member%len(u.pool)]
	out, err := respell(u.LM, promptOf(req), g)
	if err != nil {
		return nil, err
	}
	return deliver(out, fn)
}

// respell is g's tokens as an answer to prompt: the text they spell after
// it (the first piece can depend on the prompt's last token).
func respell(lm *llm.Llama, prompt string, g *llm.OpenAIGeneration) (*llm.OpenAIGeneration, error) {
	out := *g
	out.Tokens = slices.Clone(g.Tokens)
	pids, err := lm.Tokenizer().Encode(prompt, true)
	if err != nil {
		return nil, fmt.Errorf("cheat: encode the prompt: %w", err)
	}
	prev := pids[len(pids)-1]
	var b strings.Builder
	for i, t := range out.Tokens {
		out.Tokens[i].Text = lm.Tokenizer().Piece(prev, t.ID)
		b.WriteString(out.Tokens[i].Text)
		prev = t.ID
	}
	out.Text, out.PromptTokens, out.PromptTokenCount = b.String(), pids, len(pids)
	return &out, nil
}

// The validator's per-miner seed (validator.minerSeed), as its source
// spells it: a public mix of the round's seed and the uid.
const (
	seedGolden = 0x9e3779b97f4a7c15
	seedMix1   = 0xbf58476d1ce4e5b9
	seedMix2   = 0x94d049bb133111eb
)

// MinerSeed is the seed a validator sends the miner with uid in a round
// whose seed is round.
func MinerSeed(round uint64, uid uint16) uint64 {
	x := round ^ (uint64(uid)+1)*seedGolden
	x = (x ^ x>>30) * seedMix1
	x = (x ^ x>>27) * seedMix2
	return (x ^ x>>31) & math.MaxInt64
}

// RoundSeeds are the two round seeds whose MinerSeed for uid is seed: the
// mix is invertible but for the top bit the mask drops. The round's story
// prompt (scoring.StoryPrompt) tells which one it was.
func RoundSeeds(seed uint64, uid uint16) [2]uint64 {
	var out [2]uint64
	for i, top := range []uint64{0, 1 << 63} {
		x := unshift(seed|top, 31) * inverse(seedMix2)
		x = unshift(x, 27) * inverse(seedMix1)
		x = unshift(x, 30)
		out[i] = x ^ (uint64(uid)+1)*seedGolden
	}
	return out
}

// unshift inverts y = x ^ x>>k.
func unshift(y uint64, k uint) uint64 {
	x := y
	for range 64/k + 1 {
		x = y ^ x>>k
	}
	return x
}

// inverse is the multiplicative inverse of odd a modulo 2^64.
func inverse(a uint64) uint64 {
	x := a
	for range 6 {
		x *= 2 - a*x
	}
	return x
}

// RoundSeed is the round seed behind a story prompt sent to uid with
// seed, when the prompt is the round's story prompt.
func RoundSeed(prompt string, seed uint64, uid uint16) (uint64, bool) {
	for _, r := range RoundSeeds(seed, uid) {
		if scoring.StoryPrompt(r) == prompt {
			return r, true
		}
	}
	return 0, false
}

// Preempt is the miner with uid Self. Sent a story prompt, it recovers
// the round's seed from its own, and answers with the sample the miner
// with uid Victim is asked for (MinerSeed(round, Victim)): a sample of
// the declared model like any other to a check that cannot replay seeds,
// and, when it arrives first, the original of which the victim's own
// answer looks like a copy. It costs one generation, as honest work does.
// Anything else (greedy tasks, another validator's prompts) it answers
// honestly.
type Preempt struct {
	miner.Backend
	Self, Victim uint16
}

// Generate implements miner.Backend.
func (p *Preempt) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	if req.Options.Temperature <= 0 {
		return p.Backend.Generate(ctx, req, fn)
	}
	round, ok := RoundSeed(promptOf(req), req.Options.Seed, p.Self)
	if !ok {
		return p.Backend.Generate(ctx, req, fn)
	}
	theirs := *req
	theirs.Options.Seed = MinerSeed(round, p.Victim)
	return p.Backend.Generate(ctx, &theirs, fn)
}

// stopIDs are the built-in engine's stop tokens.
var stopIDs = []int{llm.EOSID, llm.BOSID}

// StopSeeker answers with the shortest continuation it finds, over the
// tokens inside the requested nucleus (the argmax at temperature 0),
// after which the validator's statistical check (scoring.CheckSampled,
// public like the rest of its code) accepts a claimed stop, and claims
// the model stopped there. It searches Depth tokens deep (default 3), at
// most Beam sequences a level (default 16), each one scoring pass of the
// declared model (a batched prefill, far cheaper than sampling), and
// refuses when it finds none.
type StopSeeker struct {
	miner.Backend // for Model, Ready and Concurrency
	LM            *llm.Llama
	Depth, Beam   int
}

// Generate implements miner.Backend.
func (s *StopSeeker) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	depth, beam := s.Depth, s.Beam
	if depth <= 0 {
		depth = 3
	}
	if beam <= 0 {
		beam = 16
	}
	prompt := promptOf(req)
	pids, err := s.LM.Tokenizer().Encode(prompt, true)
	if err != nil {
		return nil, fmt.Errorf("cheat: encode the prompt: %w", err)
	}
	params, pol := samplingParams(req), scoring.DefaultStatPolicy()
	level := [][]int{nil}
	for d := 0; d <= depth && len(level) > 0; d++ {
		var next [][]int
		for _, seq := range level {
			pl, err := s.LM.PromptLogprobs(ctx, slices.Concat(pids, seq), pol.K)
			if err != nil {
				return nil, err
			}
			if len(seq) > 0 {
				steps := make([]scoring.TopK, len(seq))
				for i, id := range seq {
					p := pl[len(pids)-1+i]
					steps[i] = scoring.TopK{Sent: id, SentLogprob: p.Sent.Logprob, Top: p.Top}
				}
				after := scoring.TopK{Sent: -1, SentLogprob: math.NaN(), Top: pl[len(pl)-1].Top}
				if scoring.CheckSampled(steps, after, stopIDs, params, llm.FinishStop, nil, pol).OK {
					g, err := forgeIDs(ctx, s.LM, s.Model(), prompt, pids, seq, llm.FinishStop)
					if err != nil {
						return nil, err
					}
					return deliver(g, fn)
				}
			}
			if d == depth {
				continue
			}
			for _, id := range nucleus(pl[len(pl)-1].Top, req.Options.Temperature, req.Options.TopP) {
				if !slices.Contains(stopIDs, id) && len(next) < beam {
					next = append(next, append(slices.Clone(seq), id))
				}
			}
		}
		level = next
	}
	return nil, errRefused
}

// nucleus is the tokens of top (most likely first) inside the top_p
// nucleus at temperature t, as far as the top tokens tell; the argmax
// alone at temperature 0.
func nucleus(top []llm.TokenLogprob, t float32, topP float32) []int {
	if len(top) == 0 {
		return nil
	}
	if t <= 0 {
		return []int{top[0].ID}
	}
	if topP <= 0 || topP >= 1 {
		topP = 1
	}
	w := make([]float64, len(top))
	var sum float64
	for i, tk := range top {
		w[i] = math.Exp((tk.Logprob - top[0].Logprob) / float64(t))
		sum += w[i]
	}
	var out []int
	var cum float64
	for i, tk := range top {
		out = append(out, tk.ID)
		if cum += w[i] / sum; cum > float64(topP) {
			break
		}
	}
	return out
}

// forgeIDs dresses ids as the model's answer to prompt (encoded pids):
// their text and the model's log-probability of each.
func forgeIDs(ctx context.Context, lm *llm.Llama, name, prompt string, pids, ids []int, finish string) (*llm.OpenAIGeneration, error) {
	lps, err := lm.Score(ctx, prompt, ids)
	if err != nil {
		return nil, fmt.Errorf("cheat: score the tokens: %w", err)
	}
	toks := make([]llm.TokenLogprob, len(ids))
	var b strings.Builder
	prev := pids[len(pids)-1]
	for i, id := range ids {
		toks[i] = llm.TokenLogprob{ID: id, Text: lm.Tokenizer().Piece(prev, id), Logprob: lps[i]}
		b.WriteString(toks[i].Text)
		prev = id
	}
	return &llm.OpenAIGeneration{
		Generation: llm.Generation{Text: b.String(), Tokens: toks, PromptTokens: pids, FinishReason: finish},
		Model:      name, PromptTokenCount: len(pids), CompletionTokenCount: len(toks),
	}, nil
}

// Quantize returns the llama2.c checkpoint data with every float32 (the
// header's ints aside) rounded to bits bits of mantissa, to nearest: 10
// is fp16's precision, 7 bf16's, 3 fp8 (e4m3)'s. Served under the
// original's name, it is a cheaper model that samples nearly what the
// original does.
func Quantize(data []byte, bits int) []byte {
	out := slices.Clone(data)
	if bits >= 23 || bits < 0 {
		return out
	}
	drop := uint(23 - bits)
	for i := 28; i+4 <= len(out); i += 4 {
		u := binary.LittleEndian.Uint32(out[i:])
		u += 1 << (drop - 1)
		u &^= 1<<drop - 1
		binary.LittleEndian.PutUint32(out[i:], u)
	}
	return out
}

// Check is a miner's run of the validator's own, public check on an
// answer to req: whether it would pass.
type Check func(ctx context.Context, req *miner.Request, g *llm.OpenAIGeneration) bool

// Selective answers with its backend's (a cheat's) answer when Check
// passes it, and refuses otherwise: a refusal costs the miner that answer
// only, a failed check its window. Checked and Refused count.
type Selective struct {
	miner.Backend
	Check            Check
	Checked, Refused atomic.Uint64
}

// Generate implements miner.Backend.
func (s *Selective) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	g, err := s.Backend.Generate(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	s.Checked.Add(1)
	if !s.Check(ctx, req, g) {
		s.Refused.Add(1)
		return nil, errRefused
	}
	return deliver(g, fn)
}

// samplingParams are the validator's view of req.
func samplingParams(req *miner.Request) scoring.SamplingParams {
	o := req.Options
	return scoring.SamplingParams{Temperature: float64(o.Temperature), TopP: float64(o.TopP), Seed: o.Seed, MaxTokens: o.MaxTokens}
}

func answerIDs(g *llm.OpenAIGeneration) []int {
	ids := make([]int, 0, len(g.Tokens))
	for _, t := range g.Tokens {
		ids = append(ids, t.ID)
	}
	return ids
}

// ExactCheck is the validator's exact replay on the declared model lm,
// with the default policy's allowances.
func ExactCheck(lm *llm.Llama) Check {
	pol := scoring.DefaultPolicy().Replay
	return func(ctx context.Context, req *miner.Request, g *llm.OpenAIGeneration) bool {
		ids := answerIDs(g)
		if len(ids) == 0 {
			return false
		}
		r, err := lm.Replay(ctx, promptOf(req), ids, req.Options.GenOptions)
		return err == nil && scoring.CheckReplay(r, ids, samplingParams(req), g.FinishReason, pol).OK
	}
}

// StatCheck is the validator's statistical check on the declared model
// lm (as a model server would score it), with the default policy.
func StatCheck(lm *llm.Llama) Check {
	tm := scoring.LlamaLogprobModel(lm)
	pol := scoring.DefaultStatPolicy()
	return func(ctx context.Context, req *miner.Request, g *llm.OpenAIGeneration) bool {
		v, err := scoring.VerifySampled(ctx, tm, promptOf(req), g.Text, answerIDs(g), samplingParams(req), g.FinishReason, nil, pol)
		return err == nil && v.OK
	}
}

// bloatTokens is how many tokens Bloat answers with by default: as many
// as fit, named "token_id:N" with their log-probabilities and offsets,
// in the 4 MiB a validator reads of an answer.
const bloatTokens = 120_000

// Bloat answers every request with Tokens token ids (default about as
// many as a validator reads), cycling through the vocabulary's letters:
// nothing to compute for the miner, a long decode, spelling and
// comparison for the validator before any check can refuse it.
type Bloat struct {
	miner.Backend // for Model, Ready and Concurrency
	LM            *llm.Llama
	Tokens        int
}

// Generate implements miner.Backend.
func (b *Bloat) Generate(_ context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	n := b.Tokens
	if n <= 0 {
		n = bloatTokens
	}
	tok := b.LM.Tokenizer()
	pids, err := tok.Encode(promptOf(req), true)
	if err != nil {
		return nil, fmt.Errorf("cheat: encode the prompt: %w", err)
	}
	var letters []int
	for id := range b.LM.Config().VocabSize {
		if p := tok.Piece(id, id); len(p) == 1 && p[0] >= 'a' && p[0] <= 'z' {
			letters = append(letters, id)
		}
	}
	if len(letters) == 0 {
		return nil, errors.New("cheat: no letter tokens")
	}
	toks := make([]llm.TokenLogprob, n)
	var sb strings.Builder
	prev := pids[len(pids)-1]
	for i := range toks {
		id := letters[i%len(letters)]
		toks[i] = llm.TokenLogprob{ID: id, Text: tok.Piece(prev, id), Logprob: -1}
		sb.WriteString(toks[i].Text)
		prev = id
	}
	return deliver(&llm.OpenAIGeneration{
		Generation: llm.Generation{Text: sb.String(), Tokens: toks, PromptTokens: pids, FinishReason: llm.FinishLength},
		Model:      b.Model(), PromptTokenCount: len(pids), CompletionTokenCount: n,
	}, fn)
}
