package server

import "github.com/vigil-rmm/vigil/controller/internal/manageapi"

// ChecksConfig is the "checks" section of the controller config.
type ChecksConfig struct{}

// validate names every bad field.
func (c ChecksConfig) validate() []error { return nil }

// wireChecks builds the checks components, adds their background loops to
// s.runners and their dependencies to the manage API's config.
func (s *Server) wireChecks(_ *manageapi.Config) error { return nil }
