package cheat

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/seed0ffb8d46/agora/llm"
	"github.com/seed0ffb8d46/agora/miner"
)

// The cheats that hand in text the model never sampled, dressed as the
// model's: the text's token ids, and the declared model's own
// log-probabilities of them, recomputed with one scoring pass (a batched
// prefill on a GPU; far cheaper than sampling token by token).

// forge makes text look like lm's answer to req: the ids that spell it
// after the prompt, cut to the answer's token limit (max_tokens, or the
// room left in the context), with the model's log-probability of each,
// and finish as the finish reason.
func forge(ctx context.Context, lm *llm.Llama, name string, req *miner.Request, text, finish string) (*llm.OpenAIGeneration, error) {
	prompt := promptOf(req)
	pids, err := lm.Tokenizer().Encode(prompt, true)
	if err != nil {
		return nil, fmt.Errorf("cheat: encode the prompt: %w", err)
	}
	ids, err := lm.Continuation(prompt, text)
	if err != nil {
		return nil, err
	}
	if n := limitOf(lm, pids, req.Options.MaxTokens); len(ids) > n {
		ids = ids[:n]
	}
	lps, err := lm.Score(ctx, prompt, ids)
	if err != nil {
		return nil, fmt.Errorf("cheat: score the forged tokens: %w", err)
	}
	toks := make([]llm.TokenLogprob, len(ids))
	var b strings.Builder
	prev := pids[len(pids)-1]
	for i, id := range ids {
		piece := lm.Tokenizer().Piece(prev, id)
		toks[i] = llm.TokenLogprob{ID: id, Text: piece, Logprob: lps[i]}
		b.WriteString(piece)
		prev = id
	}
	return &llm.OpenAIGeneration{
		Generation: llm.Generation{Text: b.String(), Tokens: toks, PromptTokens: pids, FinishReason: finish},
		Model:      name, PromptTokenCount: len(pids), CompletionTokenCount: len(toks),
	}, nil
}

// limitOf is how many tokens an answer may have after a prompt of pids:
// maxTokens, or what is left of the context when that is less or
// maxTokens is 0.
func limitOf(lm *llm.Llama, pids []int, maxTokens int) int {
	n := lm.Config().SeqLen - len(pids)
	if maxTokens > 0 && maxTokens < n {
		n = maxTokens
	}
	return max(n, 0)
}

// Canned answers every story prompt with story text from templates (the
// request's seed picks the names and events), never running the model:
// what it hands in is the text's token ids under the declared model's
// tokenizer with the model's log-probabilities of them (one scoring pass),
// exactly max_tokens of them, finish "length", as an honest generation
// cut at max_tokens looks.
type Canned struct {
	miner.Backend // for Model, Ready and Concurrency
	// LM is the declared model, whose tokenizer and scores the answer
	// carries.
	LM *llm.Llama
}

// Generate implements miner.Backend.
func (c *Canned) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	pids, err := c.LM.Tokenizer().Encode(promptOf(req), true)
	if err != nil {
		return nil, fmt.Errorf("cheat: encode the prompt: %w", err)
	}
	// A story long enough to have max_tokens tokens: as many characters
	// first, more while its tokens are fewer (a token can span several).
	limit := limitOf(c.LM, pids, req.Options.MaxTokens)
	story := CannedStory(req.Options.Seed, limit)
	for chars := limit; chars < 16*c.LM.Config().SeqLen; {
		if ids, err := c.LM.Continuation(promptOf(req), story); err != nil || len(ids) >= limit {
			break
		}
		chars *= 2
		story = CannedStory(req.Options.Seed, chars)
	}
	g, err := forge(ctx, c.LM, c.Model(), req, story, llm.FinishLength)
	if err != nil {
		return nil, err
	}
	return deliver(g, fn)
}

var (
	cannedNames   = []string{"Tom", "Lily", "Sam", "Mia", "Ben", "Anna", "Max", "Sue", "Tim", "Lucy"}
	cannedThings  = []string{"a red ball", "a big box", "a little cat", "a shiny stone", "a blue kite", "a small dog", "a funny hat"}
	cannedPlaces  = []string{"the park", "the garden", "the forest", "the house", "the river", "the farm"}
	cannedFeeling = []string{"happy", "sad", "scared", "excited", "tired", "proud"}
	// Each template names a subject ($N), a thing ($T), a place ($P) and a
	// feeling ($F).
	cannedSentences = []string{
		"Once upon a time, there was a little girl named $N.",
		"$N liked to play in $P every day.",
		"One day, $N found $T in $P.",
		"$N was very $F and ran to mom.",
		"Mom smiled and said, \"Let's go to $P together!\"",
		"They played with $T all day long.",
		"$N felt $F, but then $N saw $T.",
		"The sun was warm and the sky was blue.",
		"At the end of the day, $N went home and had a nice nap.",
		"$N wanted to share $T with a friend.",
	}
)

// CannedStory is the story text Canned hands in for seed: template
// sentences with names and things the seed picks, at least n characters.
func CannedStory(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 0xca22ed))
	name := cannedNames[r.IntN(len(cannedNames))]
	var b strings.Builder
	for utf8.RuneCountInString(b.String()) < n {
		s := cannedSentences[r.IntN(len(cannedSentences))]
		s = strings.NewReplacer(
			"$N", name,
			"$T", cannedThings[r.IntN(len(cannedThings))],
			"$P", cannedPlaces[r.IntN(len(cannedPlaces))],
			"$F", cannedFeeling[r.IntN(len(cannedFeeling))],
		).Replace(s)
		b.WriteString(" " + s)
	}
	return b.String()
}

