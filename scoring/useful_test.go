package scoring

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// A labelled corpus for p(useful), generated from a small grammar: useful
// answers are varied, on-topic English; junk answers are the kinds of
// garbage a lazy or hostile miner returns.

type ufTopic struct{ noun, plural string }

var ufTopics = []ufTopic{
	{"dog", "dogs"}, {"cat", "cats"}, {"rabbit", "rabbits"}, {"fox", "foxes"}, {"owl", "owls"},
	{"horse", "horses"}, {"duck", "ducks"}, {"bear", "bears"}, {"frog", "frogs"}, {"lion", "lions"},
	{"turtle", "turtles"}, {"squirrel", "squirrels"}, {"goat", "goats"}, {"whale", "whales"},
	{"parrot", "parrots"}, {"mouse", "mice"}, {"kite", "kites"}, {"boat", "boats"}, {"drum", "drums"},
	{"garden", "gardens"}, {"robot", "robots"}, {"train", "trains"}, {"dragon", "dragons"},
	{"bee", "bees"}, {"tree", "trees"}, {"star", "stars"}, {"river", "rivers"}, {"castle", "castles"},
	{"penguin", "penguins"}, {"elephant", "elephants"}, {"balloon", "balloons"}, {"candle", "candles"},
}

var (
	ufNames    = []string{"Tom", "Lily", "Sam", "Anna", "Ben", "Mia", "Max", "Lucy", "Jack", "Emma", "Leo", "Sara", "Tim", "Zoe", "Finn", "Ruby", "Omar", "Nina", "Paul", "Ivy"}
	ufAdjs     = []string{"little", "big", "red", "happy", "sleepy", "brave", "shiny", "old", "tiny", "funny", "gentle", "clever", "noisy", "soft", "bright", "kind", "curious", "quiet", "strong", "green", "yellow", "fluffy", "wise", "lucky", "busy", "shy", "proud", "silly", "warm", "friendly"}
	ufPlaces   = []string{"park", "forest", "garden", "river", "beach", "farm", "school", "kitchen", "hill", "village", "meadow", "pond", "market", "library", "barn", "lake", "field", "city", "yard", "cave"}
	ufVerbs    = []string{"play", "run", "swim", "sing", "jump", "climb", "explore", "dance", "read", "rest", "eat", "build", "paint", "fly", "hide", "dig", "walk", "laugh", "share", "help"}
	ufPast     = []string{"played", "ran", "swam", "sang", "jumped", "climbed", "explored", "danced", "read", "rested", "ate", "built", "painted", "flew", "hid", "dug", "walked", "laughed", "shared", "helped"}
	ufFeelings = []string{"happy", "sad", "proud", "tired", "excited", "scared", "calm", "glad", "surprised", "safe", "hungry", "lonely", "curious", "warm", "thankful"}
	ufTimes    = []string{"morning", "evening", "afternoon", "night", "weekend", "summer", "winter", "spring", "autumn", "day"}
	ufWeather  = []string{"cool", "warm", "windy", "quiet", "fresh", "dry", "damp", "bright"}
	ufThings   = []string{"an apple", "a blue hat", "a small key", "a wooden box", "a shiny coin", "a long rope", "a map", "a red ball", "a warm blanket", "a little bell", "a basket of berries", "a paper boat"}
	ufReasons  = []string{
		"it had found a new friend", "the sun was shining", "the rain had stopped", "nobody had listened",
		"the path was long", "the food was ready", "a storm was coming", "the door was open",
		"it was the first day of spring", "the music was loud", "everyone was asleep", "the water was cold",
	}
	ufBoiler = []string{
		"As an AI language model, I cannot help with that request. Please consult a qualified professional for advice.",
		"Click here to subscribe to our newsletter and get %d percent off your next order. Offer valid while supplies last.",
		"Thank you for contacting customer support. Your ticket number is %d. An agent will reply within three business days.",
		"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
		"This page has moved. If you are not redirected automatically within %d seconds, please follow the link below.",
		"I am sorry, but I am unable to provide an answer to this question at this time. Please try again later.",
		"Terms and conditions apply. All rights reserved. Copyright %d. Unauthorized reproduction is strictly prohibited.",
		"Buy now and save big on the best deals of the season. Limited time offer, free shipping on orders over %d dollars.",
		"Error %d: the server encountered an internal error and was unable to complete your request.",
		"Please enter your username and password to continue. Forgot your password? Reset it here.",
	}
)

