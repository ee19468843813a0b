package manageapi

// alertRules authorizes the alert service's methods.
var alertRules = map[string]Rule{}
