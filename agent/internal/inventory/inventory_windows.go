package inventory

import (
	"context"
	"errors"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// collect is a placeholder until the platform reader lands.
func collect(context.Context, Options) (*agentv1.Inventory, error) { return nil, errors.ErrUnsupported }