type ufCase struct {
	prompt, response string
	useful           bool
	kind             string
}

func ufPick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func ufCap(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func ufPrompt(r *rand.Rand, t ufTopic) string {
	switch r.IntN(7) {
	case 0:
		return fmt.Sprintf("Write a short story about a %s %s.", ufPick(r, ufAdjs), t.noun)
	case 1:
		return fmt.Sprintf("Tell me a story about %s and a %s.", ufPick(r, ufNames), t.noun)
	case 2:
		return fmt.Sprintf("Explain why %s like to %s.", t.plural, ufPick(r, ufVerbs))
	case 3:
		return fmt.Sprintf("Describe a %s to a young child.", t.noun)
	case 4:
		return fmt.Sprintf("What do %s do in the %s?", t.plural, ufPick(r, ufTimes))
	case 5:
		return fmt.Sprintf("Give me some simple facts about %s.", t.plural)
	default:
		return fmt.Sprintf("Write a bedtime story where a %s visits the %s.", t.noun, ufPick(r, ufPlaces))
	}
}

func ufSentence(r *rand.Rand, t ufTopic, name string) string {
	switch r.IntN(14) {
	case 0:
		return fmt.Sprintf("%s had a %s %s.", name, ufPick(r, ufAdjs), t.noun)
	case 1:
		return fmt.Sprintf("Every %s, the %s went to the %s to %s.", ufPick(r, ufTimes), t.noun, ufPick(r, ufPlaces), ufPick(r, ufVerbs))
	case 2:
		return fmt.Sprintf("One day, %s saw a %s %s near the %s.", name, ufPick(r, ufAdjs), t.noun, ufPick(r, ufPlaces))
	case 3:
		return fmt.Sprintf("The %s was %s because %s.", t.noun, ufPick(r, ufFeelings), ufPick(r, ufReasons))
	case 4:
		return fmt.Sprintf("%s usually %s when they feel %s.", ufCap(t.plural), ufPick(r, ufVerbs), ufPick(r, ufFeelings))
	case 5:
		return fmt.Sprintf("It is a good idea to give a %s a quiet place to %s.", t.noun, ufPick(r, ufVerbs))
	case 6:
		return fmt.Sprintf("At the end of the %s, %s and the %s %s together and felt %s.", ufPick(r, ufTimes), name, t.noun, ufPick(r, ufPast), ufPick(r, ufFeelings))
	case 7:
		return fmt.Sprintf("%s like to %s because it helps them stay %s and %s.", ufCap(t.plural), ufPick(r, ufVerbs), ufPick(r, ufAdjs), ufPick(r, ufFeelings))
	case 8:
		return fmt.Sprintf("Many %s also %s in the %s when the air is %s.", t.plural, ufPick(r, ufVerbs), ufPick(r, ufTimes), ufPick(r, ufWeather))
	case 9:
		return fmt.Sprintf("%s found %s and gave it to the %s %s.", name, ufPick(r, ufThings), ufPick(r, ufAdjs), t.noun)
	case 10:
		return fmt.Sprintf("\"Can we %s in the %s?\" asked %s.", ufPick(r, ufVerbs), ufPick(r, ufPlaces), name)
	case 11:
		return fmt.Sprintf("A %s needs food, water and a safe home, just like people do.", t.noun)
	case 12:
		return fmt.Sprintf("Then the %s %s all the way to the %s, and %s followed it.", t.noun, ufPick(r, ufPast), ufPick(r, ufPlaces), name)
	default:
		return fmt.Sprintf("%s smiled, because %s.", name, ufPick(r, ufReasons))
	}
}

func ufUsefulAnswer(r *rand.Rand, t ufTopic) string {
	name := ufPick(r, ufNames)
	n := 2 + r.IntN(6)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = ufSentence(r, t, name)
	}
	return strings.Join(parts, " ")
}

