//go:build !linux && !windows

package inventory

import (
	"context"
	"errors"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

func collect(context.Context, Options) (*agentv1.Inventory, error) { return nil, errors.ErrUnsupported }
