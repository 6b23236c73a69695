package scoring

import (
	"strings"
	"testing"
)

// Stories in the style of the demo model (babyllama105, TinyStories-like):
// simple words, names repeated, dialogue.
const (
	ruleStoryLily = `Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big red ball in the park. She wanted to play with it, but it was stuck in a tree. Lily asked her mom, "Can you help me get the ball?" Her mom said, "Yes, Lily. Let's get the ball together." They got the ball and played all day. Lily was very happy. She said, "Thank you, mom. I love you." Her mom smiled and said, "I love you too, Lily."`
	ruleStoryTom  = `Tom had a red ball. He liked to play with it in the park. One day, Tom saw a dog. The dog wanted to play too. Tom threw the ball and the dog ran to get it. The dog was fast. Tom laughed. They played and played until the sun went down. Then Tom went home with his ball and the dog went home too. Tom was happy. He had a new friend.`
	ruleStoryBen  = `Ben and Mia went to the beach. They saw a big crab. The crab was red and it had big claws. "Look, Mia, a crab!" said Ben. Mia was scared. She did not like the crab. Ben said, "Do not be scared. The crab is small and we are big." Mia felt better. They watched the crab walk to the water. Then they built a sand castle and had fun.`
)

func TestRulesPassOrdinaryText(t *testing.T) {
	c, err := NewRuleChecker(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	prompt := "Write a short story for a child."
	for _, resp := range []string{
		"Tom had a red ball. He liked to play with it in the park.",
		"Yes.",
		"No",
		"It is red.",
		"I am a boy.",
		"Paris is the capital of France.",
		"The answer is 42.",
		"2, 3, 5, 7, 11, 13, 17, 19, 23, 29",
		"Mix 2 cups of flour with 1 cup of milk, then bake at 180 C for 25 minutes.",
		"Use len(s) to get the length of a string in Go: n := len(s).",
		"Café au lait is coffee with hot milk, popular in France.",
		"Der Hund spielt im Garten mit einem roten Ball und ist sehr glücklich.",
		"小明有一个红色的球。他喜欢在公园里玩。有一天，他看见了一只小狗。小狗也想玩。他们一起玩了很久，直到太阳下山。",
		"Why do cats purr? They purr when they feel safe, and sometimes when they are hurt.",
		"I I I think so.",
		ruleStoryLily, ruleStoryTom, ruleStoryBen,
		ruleStoryTom + " " + ruleStoryBen + " " + ruleStoryLily,
		ufEnglishText,
	} {
		if v := c.Check(prompt, resp); !v.OK() {
			t.Errorf("%q: %v, want ok", resp, v)
		}
	}
	// And a sample of the useful answers of the classifier's corpus.
	for _, cs := range ufCorpus(7, 400) {
		if cs.useful {
			if v := c.Check(cs.prompt, cs.response); !v.OK() {
				t.Errorf("%q: %v, want ok", cs.response, v)
			}
		}
	}
}

func TestRulesCatchJunk(t *testing.T) {
	c, err := NewRuleChecker(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	prompt := "Tell me a story about a dog who finds a red ball in the park."
	for _, tc := range []struct {
		resp string
		want RuleReason
		stat string
	}{
		{"", RuleEmpty, ""},
		{" \n\t\u00a0 ", RuleEmpty, ""},
		{"a", RuleTooShort, "non_space_runes"},
		{"!!", RuleTooShort, "words"},
		{"asdfghjkl qwrtp zxcvbnm sdfghjk hjkl", RuleGibberish, "vowel_ratio"},
		{"#$%^&*()_+ @@@ ### $$$ %%% ^^^ ~~~ |||", RuleGibberish, "alnum_ratio"},
		{strings.Repeat("\xff\xfe\x80", 12), RuleGibberish, "alnum_ratio"},
		{"Tom ☃☃ had ☃☃ a red ☃☃☃ ball ☃ and a big ☃☃☃ dog ☃ too", RuleGibberish, "symbol_ratio"},
		{"a b a c a d e f i g o h u", RuleGibberish, "mean_word_len"},
		{"Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic floccinaucinihilipilification incomprehensibilities hippopotomonstrosesquippedaliophobia honorificabilitudinitatibus thyroparathyroidectomized", RuleGibberish, "mean_word_len"},
		{"hello - - there - - my - - good - - friend - - how - - are - - you - -", RuleGibberish, "non_letter_tokens"},
		{strings.Repeat("the dog the dog ", 10), RuleRepetition, "repeated_ngrams"},
		{strings.Repeat("Tom had a red ball. ", 8), RuleRepetition, "repeated_ngrams"},
		{prompt, RuleEcho, "equals_prompt"},
		{"  TELL me a story about a dog, who finds a red ball in the park!!", RuleEcho, "equals_prompt"},
		{"Sure! Tell me a story about a dog who finds a red ball in the park.", RuleEcho, "prompt_containment"},
	} {
		v := c.Check(prompt, tc.resp)
		if v.Reason != tc.want || (tc.stat != "" && v.Stat != tc.stat) {
			t.Errorf("%q: %v, want %s (%s)", tc.resp, v, tc.want, tc.stat)
		}
	}
}

func TestRulesCompressionRatio(t *testing.T) {
	r := DefaultRules()
	r.MaxRepeatedNgrams = 1 // isolate the compression rule
	c, err := NewRuleChecker(r)
	if err != nil {
		t.Fatal(err)
	}
	s := c.getScratch()
	for _, text := range []string{ruleStoryLily, ruleStoryTom, ruleStoryBen, ufEnglishText} {
		if cr := s.compressionRatio(text); cr > r.MaxCompressionRatio-0.7 {
			t.Errorf("ordinary text compresses %.2f, too close to the limit %.2f", cr, r.MaxCompressionRatio)
		}
	}
	t.Logf("compression ratios: Lily %.2f, Tom %.2f, Ben %.2f, shipped text %.2f",
		s.compressionRatio(ruleStoryLily), s.compressionRatio(ruleStoryTom), s.compressionRatio(ruleStoryBen), s.compressionRatio(ufEnglishText))
	loop := strings.Repeat("He was happy and she was happy too, ", 12)
	if v := c.Check("", loop); v.Reason != RuleRepetition || v.Stat != "compression_ratio" {
		t.Errorf("degenerate loop: %v, want repetition by compression_ratio", v)
	}
}

func TestRulesOneShotAndValidate(t *testing.T) {
	if v, ok := CheckRules("Say hi.", "Hi there, how are you today?", DefaultRules()); !ok || !v.OK() || v.String() != "ok" {
		t.Errorf("CheckRules: %v %v", v, ok)
	}
	if v, ok := CheckRules("Say hi.", "", DefaultRules()); ok || v.Reason != RuleEmpty {
		t.Errorf("CheckRules(empty): %v %v", v, ok)
	}
	bad := DefaultRules()
	bad.MinVowelRatio = 0.9
	if _, err := NewRuleChecker(bad); err == nil {
		t.Error("MinVowelRatio > MaxVowelRatio accepted")
	}
	bad = DefaultRules()
	bad.MaxCompressionRatio = 0.5
	if _, ok := CheckRules("", "fine text here", bad); ok {
		t.Error("CheckRules with invalid rules passed")
	}
	if s := (RuleVerdict{Reason: RuleGibberish, Stat: "vowel_ratio", Value: 0.08}).String(); s != "gibberish (vowel_ratio=0.08)" {
		t.Errorf("String = %q", s)
	}
}

func TestRulesOnClassifierJunk(t *testing.T) {
	// The hard rules are conservative, but they should catch most of the
	// blatant junk kinds on their own.
	c, err := NewRuleChecker(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	caught := map[string]int{}
	total := map[string]int{}
	for _, cs := range ufCorpus(8, 1200) {
		if cs.useful {
			continue
		}
		total[cs.kind]++
		if !c.Check(cs.prompt, cs.response).OK() {
			caught[cs.kind]++
		}
	}
	for k, n := range total {
		t.Logf("rules catch %-14s %4d/%4d", k, caught[k], n)
	}
	for k, frac := range map[string]float64{"keyboard_mash": 0.5, "repeated": 0.9, "echo": 0.8} {
		if float64(caught[k]) < frac*float64(total[k]) {
			t.Errorf("rules caught only %d/%d of %s", caught[k], total[k], k)
		}
	}
}
