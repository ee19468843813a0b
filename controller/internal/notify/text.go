package notify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// oneLine flattens s to one line: every control character (CR and LF
// included) becomes a space and runs of spaces collapse. Text that agents
// influence (host names, check targets, error texts) goes through it
// before it reaches a mail header, a body line or an attempt record, so it
// can neither add a header nor forge a line.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

// truncateBytes cuts s to at most n bytes on a rune boundary, ending it
// with "…" when it cut.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + ell
}

// truncateRunes cuts s to at most n characters, ending it with "…" when
// it cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// kindLabels name notice kinds in subjects and message titles.
var kindLabels = map[string]string{
	"firing": "FIRING", "repeat": "FIRING (repeat)", "escalation": "ESCALATED", "resolved": "RESOLVED",
	"down": "DOWN", "up": "UP", "suspended": "SUSPENDED", "resumed": "RESUMED",
	"test": "TEST", "low_credit": "SMS CREDITS LOW",
}

// label is the kind as a subject shows it.
func label(kind string) string {
	if l, ok := kindLabels[kind]; ok {
		return l
	}
	if kind == "" {
		return "NOTICE"
	}
	return strings.ToUpper(oneLine(kind))
}
