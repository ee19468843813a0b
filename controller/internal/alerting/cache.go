package alerting

import (
	"errors"
	"fmt"
	"hash/maphash"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/store"
)

// recordCache keeps the patch and reboot records an evaluation decoded,
// keyed by a hash of their stored bytes. Those records change a few times
// a day but are read every minute, and a patch record with a hundred
// pending updates is tens of kilobytes: at 10,000 agents decoding them all
// again was most of an evaluation's time and garbage. Hashing the bytes
// costs a fraction of decoding them. What it keeps is the part the rules
// read (alert.PatchStateOf, alert.SlimRebootRecord): the full records of
// 10,000 agents with 20 pending updates each held 70 MB of the
// controller's heap.
//
// The records it returns are shared between evaluations and must not be
// changed. Each evaluation starts a new generation, and what it did not
// read (a removed agent) is dropped at the next one.
type recordCache struct {
	seed      maphash.Seed
	prev, cur map[string]cachedMsg
}

type cachedMsg struct {
	sum  uint64
	size int
	val  any
}

func newRecordCache() *recordCache {
	return &recordCache{seed: maphash.MakeSeed(), prev: map[string]cachedMsg{}, cur: map[string]cachedMsg{}}
}

// next starts a generation: entries not read since the last call go.
func (c *recordCache) next() {
	c.prev, c.cur = c.cur, make(map[string]cachedMsg, len(c.cur))
}

// cachedRecord reads one record's bytes with read and returns it decoded
// and reduced by conv, from c when the bytes are the ones decoded before;
// the zero V when there is no record. A nil cache decodes every time.
func cachedRecord[M proto.Message, V any](c *recordCache, key string, tx store.Tx, read func(store.Tx, string) ([]byte, error), id string,
	newM func() M, conv func(M) V) (V, error) {
	var zero V
	b, err := read(tx, id)
	if errors.Is(err, store.ErrNotFound) {
		return zero, nil
	}
	if err != nil {
		return zero, err
	}
	var sum uint64
	if c != nil {
		sum = maphash.Bytes(c.seed, b)
		for _, m := range []map[string]cachedMsg{c.cur, c.prev} {
			if e, ok := m[key]; ok && e.sum == sum && e.size == len(b) {
				c.cur[key] = e
				return e.val.(V), nil
			}
		}
	}
	m := newM()
	if err := proto.Unmarshal(b, m); err != nil {
		return zero, fmt.Errorf("decode %s: %w", key, err)
	}
	v := conv(m)
	if c != nil {
		c.cur[key] = cachedMsg{sum: sum, size: len(b), val: v}
	}
	return v, nil
}
