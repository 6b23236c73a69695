package scoring

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// refWords are lower-case ASCII words for string and format tasks.
var refWords = []string{
	"apple", "banana", "cherry", "planet", "garden", "window", "rocket", "silver", "pencil", "yellow",
	"orange", "purple", "monkey", "turtle", "castle", "bridge", "candle", "forest", "river", "island",
	"mountain", "library", "kitchen", "blanket", "diamond", "feather", "harbor", "lantern", "meadow", "needle",
	"oyster", "pepper", "quartz", "rabbit", "saddle", "thunder", "umbrella", "velvet", "walnut", "zebra",
	"strawberry", "mississippi", "committee", "balloon", "bookkeeper", "coffee", "letter", "address", "success", "parallel",
	"tomorrow", "occasion", "necessary", "giraffe", "kangaroo", "penguin", "dolphin", "octopus", "avocado", "broccoli",
	"cucumber", "pineapple", "chocolate", "elephant", "butterfly", "question", "keyboard", "notebook", "sandwich", "triangle",
	"universe", "volcano", "level", "banner", "puzzle", "jazz", "hammock", "cactus", "engineer", "lemonade",
}

// refLetters are the answers an nth-character question can have.
var refLetters = strings.Split("abcdefghijklmnopqrstuvwxyz", "")

// refOrdinal writes 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st.
func refOrdinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// refGenString draws a word (from refWords, or made up one time in three).
// "reverse" and "length" have Args [word], "count"
// [text, letter], "nth" [word, n] (1-based), "upper" [phrase].
func refGenString(r *refRNG) refQuestion {
	w := refPick(r, refWords)
	if r.intn(3) == 0 {
		w = refRandomWord(r)
	}
	switch r.intn(5) {
	case 0:
		b := []byte(w)
		slices.Reverse(b)
		rev := string(b)
		choices := []string{rev}
		if rev != w {
			choices = append(choices, w)
		}
		return refQuestion{op: "reverse", args: []string{w}, match: RefMatchText, choices: choices, answer: rev,
			text: fmt.Sprintf(refPick(r, []string{"Reverse the letters of the word '%s'.", "Write the word '%s' backwards."}), w)}
	case 1:
		text := w
		if r.intn(2) == 0 {
			text += " " + refPick(r, refWords)
		}
		var letter string
		if r.intn(5) == 0 {
			letter = refPick(r, refLetters)
		} else {
			letter = string(text[r.intn(len(text))])
			if letter == " " {
				letter = string(w[0])
			}
		}
		return refQuestion{op: "count", args: []string{text, letter}, match: RefMatchNumber,
			text:   fmt.Sprintf("How many times does the letter '%s' appear in '%s'?", letter, text),
			answer: strconv.Itoa(strings.Count(text, letter))}
	case 2:
		n := r.between(1, len(w))
		return refQuestion{op: "nth", args: []string{w, strconv.Itoa(n)}, match: RefMatchText, choices: refLetters,
			text:   fmt.Sprintf("What is the %s letter of the word '%s', counting from 1?", refOrdinal(n), w),
			answer: string(w[n-1])}
	case 3:
		words := []string{w, refPick(r, refWords)}
		if r.intn(2) == 0 {
			words = append(words, refPick(r, refWords))
		}
		phrase := strings.Join(words, " ")
		up := strings.ToUpper(phrase)
		return refQuestion{op: "upper", args: []string{phrase}, match: RefMatchCase, choices: []string{up},
			text:   fmt.Sprintf("Convert '%s' to uppercase.", phrase),
			answer: up}
	default:
		return refQuestion{op: "length", args: []string{w}, match: RefMatchNumber,
			text:   fmt.Sprintf("How many letters are in the word '%s'?", w),
			answer: strconv.Itoa(len(w))}
	}
}

