package manageapi

// notifyRules authorizes the notify service's methods.
var notifyRules = map[string]Rule{}

// NotifyDeps is what the notify service's handlers need beyond the store.
type NotifyDeps struct{}
