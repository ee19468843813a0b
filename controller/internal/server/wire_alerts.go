package server

import "github.com/vigil-rmm/vigil/controller/internal/manageapi"

// AlertsConfig is the "alerts" section of the controller config.
type AlertsConfig struct{}

// validate names every bad field.
func (c AlertsConfig) validate() []error { return nil }

// wireAlerts builds the alerts components, adds their background loops to
// s.runners and their dependencies to the manage API's config.
func (s *Server) wireAlerts(_ *manageapi.Config) error { return nil }
