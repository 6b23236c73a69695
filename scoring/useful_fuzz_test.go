package scoring

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"testing"
)

func FuzzCheckRules(f *testing.F) {
	f.Add("Write a story.", ruleStoryTom)
	f.Add("", "")
	f.Add("p", "\xff\xfe\x00 invalid \xc3\x28 utf8 \xed\xa0\x80")
	f.Add("Tell me about dogs.", "Tell me about dogs.")
	f.Add("x", "ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha")
	f.Add("中文", "小明有一个红色的球。他喜欢在公园里玩。")
	c, err := NewRuleChecker(DefaultRules())
	if err != nil {
		f.Fatal(err)
	}
	valid := map[RuleReason]bool{RuleOK: true, RuleEmpty: true, RuleTooShort: true, RuleGibberish: true, RuleRepetition: true, RuleEcho: true}
	f.Fuzz(func(t *testing.T, prompt, response string) {
		v := c.Check(prompt, response)
		if !valid[v.Reason] || math.IsNaN(v.Value) {
			t.Fatalf("invalid verdict %+v", v)
		}
		if v2 := c.Check(prompt, response); v2 != v {
			t.Fatalf("not deterministic: %+v then %+v", v, v2)
		}
	})
}

func FuzzFeatureExtract(f *testing.F) {
	f.Add("Write a story.", ruleStoryTom, 0.5, 0.1, -1.5, true)
	f.Add("", "", 0.0, 0.0, 0.0, false)
	f.Add("\x00", "\xff\xfe\x80 \xc3\x28 a\tb\nc", math.NaN(), math.Inf(1), math.NaN(), true)
	f.Add("Tell me about dogs.", "Tell me about dogs.", -1.0, 2.0, 3.0, true)
	f.Add("p", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1.0, 1.0, math.Inf(-1), true)
	f.Add("Лицензия «GPL»", "“The” (This) ‘A’ the. The", 0.0, 0.0, -100.0, true)
	fx := NewFeatureExtractor(nil)
	var fv Features
	f.Fuzz(func(t *testing.T, prompt, response string, simOthers, simOwn, meanLogprob float64, hasLogprob bool) {
		in := UsefulInput{Prompt: prompt, Response: response, SimOthers: simOthers, SimOwn: simOwn, MeanLogprob: meanLogprob, HasLogprob: hasLogprob}
		fx.Extract(in, &fv)
		if len(fv.Idx) != len(fv.Val) {
			t.Fatalf("lengths %d/%d", len(fv.Idx), len(fv.Val))
		}
		for i, ix := range fv.Idx {
			v := float64(fv.Val[i])
			if ix >= FeatureDims || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("feature %d = %v", ix, v)
			}
		}
		q := fx.Quality(in)
		for _, r := range []float64{q.SymbolRatio, q.LetterRatio, q.VowelRatio, q.NonLetterTokens, q.RepeatedWords,
			q.RepeatedTrigrams, q.PromptContainment, q.PromptCoverage, q.SimOthers, q.SimOwn, q.LowerAfterEnd, q.StopWords, q.Upper, q.Digits,
			q.NonASCIILetters, q.MidCapitals, q.Topicality, q.TopicCoverage, q.TopicChars} {
			if !(r >= 0 && r <= 1) {
				t.Fatalf("ratio out of [0,1]: %+v", q)
			}
		}
		if q.CompressionRatio < 1 || q.BigramScore > 0 || math.IsNaN(q.BigramScore) || q.TopicShared < 0 ||
			q.HasLogprob && !(q.MeanLogprob <= 0 && !math.IsInf(q.MeanLogprob, 0)) || !q.HasLogprob && q.MeanLogprob != 0 {
			t.Fatalf("bad quality %+v", q)
		}
	})
}

func FuzzUsefulUnmarshal(f *testing.F) {
	u, err := NewUseful(DefaultUsefulConfig(), nil)
	if err != nil {
		f.Fatal(err)
	}
	for i, c := range ufCorpus(41, 40) {
		_ = u.Train(ufInput(c), c.useful, string(rune('a'+i%5)), EvidenceTrap)
	}
	blob, err := u.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob)
	f.Add(blob[:len(blob)/2])
	f.Add([]byte(ufMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		try := func(data []byte) {
			v := new(Useful)
			if err := v.UnmarshalBinary(data); err != nil {
				return
			}
			// Whatever decoded must be usable.
			p := v.Predict(UsefulInput{Prompt: "p", Response: "Tom had a red ball."})
			if !(p >= 0 && p <= 1) {
				t.Fatalf("p = %v", p)
			}
			if _, err := v.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
		}
		try(data)
		// And with a valid checksum, so the fuzzer reaches the parser.
		if len(data) >= 4 {
			fixed := append([]byte(nil), data...)
			binary.LittleEndian.PutUint32(fixed[len(fixed)-4:], crc32.Checksum(fixed[:len(fixed)-4], ufCRC))
			try(fixed)
		}
	})
}
