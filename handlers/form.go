package handlers

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// formText reads a free-text form field, trimmed. ok is false when the text is not valid UTF-8,
// holds control characters, or is longer than max bytes: the form then says what to correct
// instead of failing.
func formText(c echo.Context, name string, max int) (text string, ok bool) {
	return cleanText(c.FormValue(name), max)
}

// cleanText is free text from a form or a JSON body, trimmed, with the same rules as formText.
func cleanText(s string, max int) (text string, ok bool) {
	text = strings.TrimSpace(s)
	if len(text) > max || !utf8.ValidString(text) {
		return "", false
	}
	for _, r := range text {
		if unicode.IsControl(r) {
			return "", false
		}
	}
	return text, true
}
