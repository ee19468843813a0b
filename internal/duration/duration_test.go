package duration

import (
	"encoding/json"
	"testing"
	"time"
)

func TestJSON(t *testing.T) {
	var v struct {
		D Duration `json:"d"`
	}
	if err := json.Unmarshal([]byte(`{"d":"1m30s"}`), &v); err != nil || v.D.Std() != 90*time.Second {
		t.Fatalf("got %v, %v", v.D, err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"d":"1m30s"}` {
		t.Fatalf("marshal: %s", b)
	}
	for _, bad := range []string{`{"d":90}`, `{"d":"ninety"}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
