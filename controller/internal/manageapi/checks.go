package manageapi

// checkRules authorizes the check service's methods.
var checkRules = map[string]Rule{}

// CheckDeps is what the check service's handlers need beyond the store.
type CheckDeps struct{}
