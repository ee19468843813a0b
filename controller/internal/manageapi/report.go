package manageapi

// reportRules authorizes the report service's methods.
var reportRules = map[string]Rule{}