func ufRandomWord(r *rand.Rand, alphabet string) string {
	n := 2 + r.IntN(8)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func ufJunk(r *rand.Rand, prompt string, t ufTopic) (string, string) {
	switch r.IntN(6) {
	case 0: // shuffled words of a sensible answer
		w := strings.Fields(ufUsefulAnswer(r, t))
		if len(w) < 8 {
			w = append(w, strings.Fields(ufUsefulAnswer(r, t))...)
		}
		r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
		return strings.Join(w, " "), "shuffled"
	case 1: // random letters
		n := 8 + r.IntN(60)
		w := make([]string, n)
		for i := range w {
			w[i] = ufRandomWord(r, "abcdefghijklmnopqrstuvwxyz")
		}
		return strings.Join(w, " ") + ".", "random_letters"
	case 2: // keyboard mash
		rows := []string{"qwertyuiop", "asdfghjkl", "zxcvbnm", "asdfjkl;", "qwerasdf", "hjkl"}
		n := 4 + r.IntN(25)
		w := make([]string, n)
		for i := range w {
			row := ufPick(r, rows)
			a := r.IntN(len(row) - 1)
			b := a + 2 + r.IntN(len(row)-a-1)
			w[i] = row[a:min(b, len(row))]
		}
		return strings.Join(w, " "), "keyboard_mash"
	case 3: // repeated phrase
		var unit string
		if r.IntN(2) == 0 {
			unit = ufSentence(r, t, ufPick(r, ufNames))
		} else {
			unit = fmt.Sprintf("the %s %s", ufPick(r, ufAdjs), t.noun)
		}
		return strings.TrimSpace(strings.Repeat(unit+" ", 4+r.IntN(12))), "repeated"
	case 4: // off-topic boilerplate
		b := ufPick(r, ufBoiler)
		if strings.Contains(b, "%d") {
			b = fmt.Sprintf(b, 2+r.IntN(2000))
		}
		if r.IntN(2) == 0 {
			b2 := ufPick(r, ufBoiler)
			if strings.Contains(b2, "%d") {
				b2 = fmt.Sprintf(b2, 2+r.IntN(2000))
			}
			b += " " + b2
		}
		return b, "boilerplate"
	default: // prompt echo
		switch r.IntN(3) {
		case 0:
			return prompt, "echo"
		case 1:
			return "Sure! " + prompt, "echo"
		default:
			return prompt + " " + prompt, "echo"
		}
	}
}

// ufCorpus returns n labelled cases, half useful, from seed.
func ufCorpus(seed uint64, n int) []ufCase {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]ufCase, n)
	for i := range out {
		t := ufPick(r, ufTopics)
		p := ufPrompt(r, t)
		if i%2 == 0 {
			out[i] = ufCase{prompt: p, response: ufUsefulAnswer(r, t), useful: true, kind: "useful"}
		} else {
			resp, kind := ufJunk(r, p, t)
			out[i] = ufCase{prompt: p, response: resp, kind: kind}
		}
	}
	return out
}

func ufInput(c ufCase) UsefulInput { return UsefulInput{Prompt: c.prompt, Response: c.response} }

// ufEval returns accuracy at 0.5 and the expected calibration error over
// 10 equal-width bins.
func ufEval(u *Useful, cases []ufCase) (acc, ece float64, perKind map[string]float64) {
	const bins = 10
	var cnt [bins]int
	var sumP, sumY [bins]float64
	right := 0
	kindN := map[string]int{}
	kindRight := map[string]int{}
	for _, c := range cases {
		p := u.Predict(ufInput(c))
		if (p >= 0.5) == c.useful {
			right++
			kindRight[c.kind]++
		}
		kindN[c.kind]++
		b := int(p * bins)
		if b >= bins {
			b = bins - 1
		}
		cnt[b]++
		sumP[b] += p
		if c.useful {
			sumY[b]++
		}
	}
	for b := range cnt {
		if cnt[b] > 0 {
			ece += math.Abs(sumP[b]-sumY[b]) / float64(len(cases))
		}
	}
	perKind = map[string]float64{}
	for k, n := range kindN {
		perKind[k] = float64(kindRight[k]) / float64(n)
	}
	return float64(right) / float64(len(cases)), ece, perKind
}

// ufTrainHonest trains u on cases online, spread over 20 honest miners,
// starting a new window every 400 examples.
func ufTrainHonest(t testing.TB, u *Useful, cases []ufCase) {
	t.Helper()
	for i, c := range cases {
		if i%400 == 0 {
			u.SetWindow(uint64(i / 400))
		}
		if err := u.Train(ufInput(c), c.useful, fmt.Sprintf("honest-%02d", i%20), EvidenceTrap); err != nil {
			t.Fatalf("train %d: %v", i, err)
		}
	}
}