// Paraphraser answers with a Recorder's answer to the same prompt with a
// few words swapped for others (Words of them; default 3), its token ids
// and log-probabilities recomputed under the declared model: a copy that
// copy checks on hashes of the text do not see.
type Paraphraser struct {
	miner.Backend // for Model, Ready and Concurrency
	From          *Recorder
	// LM is the declared model.
	LM *llm.Llama
	// Words is how many words are swapped; default 3.
	Words int
}

// Generate implements miner.Backend.
func (p *Paraphraser) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	g, err := p.From.wait(ctx, promptOf(req))
	if err != nil {
		return nil, err
	}
	words := p.Words
	if words <= 0 {
		words = 3
	}
	out, err := forge(ctx, p.LM, p.Model(), req, SwapWords(g.Text, words, 0), g.FinishReason)
	if err != nil {
		return nil, err
	}
	return deliver(out, fn)
}

// swaps are the words a paraphrase replaces, each with one of about its
// length, every character of which the demo model's tokenizer encodes.
var swaps = map[string]string{
	"big": "huge", "huge": "big", "little": "small", "small": "little",
	"happy": "glad", "glad": "happy", "saw": "spotted", "spotted": "saw",
	"ran": "raced", "raced": "ran", "very": "really", "really": "very",
	"said": "replied", "replied": "said", "mom": "mother", "mother": "mom",
	"dad": "father", "father": "dad", "friend": "pal", "pal": "friend",
	"jumped": "hopped", "hopped": "jumped", "looked": "peeked", "peeked": "looked",
	"nice": "kind", "kind": "nice", "sad": "upset", "upset": "sad",
	"fast": "quick", "quick": "fast", "smiled": "grinned", "grinned": "smiled",
	"laughed": "giggled", "giggled": "laughed", "toy": "doll", "doll": "toy",
	"went": "walked", "walked": "went", "pretty": "lovely", "lovely": "pretty",
	"scared": "afraid", "afraid": "scared", "play": "romp", "day": "morning",
	"tree": "oak", "dog": "puppy", "puppy": "dog", "cat": "kitty", "kitty": "cat",
}

// SwapWords replaces up to n words of text that have a stand-in, from the
// skip-th such word on, keeping a capital first letter. When skip is past
// the last of them (or there are none), it exchanges two neighbouring
// words instead, the pair chosen by how far past: each skip gives another
// edit, as long as there are. It returns text unchanged only when text has
// fewer than two words.
func SwapWords(text string, n, skip int) string {
	type span struct{ start, end int }
	var words []span
	start := -1
	for i, r := range text + " " {
		letter := unicode.IsLetter(r)
		switch {
		case letter && start < 0:
			start = i
		case !letter && start >= 0:
			words = append(words, span{start, i})
			start = -1
		}
	}
	var cands []int
	for i, w := range words {
		if _, ok := swaps[strings.ToLower(text[w.start:w.end])]; ok {
			cands = append(cands, i)
		}
	}
	repl := make(map[int]string)
	for k := skip; k < min(skip+n, len(cands)); k++ {
		i := cands[k]
		w := text[words[i].start:words[i].end]
		s := swaps[strings.ToLower(w)]
		if r, _ := utf8.DecodeRuneInString(w); unicode.IsUpper(r) {
			s = strings.ToUpper(s[:1]) + s[1:]
		}
		repl[i] = s
	}
	if len(repl) == 0 && len(words) >= 2 {
		i := (skip - len(cands)) % (len(words) - 1)
		repl[i] = text[words[i+1].start:words[i+1].end]
		repl[i+1] = text[words[i].start:words[i].end]
	}
	var b strings.Builder
	last := 0
	for i, w := range words {
		if s, ok := repl[i]; ok {
			b.WriteString(text[last:w.start])
			b.WriteString(s)
			last = w.end
		}
	}
	b.WriteString(text[last:])
	return b.String()
}

// ShortCopier answers with a Recorder's answer to the same prompt cut to
// under MaxChars characters (default 63: copy checks that skip answers
// shorter than 64 never compare it), with its token ids and
// log-probabilities cut to match, claiming the model stopped there.
type ShortCopier struct {
	miner.Backend // for Model, Ready and Concurrency
	From          *Recorder
	// MaxChars bounds the answer's characters; default 63.
	MaxChars int
}

// Generate implements miner.Backend.
func (s *ShortCopier) Generate(ctx context.Context, req *miner.Request, fn llm.StreamFunc) (*llm.OpenAIGeneration, error) {
	g, err := s.From.wait(ctx, promptOf(req))
	if err != nil {
		return nil, err
	}
	limit := s.MaxChars
	if limit <= 0 {
		limit = 63
	}
	out := *g
	out.FinishReason = llm.FinishStop
	if len(g.Tokens) == 0 { // a backend without log-probabilities: cut the text
		out.Text = string([]rune(g.Text)[:min(limit, utf8.RuneCountInString(g.Text))])
		return deliver(&out, fn)
	}
	var b strings.Builder
	n, chars := 0, 0
	for _, t := range g.Tokens {
		c := utf8.RuneCountInString(t.Text)
		if chars+c > limit {
			break
		}
		b.WriteString(t.Text)
		chars += c
		n++
	}
	out.Text = b.String()
	out.Tokens = append([]llm.TokenLogprob(nil), g.Tokens[:n]...)
	if len(g.TopLogprobs) > n {
		out.TopLogprobs = g.TopLogprobs[:n]
	}
	out.CompletionTokenCount = n
	return deliver(&out, fn)
}
