package server

import "github.com/vigil-rmm/vigil/controller/internal/manageapi"

// NotifyConfig is the "notify" section of the controller config.
type NotifyConfig struct{}

// validate names every bad field.
func (c NotifyConfig) validate() []error { return nil }

// wireNotify builds the notify components, adds their background loops to
// s.runners and their dependencies to the manage API's config.
func (s *Server) wireNotify(_ *manageapi.Config) error { return nil }