func TestUsefulHeldOutAccuracyAndCalibration(t *testing.T) {
	corpus := ufCorpus(1, 5000)
	train, held := corpus[:4000], corpus[4000:]
	u, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := u.Predict(ufInput(held[0])); p != 0.5 {
		t.Errorf("untrained p = %v, want 0.5", p)
	}
	ufTrainHonest(t, u, train)
	acc, ece, perKind := ufEval(u, held)
	t.Logf("held-out: accuracy %.4f, ECE(10 bins) %.4f, n=%d, trained on %d", acc, ece, len(held), u.Trained())
	t.Logf("held-out accuracy by kind: %v", perKind)
	if acc < 0.9 {
		t.Errorf("held-out accuracy %.4f < 0.9", acc)
	}
	if ece > 0.1 {
		t.Errorf("held-out ECE %.4f > 0.1", ece)
	}
}

func TestUsefulPerMinerCapStopsFlooding(t *testing.T) {
	corpus := ufCorpus(2, 2000)
	train, held := corpus[:1600], corpus[1600:]
	junk := ufCorpus(3, 4000)

	run := func(capPerWindow int) (acc, junkMean float64, accepted int) {
		cfg := DefaultUsefulConfig()
		cfg.MaxPerMinerPerWindow = capPerWindow
		u, err := NewUseful(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ufTrainHonest(t, u, train[:800])
		// Then, for 5 windows, honest traffic goes on while one hostile
		// miner floods junk labelled useful (say, through colluding
		// labelers), 2 attempts per honest example.
		var flood []ufCase
		for _, c := range junk {
			if !c.useful {
				flood = append(flood, c)
			}
		}
		honest := train[800:]
		per := len(honest) / 5
		for i, c := range honest {
			u.SetWindow(uint64(100 + i/per))
			if err := u.Train(ufInput(c), c.useful, fmt.Sprintf("honest-%02d", i%20), EvidenceTrap); err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 2 && len(flood) > 0; k++ {
				c := flood[0]
				flood = flood[1:]
				switch err := u.Train(ufInput(c), true, "evil", EvidencePreference); {
				case err == nil:
					accepted++
				case errors.Is(err, ErrMinerCapped):
				default:
					t.Fatal(err)
				}
			}
		}
		acc, _, _ = ufEval(u, held)
		n := 0
		for _, c := range held {
			if !c.useful {
				junkMean += u.Predict(ufInput(c))
				n++
			}
		}
		return acc, junkMean / float64(n), accepted
	}

	acc, junkMean, accepted := run(DefaultUsefulConfig().MaxPerMinerPerWindow)
	t.Logf("capped flood: %d mislabelled examples accepted, held-out accuracy %.4f, mean p(useful) of junk %.3f", accepted, acc, junkMean)
	if want := 5 * DefaultUsefulConfig().MaxPerMinerPerWindow; accepted > want {
		t.Errorf("accepted %d flood examples, cap allows %d", accepted, want)
	}
	if acc < 0.85 || junkMean > 0.3 {
		t.Errorf("capped flood flipped predictions: accuracy %.4f, junk mean %.3f", acc, junkMean)
	}

	accU, junkMeanU, acceptedU := run(1 << 30)
	t.Logf("uncapped flood: %d accepted, held-out accuracy %.4f, mean p(useful) of junk %.3f", acceptedU, accU, junkMeanU)
	if junkMeanU < 0.5 {
		t.Errorf("without the cap the flood should flip junk to useful (mean %.3f); the test no longer shows what the cap does", junkMeanU)
	}
}

// Only usefulness outcomes train p(useful): an unverified label, and
// evidence of who produced an answer (model verification, a copy), leave
// it unchanged, with an error that says why.
func TestUsefulTrainsOnUsefulnessOnly(t *testing.T) {
	u, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := UsefulInput{Prompt: "p", Response: "Tom had a red ball."}
	for _, tc := range []struct {
		ev   Evidence
		want error
	}{
		{EvidenceNone, ErrUnverifiedEvidence},
		{Evidence(200), ErrUnverifiedEvidence},
		{EvidenceVerification, ErrNotUsefulness},
		{EvidenceCopy, ErrNotUsefulness},
	} {
		for _, useful := range []bool{true, false} {
			if err := u.Train(in, useful, "m", tc.ev); !errors.Is(err, tc.want) {
				t.Errorf("Train(%v, useful=%v): err = %v, want %v", tc.ev, useful, err, tc.want)
			}
		}
		if err := u.TrainProb(in, 0.7, "m", tc.ev); !errors.Is(err, tc.want) {
			t.Errorf("TrainProb(%v): err = %v, want %v", tc.ev, err, tc.want)
		}
	}
	for _, p := range []float64{-0.1, 1.5, math.NaN(), math.Inf(1)} {
		if err := u.TrainProb(in, p, "m", EvidenceJudge); !errors.Is(err, ErrBadLabel) {
			t.Errorf("TrainProb(p=%v): err = %v, want ErrBadLabel", p, err)
		}
	}
	if u.Trained() != 0 {
		t.Errorf("trained %d on refused labels", u.Trained())
	}
	if p := u.Predict(in); p != 0.5 {
		t.Errorf("refused labels moved the prediction to %v", p)
	}
	for i, ev := range []Evidence{EvidenceTrap, EvidenceReference, EvidencePreference, EvidenceAudit, EvidenceJudge} {
		if !ev.Verified() || !ev.Usefulness() || strings.HasPrefix(ev.String(), "evidence(") {
			t.Errorf("%v: verified %v, usefulness %v", ev, ev.Verified(), ev.Usefulness())
		}
		if err := u.Train(in, true, "m", ev); err != nil {
			t.Errorf("Train(%v): %v", ev, err)
		}
		if got := u.Trained(); got != uint64(i+1) {
			t.Errorf("after %v: trained %d", ev, got)
		}
	}
	for _, ev := range []Evidence{EvidenceVerification, EvidenceCopy} {
		if !ev.Verified() || ev.Usefulness() {
			t.Errorf("%v: verified %v, usefulness %v", ev, ev.Verified(), ev.Usefulness())
		}
	}
}

// A judge's probabilities, as soft labels, are distilled: answers it finds
// likely useful score high, unlikely ones low, and the calibrated
// probabilities land near what the judge said.
func TestUsefulTrainProbDistilsAJudge(t *testing.T) {
	corpus := ufCorpus(8, 3000)
	train, held := corpus[:2400], corpus[2400:]
	u, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The judge: 0.85 for useful answers, 0.1 for junk.
	judge := func(c ufCase) float64 {
		if c.useful {
			return 0.85
		}
		return 0.1
	}
	for i, c := range train {
		if err := u.TrainProb(ufInput(c), judge(c), fmt.Sprintf("m%02d", i%50), EvidenceJudge); err != nil {
			t.Fatal(err)
		}
	}
	var sumU, sumJ float64
	var nU, nJ int
	for _, c := range held {
		p := u.Predict(ufInput(c))
		if c.useful {
			sumU, nU = sumU+p, nU+1
		} else {
			sumJ, nJ = sumJ+p, nJ+1
		}
	}
	mu, mj := sumU/float64(nU), sumJ/float64(nJ)
	t.Logf("mean p(useful): useful %.3f (judge said 0.85), junk %.3f (judge said 0.10)", mu, mj)
	if math.Abs(mu-0.85) > 0.08 || math.Abs(mj-0.1) > 0.08 {
		t.Errorf("distilled probabilities %.3f / %.3f, want about 0.85 / 0.10", mu, mj)
	}
}

func TestUsefulMarshalRoundTrip(t *testing.T) {
	corpus := ufCorpus(4, 600)
	u, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ufTrainHonest(t, u, corpus[:500])
	for i, c := range corpus[:40] { // and soft labels, as a judge gives
		if err := u.TrainProb(ufInput(c), float64(i)/40, "judge", EvidenceJudge); err != nil {
			t.Fatal(err)
		}
	}
	blob, err := u.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v := new(Useful)
	if err := v.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	for _, c := range corpus[500:] {
		if a, b := u.Predict(ufInput(c)), v.Predict(ufInput(c)); a != b {
			t.Fatalf("prediction differs after round trip: %v vs %v", a, b)
		}
	}
	blob2, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blob, blob2) {
		t.Errorf("re-marshalled state differs (%d vs %d bytes)", len(blob), len(blob2))
	}
	// Training continues identically from the restored state.
	for _, c := range corpus[500:550] {
		_ = u.Train(ufInput(c), c.useful, "x", EvidenceAudit)
		_ = v.Train(ufInput(c), c.useful, "x", EvidenceAudit)
	}
	if a, b := u.Predict(ufInput(corpus[599])), v.Predict(ufInput(corpus[599])); a != b {
		t.Errorf("training diverged after restore: %v vs %v", a, b)
	}
	t.Logf("state: %d bytes after %d examples", len(blob), 500)

	// Corruption is a clear error and leaves the classifier unchanged.
	before := v.Predict(ufInput(corpus[0]))
	for _, tc := range []struct {
		name string
		mut  func([]byte) []byte
		want string
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }, "checksum"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-10] }, "checksum"},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, "magic"},
		{"future version", func(b []byte) []byte { b[8] = 9; return b }, "version"},
		{"version 1 (trained on verification)", func(b []byte) []byte { b[8] = 1; return b }, "version 1"},
		{"empty", func(b []byte) []byte { return nil }, "too short"},
	} {
		bad := tc.mut(bytes.Clone(blob))
		err := v.UnmarshalBinary(bad)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	v1 := bytes.Clone(blob)
	v1[8] = 1
	if err := v.UnmarshalBinary(v1); !errors.Is(err, ErrUsefulStateOutdated) {
		t.Errorf("a version 1 state: err = %v, want ErrUsefulStateOutdated", err)
	}
	if after := v.Predict(ufInput(corpus[0])); after != before {
		t.Errorf("failed unmarshal changed the model: %v -> %v", before, after)
	}
}

