package notify

// PublicOnly exposes the webhook dialer's address check to the tests.
var PublicOnly = publicOnly
