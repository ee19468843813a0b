package manageapi

// reportRules authorizes the report service's methods.
var reportRules = map[string]Rule{}

// ReportDeps is what the report service's handlers need beyond the store.
type ReportDeps struct{}