// refRandomWord makes a pronounceable lower-case nonsense word of 5 to 9
// letters, alternating consonants and vowels, so string tasks are not all
// drawn from a list a miner could memorise.
func refRandomWord(r *refRNG) string {
	const consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
	n := r.between(5, 9)
	b := make([]byte, n)
	vowel := r.intn(2) == 0
	for i := range b {
		if vowel {
			b[i] = vowels[r.intn(len(vowels))]
		} else {
			b[i] = consonants[r.intn(len(consonants))]
		}
		vowel = !vowel
	}
	return string(b)
}

// refListString writes a list as "[a, b, c]".
func refListString(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// refGenList: Args are the list's elements; Op is "sort_asc", "sort_desc",
// "max", "min", "sum", "len" or "dedup" (keep first occurrences, in order).
func refGenList(r *refRNG) refQuestion {
	op := refPick(r, []string{"sort_asc", "sort_desc", "max", "min", "sum", "len", "dedup"})
	n := r.between(5, 9)
	xs := make([]int, 0, n+3)
	for range n {
		xs = append(xs, r.between(1, 99))
	}
	if op == "dedup" {
		for range r.between(1, 3) {
			at := r.intn(len(xs) + 1)
			xs = slices.Insert(xs, at, xs[r.intn(len(xs))])
		}
	}
	args := make([]string, len(xs))
	for i, x := range xs {
		args[i] = strconv.Itoa(x)
	}
	shown := refListString(xs)
	q := refQuestion{op: op, args: args, match: RefMatchNumber}
	switch op {
	case "sort_asc", "sort_desc":
		s := slices.Clone(xs)
		slices.Sort(s)
		order := "ascending"
		if op == "sort_desc" {
			slices.Reverse(s)
			order = "descending"
		}
		q.match, q.answer = RefMatchList, refListString(s)
		q.text = fmt.Sprintf("Sort the list %s in %s order.", shown, order)
	case "max":
		q.answer = strconv.Itoa(slices.Max(xs))
		q.text = fmt.Sprintf("What is the largest number in the list %s?", shown)
	case "min":
		q.answer = strconv.Itoa(slices.Min(xs))
		q.text = fmt.Sprintf("What is the smallest number in the list %s?", shown)
	case "sum":
		sum := 0
		for _, x := range xs {
			sum += x
		}
		q.answer = strconv.Itoa(sum)
		q.text = fmt.Sprintf("What is the sum of the numbers in the list %s?", shown)
	case "len":
		q.answer = strconv.Itoa(len(xs))
		q.text = fmt.Sprintf("How many numbers are in the list %s?", shown)
	case "dedup":
		var out []int
		for _, x := range xs {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
		q.match, q.answer = RefMatchList, refListString(out)
		q.text = fmt.Sprintf("Remove the duplicates from the list %s, keeping the first occurrence of each number in its original order.", shown)
	}
	return q
}

// refCapitalNames, refElementNames, refSymbols and refUpper build the
// candidate lists of fact questions.
func refCapitalNames() []string {
	out := make([]string, len(refCapitals))
	for i, c := range refCapitals {
		out[i] = c.capital
	}
	return out
}

func refElementNames() []string {
	out := make([]string, len(refElements))
	for i, e := range refElements {
		out[i] = e.name
	}
	return out
}

func refAskedElements() []refElement {
	var out []refElement
	for _, e := range refElements {
		if refSymbolAsked(e) {
			out = append(out, e)
		}
	}
	return out
}

func refSymbols() []string {
	var out []string
	for _, e := range refAskedElements() {
		out = append(out, e.symbol)
	}
	return out
}

func refUpper(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToUpper(x)
	}
	return out
}

// refGenFact draws one of the fact questions.
func refGenFact(r *refRNG) refQuestion {
	return refFactOp(r, refPick(r, []string{"capital", "capital", "symbol", "element", "atomic_number", "planet_order", "planet_at"}))
}

// refFactOp: "capital" has Args [country], "symbol" and "atomic_number"
// [element name], "element" [symbol], "planet_order" [planet],
// "planet_at" [position from the Sun, 1-based].
func refFactOp(r *refRNG, op string) refQuestion {
	switch op {
	case "capital":
		c := refPick(r, refCapitals)
		return refQuestion{op: op, args: []string{c.country}, match: RefMatchText, choices: refCapitalNames(), answer: c.capital,
			text: fmt.Sprintf(refPick(r, []string{"What is the capital of %s?", "Which city is the capital of %s?", "Name the capital city of %s."}), c.country)}
	case "symbol":
		e := refPick(r, refAskedElements())
		return refQuestion{op: op, args: []string{e.name}, match: RefMatchCase, choices: refSymbols(), answer: e.symbol,
			text: fmt.Sprintf("What is the chemical symbol of %s?", strings.ToLower(e.name))}
	case "element":
		e := refPick(r, refElements)
		return refQuestion{op: op, args: []string{e.symbol}, match: RefMatchText, choices: refElementNames(), answer: e.name,
			text: fmt.Sprintf("Which chemical element has the symbol %s?", e.symbol)}
	case "atomic_number":
		e := refPick(r, refElements)
		return refQuestion{op: op, args: []string{e.name}, match: RefMatchNumber, answer: strconv.Itoa(e.number),
			text: fmt.Sprintf("What is the atomic number of %s?", strings.ToLower(e.name))}
	case "planet_order":
		i := r.intn(len(refPlanets))
		return refQuestion{op: op, args: []string{refPlanets[i]}, match: RefMatchNumber, answer: strconv.Itoa(i + 1),
			text: fmt.Sprintf("Counting outward from the Sun, with Mercury as 1, what is the position of %s among the planets?", refPlanets[i])}
	default: // planet_at
		i := r.intn(len(refPlanets))
		return refQuestion{op: "planet_at", args: []string{strconv.Itoa(i + 1)}, match: RefMatchText, choices: refPlanets, answer: refPlanets[i],
			text: fmt.Sprintf("Which planet is the %s from the Sun?", refOrdinal(i+1))}
	}
}

// refGenFormat wraps a simple question in a format constraint. Op is
// "json:", "one_word:" or "upper:" followed by the inner question's Op,
// and Args are the inner question's.
func refGenFormat(r *refRNG) refQuestion {
	switch r.intn(3) {
	case 0:
		var q refQuestion
		var key string
		switch r.intn(3) {
		case 0:
			q, key = refFactOp(r, "capital"), refPick(r, []string{"city", "capital"})
		case 1:
			q, key = refFactOp(r, "planet_at"), "planet"
		default:
			for q.op != "add" && q.op != "sub" && q.op != "mul" {
				q = refGenArithmetic(r)
			}
			key = refPick(r, []string{"result", "value", "total", "x"})
		}
		value, _ := json.Marshal(q.answer)
		if q.match == RefMatchNumber {
			value = []byte(q.answer)
		}
		keyJSON, _ := json.Marshal(key)
		q.key, q.value = key, q.answer
		q.answer = "{" + string(keyJSON) + ":" + string(value) + "}"
		q.op, q.match, q.choices = "json:"+q.op, RefMatchJSON, nil
		q.instr = fmt.Sprintf(`Reply with only a JSON object with the single key %s holding the answer, for example {%s: ...}.`, keyJSON, keyJSON)
		return q
	case 1:
		var q refQuestion
		switch r.intn(3) {
		case 0:
			for q.answer == "" || refHasSpace(q.answer) {
				q = refFactOp(r, "capital")
			}
		case 1:
			q = refFactOp(r, "element")
		default:
			q = refFactOp(r, "planet_at")
		}
		q.op, q.match, q.choices = "one_word:"+q.op, RefMatchOneWord, nil
		q.instr = refPick(r, []string{"Answer with exactly one word.", "Reply with a single word and nothing else."})
		return q
	default:
		q := refFactOp(r, refPick(r, []string{"capital", "element", "planet_at"}))
		q.op, q.match = "upper:"+q.op, RefMatchCase
		q.answer, q.choices = strings.ToUpper(q.answer), refUpper(q.choices)
		q.instr = refPick(r, []string{"Reply with the answer only, in uppercase letters.", "Give just the answer, written in capital letters."})
		return q
	}
}