func TestUsefulConcurrentPredictAndTrain(t *testing.T) {
	corpus := ufCorpus(5, 400)
	u, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, c := range corpus {
				if g == 0 {
					_ = u.Train(ufInput(c), c.useful, fmt.Sprint(i%10), EvidenceTrap)
					continue
				}
				if p := u.Predict(ufInput(c)); !(p >= 0 && p <= 1) {
					t.Errorf("p = %v", p)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestUsefulConfigValidate(t *testing.T) {
	bad := []func(*UsefulConfig){
		func(c *UsefulConfig) { c.Alpha = 0 },
		func(c *UsefulConfig) { c.L2 = -1 },
		func(c *UsefulConfig) { c.Beta = math.NaN() },
		func(c *UsefulConfig) { c.MaxPerMinerPerWindow = 0 },
		func(c *UsefulConfig) { c.CalibrationWindow = 10 },
		func(c *UsefulConfig) { c.CalibrationEvery = 0 },
	}
	for i, mut := range bad {
		c := DefaultUsefulConfig()
		mut(&c)
		if _, err := NewUseful(c, nil); err == nil {
			t.Errorf("case %d: invalid config accepted", i)
		}
	}
}

func TestFeatureExtractDeterministicAndInRange(t *testing.T) {
	fx := NewFeatureExtractor(nil)
	var a, b Features
	for _, c := range ufCorpus(6, 200) {
		in := ufInput(c)
		in.SimOthers, in.SimOwn = 0.7, math.NaN()
		fx.Extract(in, &a)
		fx.Extract(in, &b)
		if len(a.Idx) != len(a.Val) || len(a.Idx) == 0 {
			t.Fatalf("bad vector lengths %d/%d", len(a.Idx), len(a.Val))
		}
		for i, ix := range a.Idx {
			if ix >= FeatureDims || a.Val[i] != a.Val[i] {
				t.Fatalf("bad feature %d=%v", ix, a.Val[i])
			}
			if b.Idx[i] != ix || b.Val[i] != a.Val[i] {
				t.Fatalf("extraction not deterministic")
			}
		}
	}
}

func TestFeatureQualitySeparatesJunk(t *testing.T) {
	fx := NewFeatureExtractor(nil)
	story := "Tom had a red ball. He liked to play with it in the park. One day the ball rolled into the pond, and his sister helped him get it back."
	mash := "asdf jkl qwer asdfjkl zxcv qwerty hjkl asdf zxcvbnm qwer sdfg hjkl asdfgh"
	qs, qm := fx.Quality(UsefulInput{Response: story}), fx.Quality(UsefulInput{Response: mash})
	t.Logf("story bigram %.2f bits, mash %.2f bits", qs.BigramScore, qm.BigramScore)
	if qs.BigramScore <= qm.BigramScore+0.5 {
		t.Errorf("bigram model does not separate English (%.2f) from mash (%.2f)", qs.BigramScore, qm.BigramScore)
	}
	echo := fx.Quality(UsefulInput{Prompt: "Tell me a story about a dog in the park.", Response: "Tell me a story about a dog in the park."})
	if echo.PromptContainment != 1 || echo.PromptCoverage != 1 {
		t.Errorf("echo containment %.2f coverage %.2f, want 1, 1", echo.PromptContainment, echo.PromptCoverage)
	}
}
