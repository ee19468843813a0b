package disk

import (
	"context"
	"errors"
	"os"
	"testing"

	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"

	"github.com/vigil-rmm/vigil/agent/internal/collector/sample"
)

func TestCollectThisMachine(t *testing.T) {
	s := sample.New()
	if err := New(DefaultConfig()).Collect(context.Background(), s); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	vols := s.Metrics.Volumes
	root := volumeAt(vols, "/")
	if root == nil {
		t.Fatalf("no volume at /; got %q", mountsOfVolumes(vols))
	}
	if root.Total <= root.Used || root.Free == 0 || root.Free > root.Total || root.Fstype == "" {
		t.Errorf("/ = %+v, want total > used, 0 < free <= total, an fstype", root)
	}
	// The temp dir lives on the kept volume with the longest mount prefix.
	tmp := holding(vols, t.TempDir())
	if tmp == nil || tmp.Total == 0 {
		t.Errorf("no volume holds %s; got %q", os.TempDir(), mountsOfVolumes(vols))
	}
	seen := map[string]bool{}
	for _, v := range vols {
		if seen[v.Mount] || v.Total == 0 || excludedFstypes[v.Fstype] {
			t.Errorf("volume %+v: duplicate, empty or pseudo", v)
		}
		seen[v.Mount] = true
	}
}

func TestCollectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := sample.New()
	if err := New(DefaultConfig()).Collect(ctx, s); !errors.Is(err, context.Canceled) {
		t.Errorf("Collect(cancelled) = %v, want context.Canceled", err)
	}
}

func volumeAt(vols []*agentv1.Volume, mount string) *agentv1.Volume {
	for _, v := range vols {
		if v.Mount == mount {
			return v
		}
	}
	return nil
}

func holding(vols []*agentv1.Volume, path string) *agentv1.Volume {
	var best *agentv1.Volume
	for _, v := range vols {
		if under(path, v.Mount) && (best == nil || len(v.Mount) > len(best.Mount)) {
			best = v
		}
	}
	return best
}
