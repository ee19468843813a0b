//go:build !windows

package windowsupdate

import (
	"context"
	"errors"
	"fmt"
)

// otherSearcher stands in for WUA on systems that have none.
type otherSearcher struct{}

var _ Searcher = otherSearcher{}

func newSearcher() Searcher { return otherSearcher{} }

func (otherSearcher) Search(context.Context, Query) (*SearchResult, error) {
	return nil, fmt.Errorf("windows update agent: %w", errors.ErrUnsupported)
}

func (otherSearcher) RebootRequired(context.Context) (bool, error) {
	return false, fmt.Errorf("windows update agent: %w", errors.ErrUnsupported)
}
