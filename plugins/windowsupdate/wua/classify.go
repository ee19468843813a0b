package wua

import "strings"

// Classification is the WSUS classification of an update, derived from its
// category GUIDs because category names are localized.
type Classification int

// Classifications, in increasing precedence for Classify.
const (
	ClassUnknown Classification = iota
	ClassUpdate
	ClassTool
	ClassDriver
	ClassUpgrade
	ClassServicePack
	ClassFeaturePack
	ClassUpdateRollup
	ClassDefinition
	ClassCritical
	ClassSecurity
)

var classNames = [...]string{
	ClassUnknown:      "unknown",
	ClassUpdate:       "update",
	ClassTool:         "tool",
	ClassDriver:       "driver",
	ClassUpgrade:      "upgrade",
	ClassServicePack:  "service_pack",
	ClassFeaturePack:  "feature_pack",
	ClassUpdateRollup: "update_rollup",
	ClassDefinition:   "definition",
	ClassCritical:     "critical",
	ClassSecurity:     "security",
}

// String returns a stable snake_case name.
func (c Classification) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

// Classification GUIDs. Unless noted, each is listed on Microsoft's
// "WSUS Classification GUIDs" page
// (https://docs.microsoft.com/en-us/previous-versions/windows/desktop/ff357803(v=vs.85)).
const (
	GUIDSecurityUpdates   = "0FA1201D-4330-4FA8-8AE9-B877473B6441"
	GUIDCriticalUpdates   = "E6CF1350-C01B-414D-A61F-263D14D133B4"
	GUIDDefinitionUpdates = "E0789628-CE08-4437-BE74-2495B842F43B"
	GUIDUpdateRollups     = "28BC880E-0592-4CBF-8F95-C79B17911D5F"
	GUIDUpdates           = "CD5FFD1E-E932-4E3A-BF74-18BF0B1BBD83"
	GUIDFeaturePacks      = "B54E7D24-7ADD-428F-8B75-90A396FA584F"
	GUIDServicePacks      = "68C5B0A3-D1A6-4553-AE49-01D3A7827828"
	GUIDTools             = "B4832BD8-E735-4761-8DAF-37F882276DAB"
	// GUIDDrivers is not on ff357803; it is the Driver classification in
	// Microsoft's Windows Update for Business deferral tables and in WSUS
	// admin scripts (WsusServer.GetUpdateClassification("ebfc1fc5-…")).
	GUIDDrivers = "EBFC1FC5-71A4-4F7B-9ACA-3B9A503104A0"
	// GUIDUpgrades (Windows feature updates) is not on ff357803 (it predates
	// WSUS 4.0 KB3095113); verified against several public WSUS/WUA scripts
	// that skip feature updates by this CategoryID.
	GUIDUpgrades = "3689BDC8-B205-4AF4-8D4A-A63924C5E9D5"
)

// classByGUID maps upper-case classification GUIDs to classifications.
var classByGUID = map[string]Classification{
	GUIDSecurityUpdates:   ClassSecurity,
	GUIDCriticalUpdates:   ClassCritical,
	GUIDDefinitionUpdates: ClassDefinition,
	GUIDUpdateRollups:     ClassUpdateRollup,
	GUIDUpdates:           ClassUpdate,
	GUIDDrivers:           ClassDriver,
	GUIDFeaturePacks:      ClassFeaturePack,
	GUIDServicePacks:      ClassServicePack,
	GUIDTools:             ClassTool,
	GUIDUpgrades:          ClassUpgrade,
}

// ClassificationGUID returns the GUID for c, or "" for ClassUnknown.
func ClassificationGUID(c Classification) string {
	for g, cc := range classByGUID {
		if cc == c {
			return g
		}
	}
	return ""
}

// Classify returns the classification among categoryIDs (an IUpdate's
// Categories[i].CategoryID). Product categories are ignored. Should more than
// one classification appear, the highest-precedence one wins (security over
// critical over … over updates). Case and surrounding braces are ignored.
func Classify(categoryIDs []string) Classification {
	best := ClassUnknown
	for _, id := range categoryIDs {
		id = strings.ToUpper(strings.Trim(strings.TrimSpace(id), "{}"))
		if c, ok := classByGUID[id]; ok && c > best {
			best = c
		}
	}
	return best
}
