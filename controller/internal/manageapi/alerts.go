package manageapi

// alertRules authorizes the alert service's methods.
var alertRules = map[string]Rule{}

// AlertDeps is what the alert service's handlers need beyond the store.
type AlertDeps struct{}
