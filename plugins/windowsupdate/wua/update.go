package wua

import "time"

// Update mirrors the IUpdate fields the agent reads (platform-notes §1.4).
// JSON names follow the COM property names so fixtures read like the API.
type Update struct {
	Title                    string               `json:"Title"`
	KBArticleIDs             []string             `json:"KBArticleIDs"`
	MsrcSeverity             string               `json:"MsrcSeverity"`
	Categories               []Category           `json:"Categories"`
	Identity                 Identity             `json:"Identity"`
	IsDownloaded             bool                 `json:"IsDownloaded"`
	IsInstalled              bool                 `json:"IsInstalled"`
	IsHidden                 bool                 `json:"IsHidden"`
	IsMandatory              bool                 `json:"IsMandatory"`
	EulaAccepted             bool                 `json:"EulaAccepted"`
	InstallationBehavior     InstallationBehavior `json:"InstallationBehavior"`
	RebootRequired           bool                 `json:"RebootRequired"`
	CveIDs                   []string             `json:"CveIDs"`
	Type                     int                  `json:"Type"` // 1 Software, 2 Driver
	BrowseOnly               bool                 `json:"BrowseOnly"`
	MaxDownloadSize          int64                `json:"MaxDownloadSize"`
	LastDeploymentChangeTime time.Time            `json:"LastDeploymentChangeTime"`
}

// Category is one ICategory of an update.
type Category struct {
	Name       string `json:"Name"` // localized; do not match on it
	CategoryID string `json:"CategoryID"`
	Type       string `json:"Type"` // "UpdateClassification", "Product", …
}

// Identity is IUpdateIdentity, the stable key of an update revision.
type Identity struct {
	UpdateID       string `json:"UpdateID"`
	RevisionNumber int    `json:"RevisionNumber"`
}

// InstallationBehavior is IInstallationBehavior.
type InstallationBehavior struct {
	RebootBehavior RebootBehavior `json:"RebootBehavior"`
	Impact         int            `json:"Impact"`
}

// Classification classifies u by its category GUIDs.
func (u Update) Classification() Classification {
	ids := make([]string, 0, len(u.Categories))
	for _, c := range u.Categories {
		ids = append(ids, c.CategoryID)
	}
	return Classify(ids)
}

// Severity parses u.MsrcSeverity.
func (u Update) Severity() Severity { return ParseSeverity(u.MsrcSeverity) }
