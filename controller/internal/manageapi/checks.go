package manageapi

// checkRules authorizes the check service's methods.
var checkRules = map[string]Rule{}
