package scoring

import (
	"math"
	"slices"
	"testing"
)

func TestFeatureTopicality(t *testing.T) {
	fx := NewFeatureExtractor(nil)
	const gpl = "The GNU General Public License is a free, copyleft license for software and other kinds of works."
	for _, tc := range []struct {
		name, prompt, response string
		// want ranges: topicality, coverage, chars; shared exactly
		topicLo, topicHi float64
		covLo, covHi     float64
		charsLo, charsHi float64
		shared           int
	}{
		{"echo", gpl, gpl, 1, 1, 1, 1, 1, 1, 9},
		// "Licensed" meets "License" (5-letter stems), "software",
		// "copyleft" and "GNU" are the prompt's; "keeps", "terms" and
		// "work" (not "works") are new: 4 of 7, and 4 of the prompt's 9.
		{"on topic", gpl, "Licensed software keeps its copyleft terms for every work under the GNU license.", 0.57, 0.58, 0.44, 0.45, 0.6, 0.95, 4},
		{"off topic", gpl, "The cat sat in the warm kitchen and watched the rain fall outside.", 0, 0, 0, 0, 0, 0.25, 0},
		{"function words only", gpl, "and the of with which would there", 0, 0, 0, 0, 0, 0, 0},
		{"empty prompt", "", "Licensed software keeps its copyleft terms.", 0, 0, 0, 0, 0, 0, 0},
		{"empty response", gpl, "", 0, 0, 0, 0, 0, 0, 0},
		{"other script", "Лицензия разрешает копировать программу.", "Программа и лицензия свободны.", 0.66, 0.67, 0.5, 0.5, 0.5, 1, 2},
		{"case and digits", "Version 2.1 of the LIBRARY", "the library version 2.1", 1, 1, 1, 1, 1, 1, 2},
	} {
		q := fx.Quality(UsefulInput{Prompt: tc.prompt, Response: tc.response})
		if q.Topicality < tc.topicLo || q.Topicality > tc.topicHi ||
			q.TopicCoverage < tc.covLo || q.TopicCoverage > tc.covHi ||
			q.TopicChars < tc.charsLo || q.TopicChars > tc.charsHi || q.TopicShared != tc.shared {
			t.Errorf("%s: topicality %.3f coverage %.3f chars %.3f shared %d; want [%.2f,%.2f] [%.2f,%.2f] [%.2f,%.2f] %d",
				tc.name, q.Topicality, q.TopicCoverage, q.TopicChars, q.TopicShared,
				tc.topicLo, tc.topicHi, tc.covLo, tc.covHi, tc.charsLo, tc.charsHi, tc.shared)
		}
	}
}

// Only the end of a long prompt counts: what a continuation follows.
func TestFeatureTopicalityReadsThePromptsEnd(t *testing.T) {
	fx := NewFeatureExtractor(nil)
	filler := string(slices.Repeat([]byte("lorem ipsum dolor sit amet "), ufMaxFeatureBytes/27+1))
	resp := "Elephants remember watering places."
	early := fx.Quality(UsefulInput{Prompt: "Elephants remember watering places. " + filler, Response: resp})
	late := fx.Quality(UsefulInput{Prompt: filler + " Elephants remember watering places.", Response: resp})
	if early.Topicality != 0 || late.Topicality != 1 {
		t.Errorf("topicality with the topic at the start of a long prompt %.2f (want 0), at its end %.2f (want 1)", early.Topicality, late.Topicality)
	}
}

func TestFeatureMidCapitals(t *testing.T) {
	for _, tc := range []struct {
		text string
		want float64
	}{
		{"The cat sat. The dog ran! Because it could? This: yes.", 0},
		{"cat The sat dog. ran The", 1},
		{`He said "The end" and This was it.`, 1.0 / 3}, // "He" starts; "The" opens a quotation; "This" is out of place
		{"I think I can, and I will.", 0},               // "I" is always capitalised
		{"Tom and Lily went to the Park with Sam.", 0},  // names are not function words
		{"(The first) word, then The second.", 0.5},
		{"", 0},
		{"   \t\n ", 0},
		{"\xff\xfe The \xc3\x28", 1}, // after a word that ends no sentence
		{"Thereafter there was The", 1},
		{"Don't go. “The end,” she said. ‘This’ is it.", 0},
		{"x.The", 0}, // a token, not a capitalised word
	} {
		if got := ufMidCapitals(tc.text); got != tc.want {
			t.Errorf("ufMidCapitals(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// MeanLogprob is a feature only when HasLogprob says it is known and it is
// a log-probability; its bins move with it, and an unknown one has a slot
// of its own.
func TestFeatureLogprob(t *testing.T) {
	fx := NewFeatureExtractor(nil)
	base := UsefulInput{Prompt: "Tell me a story.", Response: "Tom had a red ball. He played with it in the park."}
	vec := func(lp float64, has bool) Features {
		in := base
		in.MeanLogprob, in.HasLogprob = lp, has
		var f Features
		fx.Extract(in, &f)
		return f
	}
	unknown := vec(0, false)
	for _, tc := range []struct {
		lp    float64
		has   bool
		known bool
	}{
		{-1.2, false, false},
		{math.NaN(), true, false},
		{math.Inf(-1), true, false},
		{0.5, true, false},
		{-1.2, true, true},
		{0, true, true},
		{-40, true, true},
	} {
		in := base
		in.MeanLogprob, in.HasLogprob = tc.lp, tc.has
		q := fx.Quality(in)
		f := vec(tc.lp, tc.has)
		same := slices.Equal(f.Idx, unknown.Idx) && slices.Equal(f.Val, unknown.Val)
		if q.HasLogprob != tc.known || same == tc.known {
			t.Errorf("MeanLogprob %v, HasLogprob %v: known %v, vector same as unknown %v; want known %v", tc.lp, tc.has, q.HasLogprob, same, tc.known)
		}
		if tc.known && q.MeanLogprob != tc.lp {
			t.Errorf("MeanLogprob %v: quality has %v", tc.lp, q.MeanLogprob)
		}
	}
	a, b := vec(-1, true), vec(-3, true)
	if slices.Equal(a.Idx, b.Idx) && slices.Equal(a.Val, b.Val) {
		t.Error("log-probabilities -1 and -3 give the same features")
	}
}
