package manageapi

// notifyRules authorizes the notify service's methods.
var notifyRules = map[string]Rule{}
