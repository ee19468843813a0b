package wua

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidGUID reports a category ID that is not a GUID of the form
// XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX (hex digits, no braces).
var ErrInvalidGUID = errors.New("invalid GUID")

// InstalledAwaitingReboot is the criteria for updates that are installed but
// need a restart to finish (the "staged" updates osconfig skips).
const InstalledAwaitingReboot = "IsInstalled=1 and RebootRequired=1"

// SearchOptions selects pending updates. The zero value selects every
// update that is not installed and not hidden.
type SearchOptions struct {
	// SoftwareOnly adds Type='Software', leaving out drivers.
	SoftwareOnly bool
	// CategoryIDs restricts the search to updates in any of these categories
	// (classification or product GUIDs). Empty means no restriction.
	CategoryIDs []string
}

// Criteria builds the WUA search criteria for o.
//
// WUA accepts OR only at the top level: "(a and b) or (c)" is valid,
// "a and (b or c)" fails with WU_E_INVALID_CRITERIA. A category restriction
// is therefore expanded into a top-level OR of full conjunctions, one per
// category. GUIDs are validated and normalised to upper case; duplicates are
// dropped.
func Criteria(o SearchOptions) (string, error) {
	base := "IsInstalled=0 and IsHidden=0"
	if o.SoftwareOnly {
		base += " and Type='Software'"
	}
	if len(o.CategoryIDs) == 0 {
		return base, nil
	}
	seen := make(map[string]bool, len(o.CategoryIDs))
	parts := make([]string, 0, len(o.CategoryIDs))
	for _, id := range o.CategoryIDs {
		g, err := NormalizeGUID(id)
		if err != nil {
			return "", fmt.Errorf("criteria: category %q: %w", id, err)
		}
		if seen[g] {
			continue
		}
		seen[g] = true
		parts = append(parts, "("+base+" and CategoryIDs contains "+quote(g)+")")
	}
	if len(parts) == 1 {
		return strings.TrimSuffix(strings.TrimPrefix(parts[0], "("), ")"), nil
	}
	return strings.Join(parts, " or "), nil
}

// NormalizeGUID validates a GUID in the 8-4-4-4-12 hex form and returns it
// in upper case, the form the MS classification tables use. WUA compares
// case-insensitively, so the case is cosmetic.
func NormalizeGUID(s string) (string, error) {
	if len(s) != 36 {
		return "", ErrInvalidGUID
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", ErrInvalidGUID
			}
		default:
			if !isHex(c) {
				return "", ErrInvalidGUID
			}
		}
	}
	return strings.ToUpper(s), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// EscapeString makes s safe inside a single-quoted criteria literal by
// doubling single quotes, mirroring IUpdateSearcher::EscapeString for the one
// character that can end a literal. (Assumption: MS does not document the
// exact transformation; doubling is the SQL-like convention. Values built
// here are validated GUIDs and never need it.)
func EscapeString(s string) string {
	return strings.ReplaceAll(s, "'", "''")
}

func quote(s string) string { return "'" + EscapeString(s) + "'" }
