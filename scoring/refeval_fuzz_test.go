package scoring

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzExtractCheck checks that Check never panics, returns one of the
// three scores consistently with Correct, and that for every task the
// declared canonical answer is right.
func FuzzExtractCheck(f *testing.F) {
	seeds := []string{
		"Answer: 42", "#### 1,234", `\boxed{7}`, "3 or 4 or 5", "Answer: Paris\nAnswer: London",
		`{"city": "Paris"}`, "```json\n{\"x\": 1}\n```", "[1, 2, 3] or [3, 2, 1]", "2024-02-14",
		"**Answer:** −5", "answer:answer:", `\boxed{{{`, "{{{{[[[[", "Answer:\n\n\n", "\xff\xfe Answer: \xc3",
	}
	for i, s := range seeds {
		f.Add(uint64(i), uint8(i), s)
	}
	kinds := RefKinds()
	f.Fuzz(func(t *testing.T, seed uint64, k uint8, response string) {
		task, err := NewRefTask(seed, kinds[int(k)%len(kinds)])
		if err != nil {
			t.Fatal(err)
		}
		res := task.Check(response)
		switch {
		case res.Score == RefScoreStrict && res.Method == RefMethodStrict && res.Correct:
		case res.Score == RefScoreFlexible && res.Method == RefMethodFlexible && res.Correct:
		case res.Score == 0 && !res.Correct && res.Reason != RefReasonOK:
		default:
			t.Fatalf("inconsistent result %+v", res)
		}
		for _, resp := range []string{"Answer: " + task.Answer, task.Answer} {
			if r := task.Check(resp); !r.Correct || r.Method != RefMethodStrict {
				t.Fatalf("%s: Check(%q) = %+v", task.ID, resp, r)
			}
		}
	})
}

// FuzzExtractDeclared checks that declared answers are trimmed pieces of
// the response.
func FuzzExtractDeclared(f *testing.F) {
	for _, s := range []string{"Answer: 1", "#### 2", `\boxed{\frac{1}{2}}`, "ANSWER **:** x\n\ny", "answer:answer:5", `\boxed{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, seg := range ExtractDeclared(s) {
			if seg == "" || !strings.Contains(s, seg) {
				t.Fatalf("segment %q not a piece of the response", seg)
			}
		}
	})
}

// FuzzExtractNumbers checks that every extracted number is canonical: it
// normalises to itself, as does any well-formed number text.
func FuzzExtractNumbers(f *testing.F) {
	for _, s := range []string{"1,234.50", "-$3", "36-5", ".5", "−7", "0.000", "12,345,678.90", "1e5", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, n := range ExtractNumbers(s) {
			if v, ok := RefNormalizeNumber(n); !ok || v != n {
				t.Fatalf("number %q from %q renormalises to %q, %v", n, s, v, ok)
			}
		}
		if v, ok := RefNormalizeNumber(s); ok {
			if again, ok2 := RefNormalizeNumber(v); !ok2 || again != v {
				t.Fatalf("RefNormalizeNumber not idempotent on %q: %q then %q", s, v, again)
			}
		}
		for _, d := range ExtractDates(s) {
			if got := ExtractDates(d); len(got) != 1 || got[0] != d {
				t.Fatalf("date %q re-reads as %q", d, got)
			}
		}
	})
}

// FuzzExtractText checks that text normalisation is idempotent and keeps
// valid UTF-8 valid.
func FuzzExtractText(f *testing.F) {
	for _, s := range []string{`"Bogotá."`, "**Mexico  City**", `\text{\text{x}}`, "‘a’", " * ", "İstanbul"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, fold bool) {
		v := RefNormalizeText(s, fold)
		if again := RefNormalizeText(v, fold); again != v {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, v, again)
		}
		if utf8.ValidString(s) && !utf8.ValidString(v) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
	})
}
