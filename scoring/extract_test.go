package scoring

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestExtractDeclared(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Reasoning...\nAnswer: 42", []string{"42"}},
		{"ANSWER : 7\n", []string{"7"}},
		{"**Answer:** 9", []string{"9"}},
		{"**Answer**: 9", []string{"9"}},
		{"Final Answer: Paris.", []string{"Paris."}},
		{"myanswer: 3", nil},
		{"answers: 3", nil},
		{"The answer is 3", nil},
		{"#### 1,234", []string{"1,234"}},
		{`so \boxed{\frac{1}{2}} it is`, []string{`\frac{1}{2}`}},
		{`\boxed{unclosed`, nil},
		{"Answer:\n\n  5\n", []string{"5"}},
		{"Answer: ", nil},
		{"Answer: 1\nmore\n#### 2\n\\boxed{3}", []string{"1", "2", "3"}},
		{"\\boxed{3} then\nAnswer: 4", []string{"3", "4"}},
		{"answer:answer:5", []string{"answer:5", "5"}},
	}
	for _, c := range cases {
		if got := ExtractDeclared(c.in); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("ExtractDeclared(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExtractNumbers(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"1,234.5 and -3 and 36-5", []string{"1234.5", "-3", "36", "5"}},
		{"$1,000 or -$5", []string{"1000", "-5"}},
		{"x-5 (−7) +8", []string{"5", "-7", "8"}},
		{"0.50 .5 007 -0 5.", []string{"0.5", "0.5", "7", "0", "5"}},
		{"1,23 1,2345 12,345,678", []string{"1", "23", "1", "2345", "12345678"}},
		{"3.14.15 v1.2.3 1e5", []string{"3.14", "15", "1.2", "3", "1", "5"}},
		{"no digits", nil},
		{"2024-01-15", []string{"2024", "1", "15"}},
	}
	for _, c := range cases {
		got := ExtractNumbers(c.in)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("ExtractNumbers(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExtractNormalizeNumber(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"42", "42", true}, {" 42. ", "42", true}, {"**42**", "42", true}, {"$42", "42", true},
		{"'3'", "3", true}, {"+7", "7", true}, {"1,234", "1234", true}, {"12.0", "12", true},
		{"-0.0", "0", true}, {"−12.50", "-12.5", true}, {"0012", "12", true},
		{"42 apples", "", false}, {"4 2", "", false}, {"", "", false}, {"forty-two", "", false},
		{"1,23", "", false}, {"--5", "", false},
	}
	for _, c := range cases {
		if got, ok := RefNormalizeNumber(c.in); got != c.want || ok != c.ok {
			t.Errorf("RefNormalizeNumber(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestExtractDates(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"on 2024-02-14.", []string{"2024-02-14"}},
		{"2024/2/5 and 1999-12-31", []string{"2024-02-05", "1999-12-31"}},
		{"2023-02-29 is not a day, 2024-02-29 is", []string{"2024-02-29"}},
		{"12024-01-01 2024-01-015 2024-1/05", nil},
		{"2024-13-01 2024-00-10", nil},
	}
	for _, c := range cases {
		if got := ExtractDates(c.in); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("ExtractDates(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExtractNormalizeText(t *testing.T) {
	cases := []struct {
		in   string
		fold bool
		want string
	}{
		{`  "Bogotá." `, true, "bogota"},
		{"**Mexico   City**", true, "mexico city"},
		{`\text{Paris}`, true, "paris"},
		{"PARIS!", false, "PARIS"},
		{"‘Reykjavík’", true, "reykjavik"},
		{"São Tomé", true, "sao tome"},
		{"Au", false, "Au"},
		{" \n\t ", true, ""},
	}
	for _, c := range cases {
		if got := RefNormalizeText(c.in, c.fold); got != c.want {
			t.Errorf("RefNormalizeText(%q, %v) = %q, want %q", c.in, c.fold, got, c.want)
		}
	}
}

// refCheckCase is one response to a hand-built task and the expected
// outcome.
type refCheckCase struct {
	resp    string
	correct bool
	method  string
	reason  string
}

func refRunCheck(t *testing.T, name string, task RefTask, cases []refCheckCase) {
	t.Helper()
	for _, c := range cases {
		got := task.Check(c.resp)
		score := 0.0
		if c.correct {
			score = RefScoreStrict
			if c.method == RefMethodFlexible {
				score = RefScoreFlexible
			}
		}
		if got.Correct != c.correct || got.Method != c.method || got.Reason != c.reason || got.Score != score {
			t.Errorf("%s: Check(%q) = %+v; want correct=%v method=%s reason=%s", name, c.resp, got, c.correct, c.method, c.reason)
		}
	}
}

// Short names for the check tables.
const (
	refS  = RefMethodStrict
	refF  = RefMethodFlexible
	refN  = RefMethodNone
	refOK = RefReasonOK
	refW  = RefReasonWrong
)

func TestExtractCheckNumber(t *testing.T) {
	var dump strings.Builder
	for i := range 1001 {
		fmt.Fprintf(&dump, "%d ", i)
	}
	refRunCheck(t, "42", RefTask{Answer: "42", Match: RefMatchNumber}, []refCheckCase{
		{"Answer: 42", true, refS, refOK},
		{"42", true, refS, refOK},
		{"**42**", true, refS, refOK},
		{"42.", true, refS, refOK},
		{"$42", true, refS, refOK},
		{"#### 42", true, refS, refOK},
		{`The result is \boxed{42}.`, true, refS, refOK},
		{"Answer: 42.0", true, refS, refOK},
		{"Answer:\n\n42", true, refS, refOK},
		{"**Answer:** 42", true, refS, refOK},
		{"answer: 42", true, refS, refOK},
		{"Final answer: 42 apples", true, refS, refOK},
		{"6 * 7 = 42. Answer: 42\n#### 42", true, refS, refOK},
		{"The total is 42.", true, refF, refOK},
		{"6 * 7 = 42", true, refF, refOK},
		{"Answer: 41", false, refS, refW},
		{"Answer: -42", false, refS, refW},
		{"Reasoning gives 42.\nAnswer: 41", false, refS, refW}, // the declaration decides
		{"42 is wrong; it is 41", false, refF, refW},
		{"Answer: 41\nAnswer: 42", false, refN, RefReasonHedged},
		{"Answer: 42\n#### 41", false, refN, RefReasonHedged},
		{"Answer: 3 or 42", false, refN, RefReasonHedged},
		{"It could be 3 or 4 or 42", false, refN, RefReasonHedged},
		{"3 or 4 or 5", false, refN, RefReasonHedged},
		{"The answer is 42, or maybe 43", false, refN, RefReasonHedged},
		{"Candidates: 40, 41, 42", false, refN, RefReasonHedged},
		{"41/42", false, refN, RefReasonHedged},
		{"between 40-44", false, refN, RefReasonHedged},
		{"It rose from 30 to 42", true, refF, refOK},
		{"41 42", true, refF, refOK},
		{dump.String(), false, refN, RefReasonTooMany},
		{dump.String() + "\nAnswer: 42", true, refS, refOK}, // a declaration is still read
		{"", false, refN, RefReasonNoAnswer},
		{"I don't know.", false, refN, RefReasonNoAnswer},
		{"Answer: forty-two", false, refN, RefReasonNoAnswer},
		{"Answer: <number>\nso 42", false, refN, RefReasonNoAnswer}, // nothing outside a declaration
		{strings.Repeat("x", RefMaxResponseBytes+1), false, refN, RefReasonTooLong},
		{strings.Repeat("Answer: 42\n", RefMaxDeclared), true, refS, refOK},
		{strings.Repeat("Answer: 42\n", RefMaxDeclared+1), false, refN, RefReasonTooMany},
		{strings.Repeat("The answer is hard to find. ", 40) + "Answer: 42", true, refS, refOK},
	})
	refRunCheck(t, "1234", RefTask{Answer: "1234", Match: RefMatchNumber}, []refCheckCase{
		{"Answer: 1,234", true, refS, refOK},
		{"1,234.00", true, refS, refOK},
		{"It comes to $1,234.", true, refF, refOK},
		{"Answer: 1.234", false, refS, refW},
	})
	refRunCheck(t, "12.70", RefTask{Answer: "12.70", Match: RefMatchNumber}, []refCheckCase{
		{"Answer: 12.7", true, refS, refOK},
		{"Answer: 12.70 cm", true, refS, refOK},
		{"5 in is 12.70 cm.", true, refF, refOK},
		{"Answer: 12.699", false, refS, refW},
		{"Answer: 13", false, refS, refW},
	})
	refRunCheck(t, "-5", RefTask{Answer: "-5", Match: RefMatchNumber}, []refCheckCase{
		{"Answer: -5", true, refS, refOK},
		{"Answer: −5", true, refS, refOK},
		{"-5", true, refS, refOK},
		{"So 10-15 = -5", true, refF, refOK},
		{"Answer: 5", false, refS, refW},
		{"10-15", false, refN, RefReasonHedged}, // a range,
	})
}

func TestExtractCheckDateList(t *testing.T) {
	refRunCheck(t, "date", RefTask{Answer: "2024-02-14", Match: RefMatchDate}, []refCheckCase{
		{"Answer: 2024-02-14", true, refS, refOK},
		{"2024-02-14", true, refS, refOK},
		{"Answer: 2024-2-14", true, refS, refOK},
		{"Starting at 2024-01-01, 44 days later is 2024-02-14.", true, refF, refOK},
		{"Answer: 2024-02-13", false, refS, refW},
		{"Answer: 2024-02-13 or 2024-02-14", false, refN, RefReasonHedged},
		{"2024-02-13 / 2024-02-14", false, refN, RefReasonHedged},
		{"Answer: February 14, 2024", false, refN, RefReasonNoAnswer},
		{"Answer: 2024-02-30", false, refN, RefReasonNoAnswer},
	})
	nine := strings.Repeat("[1, 2, 3] and ", 9)
	refRunCheck(t, "list", RefTask{Answer: "[1, 2, 3]", Match: RefMatchList}, []refCheckCase{
		{"Answer: [1, 2, 3]", true, refS, refOK},
		{"[1,2,3]", true, refS, refOK},
		{"1, 2, 3", true, refS, refOK},
		{"Answer: 1 2 3", true, refS, refOK},
		{"Answer: The sorted list is [1, 2, 3].", true, refS, refOK},
		{"Sorting [3, 1, 2] gives [1, 2, 3].", true, refF, refOK},
		{"Answer: [3, 2, 1]", false, refS, refW},
		{"Answer: [1, 2]", false, refS, refW},
		{"[3, 2, 1] or [1, 2, 3]", false, refN, RefReasonHedged},
		{"Answer: [1, 2, 3] or [3, 2, 1]", false, refN, RefReasonHedged},
		{nine, false, refN, RefReasonTooMany},
		{"1, 2 and 3", false, refN, RefReasonNoAnswer}, // not a list form
	})
}

func TestExtractCheckText(t *testing.T) {
	paris := RefTask{Answer: "Paris", Match: RefMatchText, Choices: refCapitalNames()}
	refRunCheck(t, "Paris", paris, []refCheckCase{
		{"Answer: Paris", true, refS, refOK},
		{"paris", true, refS, refOK},
		{"PARIS.", true, refS, refOK},
		{`"Paris"`, true, refS, refOK},
		{"The capital of France is Paris.", true, refF, refOK},
		{"Answer: The capital of France is Paris.", true, refF, refOK},
		{"Paris, not Lyon.", true, refF, refOK}, // Lyon is no capital in the table
		{"Answer: London", false, refS, refW},
		{"The capital is London.", false, refF, refW},
		{"Paris or London", false, refN, RefReasonHedged},
		{"Answer: Paris, London, Rome", false, refN, RefReasonHedged},
		{strings.Join(refCapitalNames(), " "), false, refN, RefReasonHedged},
		{"Answer: Lyon", false, refN, RefReasonNoAnswer},
		{"Everyone says Paris. Answer: Lyon", false, refN, RefReasonNoAnswer}, // nothing outside the declaration
		{"Parisian food", false, refN, RefReasonNoAnswer},
		{"Answer: Paris\nAnswer: London", false, refN, RefReasonHedged},
	})
	refRunCheck(t, "Bogota", RefTask{Answer: "Bogota", Match: RefMatchText, Choices: refCapitalNames()}, []refCheckCase{
		{"Answer: Bogotá", true, refS, refOK},
		{"It is BOGOTÁ.", true, refF, refOK},
	})
	refRunCheck(t, "Mexico City", RefTask{Answer: "Mexico City", Match: RefMatchText, Choices: refCapitalNames()}, []refCheckCase{
		{"Answer: Mexico City", true, refS, refOK},
		{"The capital of Mexico is Mexico\nCity.", true, refF, refOK},
		{"Answer: Mexico", false, refN, RefReasonNoAnswer},
	})
	refRunCheck(t, "Au", RefTask{Answer: "Au", Match: RefMatchCase, Choices: refSymbols()}, []refCheckCase{
		{"Answer: Au", true, refS, refOK},
		{"Au", true, refS, refOK},
		{"The symbol is Au.", true, refF, refOK},
		{"AU", false, refN, RefReasonNoAnswer},
		{"Answer: Ag", false, refS, refW},
		{"Au or Ag", false, refN, RefReasonHedged},
	})
	upper := RefTask{Answer: "PARIS", Match: RefMatchCase, Choices: refUpper(refCapitalNames())}
	refRunCheck(t, "PARIS", upper, []refCheckCase{
		{"PARIS", true, refS, refOK},
		{"Answer: PARIS", true, refS, refOK},
		{"THE CAPITAL IS PARIS.", true, refF, refOK},
		{"Paris", false, refN, RefReasonNoAnswer},
		{"LONDON", false, refS, refW},
	})
	one := RefTask{Answer: "Paris", Match: RefMatchOneWord}
	refRunCheck(t, "one word", one, []refCheckCase{
		{"Paris", true, refS, refOK},
		{"Paris.", true, refS, refOK},
		{"paris", true, refS, refOK},
		{"Answer: Paris", true, refS, refOK},
		{"London", false, refS, refW},
		{"The capital is Paris.", false, refS, RefReasonFormat},
		{"Answer: Paris, France", false, refS, RefReasonFormat},
		{"", false, refN, RefReasonFormat},
	})
}

func TestExtractCheckJSON(t *testing.T) {
	city := RefTask{Answer: `{"city":"Paris"}`, Match: RefMatchJSON, Key: "city", Value: "Paris"}
	refRunCheck(t, "city", city, []refCheckCase{
		{`{"city":"Paris"}`, true, refS, refOK},
		{` {"city": "paris"} `, true, refS, refOK},
		{"```json\n{\"city\": \"Paris\"}\n```", true, refS, refOK},
		{`Answer: {"city": "Paris"}`, true, refS, refOK},
		{`{"city": "Paris", "country": "France"}`, true, refS, refOK},
		{`Sure! Here it is: {"city": "Paris"}`, true, refF, refOK},
		{`{"capital": "Paris"}`, false, refS, refW},
		{`{"city": "London"}`, false, refS, refW},
		{`{"city": ["Paris"]}`, false, refS, refW},
		{`{"city":"Paris"} {"city":"London"}`, false, refN, RefReasonHedged},
		{`Paris`, false, refN, RefReasonNoAnswer},
		{`{"city": "Paris"`, false, refN, RefReasonNoAnswer},
		{strings.Repeat(`{"a":1}`, 10), false, refN, RefReasonTooMany},
	})
	num := RefTask{Answer: `{"result":42}`, Match: RefMatchJSON, Key: "result", Value: "42"}
	refRunCheck(t, "result", num, []refCheckCase{
		{`{"result": 42}`, true, refS, refOK},
		{`{"result": "42"}`, true, refS, refOK},
		{`{"result": 42.0}`, true, refS, refOK},
		{`{"result": 41}`, false, refS, refW},
		{`{"result": "forty-two"}`, false, refS, refW},
		{`The answer: {"result": 42}`, true, refS, refOK},
	})
}
