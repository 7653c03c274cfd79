package spec

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// MaxSourceBytes is the largest spec, variables or template file xpflow
// parses. Campaigns are a few kilobytes; the cap keeps a stray multi-gigabyte
// file from being read into memory and parsed.
const MaxSourceBytes = 4 << 20

// MaxNesting is the deepest nesting of brackets, strings and template
// interpolations xpflow parses. The HCL parser recurses once or more per
// level, so 100,000 nested "[" overflowed the stack (a fatal error, not a
// panic) and 200,000 nested "${" took over a minute; real campaigns nest a
// handful of levels.
const MaxNesting = 100

// scanMode is what the nesting scanner is inside.
type scanMode int

const (
	modeCode     scanMode = iota // expressions and bodies
	modeString                   // a quoted string: literal text with ${ and %{
	modeTemplate                 // a template file or heredoc body
)

// frame is one open nesting level: what it is and, for a heredoc, the
// word that closes it.
type frame struct {
	mode     scanMode
	close    byte   // the bracket that ends a code frame; 0 for the top
	heredoc  []byte // the terminator of a heredoc body
	openedAt hcl.Pos
}

// checkSource refuses src before it reaches the HCL parser when it is
// larger than MaxSourceBytes or nests deeper than MaxNesting. template says
// src is a template (templatefile) rather than a configuration or an
// expression. The diagnostic points at the byte where the limit was
// passed. The scan is linear and errs on the side of counting: it knows
// strings, interpolations, heredocs and comments, so brackets inside text
// do not count, but it is not a parser.
func checkSource(src []byte, filename string, template bool) hcl.Diagnostics {
	if len(src) > MaxSourceBytes {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "File too large",
			Detail:   fmt.Sprintf("%s is %d bytes; xpflow parses files of at most %d bytes.", filename, len(src), MaxSourceBytes),
			Subject:  &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	sc := nestScanner{src: src, pos: hcl.InitialPos}
	top := modeCode
	if template {
		top = modeTemplate
	}
	sc.stack = []frame{{mode: top}}
	if at, ok := sc.run(); !ok {
		rng := hcl.Range{Filename: filename, Start: at, End: hcl.Pos{Line: at.Line, Column: at.Column + 1, Byte: at.Byte + 1}}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Nesting too deep",
			Detail: fmt.Sprintf("Brackets, strings and interpolations nest more than %d levels deep here; xpflow refuses to parse deeper nesting.",
				MaxNesting),
			Subject: &rng,
		}}
	}
	return nil
}

// nestScanner walks a source once, tracking nesting and the position.
type nestScanner struct {
	src   []byte
	i     int
	pos   hcl.Pos
	stack []frame
}

// advance moves past n bytes, keeping line and column.
func (sc *nestScanner) advance(n int) {
	for ; n > 0 && sc.i < len(sc.src); n-- {
		if sc.src[sc.i] == '\n' {
			sc.pos.Line++
			sc.pos.Column = 1
		} else if sc.src[sc.i]&0xC0 != 0x80 { // count characters, not UTF-8 continuation bytes
			sc.pos.Column++
		}
		sc.i++
		sc.pos.Byte = sc.i
	}
}

func (sc *nestScanner) at(s string) bool { return bytes.HasPrefix(sc.src[sc.i:], []byte(s)) }

// push opens a level; it fails when that passes MaxNesting.
func (sc *nestScanner) push(f frame) bool {
	f.openedAt = sc.pos
	sc.stack = append(sc.stack, f)
	return len(sc.stack)-1 <= MaxNesting
}

func (sc *nestScanner) pop() {
	if len(sc.stack) > 1 {
		sc.stack = sc.stack[:len(sc.stack)-1]
	}
}

// run scans to the end; on failure it returns where the limit was passed.
func (sc *nestScanner) run() (hcl.Pos, bool) {
	for sc.i < len(sc.src) {
		start := sc.pos
		var ok bool
		switch top := sc.stack[len(sc.stack)-1]; top.mode {
		case modeCode:
			ok = sc.code(top)
		default:
			ok = sc.text(top)
		}
		if !ok {
			return start, false
		}
	}
	return hcl.Pos{}, true
}

// code scans one token of code.
func (sc *nestScanner) code(top frame) bool {
	c := sc.src[sc.i]
	switch {
	case c == '#' || sc.at("//"):
		for sc.i < len(sc.src) && sc.src[sc.i] != '\n' {
			sc.advance(1)
		}
		return true
	case sc.at("/*"):
		sc.advance(2)
		for sc.i < len(sc.src) && !sc.at("*/") {
			sc.advance(1)
		}
		sc.advance(2)
		return true
	case c == '"':
		sc.advance(1)
		return sc.push(frame{mode: modeString})
	case sc.at("<<"):
		return sc.heredoc()
	case c == '[' || c == '{' || c == '(':
		sc.advance(1)
		return sc.push(frame{mode: modeCode, close: map[byte]byte{'[': ']', '{': '}', '(': ')'}[c]})
	case c == ']' || c == '}' || c == ')':
		sc.advance(1)
		if top.close != 0 {
			sc.pop() // a mismatched closer is the parser's to report
		}
		return true
	}
	sc.advance(1)
	return true
}

// heredoc opens a heredoc body when "<<" or "<<-" is followed by a word
// and a newline; otherwise "<<" is an operator-like pair of bytes.
func (sc *nestScanner) heredoc() bool {
	j := sc.i + 2
	if j < len(sc.src) && sc.src[j] == '-' {
		j++
	}
	k := j
	for k < len(sc.src) && (isWordByte(sc.src[k])) {
		k++
	}
	if k == j || k >= len(sc.src) || (sc.src[k] != '\n' && sc.src[k] != '\r') {
		sc.advance(2)
		return true
	}
	word := append([]byte(nil), sc.src[j:k]...)
	sc.advance(k - sc.i)
	return sc.push(frame{mode: modeTemplate, heredoc: word})
}

func isWordByte(b byte) bool {
	return b == '_' || b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// text scans one token of a string, template or heredoc body.
func (sc *nestScanner) text(top frame) bool {
	c := sc.src[sc.i]
	switch {
	case top.heredoc != nil && c == '\n':
		sc.advance(1)
		line := sc.src[sc.i:]
		if n := bytes.IndexByte(line, '\n'); n >= 0 {
			line = line[:n]
		}
		if bytes.Equal(bytes.TrimSpace(line), top.heredoc) {
			sc.advance(len(line))
			sc.pop()
		}
		return true
	case top.mode == modeString && c == '\\':
		sc.advance(2)
		return true
	case top.mode == modeString && c == '"':
		sc.advance(1)
		sc.pop()
		return true
	case top.mode == modeString && c == '\n':
		sc.advance(1)
		sc.pop() // an unterminated string ends at the line for HCL too
		return true
	case sc.at("$${") || sc.at("%%{"):
		sc.advance(3)
		return true
	case sc.at("${") || sc.at("%{"):
		sc.advance(2)
		return sc.push(frame{mode: modeCode, close: '}'})
	}
	sc.advance(1)
	return true
}
