package scoring

import (
	"math/rand/v2"
	"strings"
)

// Story prompt parts: plain words a small story model's tokenizer encodes
// (letters, spaces, commas and full stops only).
var (
	spNames   = []string{"Tom", "Lily", "Ben", "Sue", "Max", "Anna", "Sam", "Mia", "Tim", "Lucy", "Jack", "Emma"}
	spAnimals = []string{"cat", "dog", "bird", "frog", "bunny", "duck", "fish", "bear", "mouse", "puppy"}
	spThings  = []string{"ball", "kite", "box", "hat", "toy car", "book", "flower", "cake", "boat", "shell"}
	spAdjs    = []string{"red", "big", "little", "shiny", "blue", "soft", "old", "happy", "green", "funny"}
	spPlaces  = []string{"park", "garden", "beach", "forest", "house", "river", "school", "shop", "farm", "hill"}
	spOpeners = []func(r *rand.Rand) string{
		func(r *rand.Rand) string {
			return "Once upon a time, there was a " + pick(r, spAdjs) + " " + pick(r, spAnimals) + " named " + pick(r, spNames) + "."
		},
		func(r *rand.Rand) string {
			return pick(r, spNames) + " had a " + pick(r, spAdjs) + " " + pick(r, spThings) + "."
		},
		func(r *rand.Rand) string {
			return "One day, " + pick(r, spNames) + " went to the " + pick(r, spPlaces) + " with a " + pick(r, spAnimals) + "."
		},
		func(r *rand.Rand) string {
			return pick(r, spNames) + " and " + pick(r, spNames) + " found a " + pick(r, spThings) + " in the " + pick(r, spPlaces) + "."
		},
	}
)

func pick(r *rand.Rand, words []string) string { return words[r.IntN(len(words))] }

// StoryPrompt returns the opening of a short story, fixed by seed: an
// inference task whose answer is not known in advance but can be verified
// against the model the miner declares and judged for usefulness. There
// are tens of thousands of openings, so a miner cannot cache answers.
func StoryPrompt(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 0x570e1))
	var b strings.Builder
	b.WriteString(spOpeners[r.IntN(len(spOpeners))](r))
	if r.IntN(2) == 0 {
		b.WriteString(" " + spOpeners[r.IntN(len(spOpeners))](r))
	}
	return b.String()
}
