package sim

import (
	"fmt"
	"strings"
	"unicode"
)

// hookTemplates shape the simulated text; each takes three keywords.
var hookTemplates = []string{
	"Stop scrolling: %s just changed how we think about %s. Watch what happens with %s.",
	"Nobody talks about %s, but %s is where it gets interesting. %s, explained in one line.",
	"Three words: %s, %s, %s. That is the whole story.",
	"%s meets %s, and the result is hard to look away from. Bring %s.",
	"What if %s was the easy part? Here is %s like you have never seen it, plus %s.",
}

var stopWords = map[string]bool{
	"about": true, "after": true, "their": true, "there": true, "these": true, "this": true,
	"that": true, "with": true, "from": true, "into": true, "write": true, "make": true,
	"your": true, "have": true, "what": true, "when": true, "where": true, "which": true,
}

// keywords returns up to n distinct words of at least four letters from s,
// in order, skipping common filler.
func keywords(s string, n int) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' }) {
		lw := strings.ToLower(w)
		if len([]rune(lw)) < 4 || stopWords[lw] || seen[lw] {
			continue
		}
		seen[lw] = true
		out = append(out, lw)
		if len(out) == n {
			break
		}
	}
	return out
}

// writeText makes the deterministic answer to a text request: a hook-like
// line using words of the prompt, no longer than about max_tokens.
func (s *Server) writeText(v textRequest) (string, usage) {
	words := keywords(v.prompt, 3)
	for _, fill := range []string{"this", "the idea", "you"} {
		if len(words) == 3 {
			break
		}
		words = append(words, fill)
	}
	h := s.hashString(v.m.ID, v.system, v.prompt, fmt.Sprint(v.temperature))
	tmpl := hookTemplates[h%uint64(len(hookTemplates))]
	text := fmt.Sprintf(tmpl, words[0], words[1], words[2])
	text = strings.ToUpper(text[:1]) + text[1:]
	out := strings.Fields(text)
	if budget := max(1, v.maxTokens*3/4); len(out) > budget {
		out = out[:budget]
	}
	completion := min(v.maxTokens, (len(out)*4+2)/3)
	prompt := (len(strings.Fields(v.prompt+" "+v.system))*4+2)/3 + 3
	return strings.Join(out, " "), usage{prompt, completion, prompt + completion}
}
