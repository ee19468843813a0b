package schema

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/controller/internal/store"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	storev1 "github.com/vigil-rmm/vigil/proto/vigil/store/v1"
)

// Signed tasks: the trust root, registered certificates, tasks with their
// queue index and output, agents' plugin lists, and events.
//
//	trust/root                 storev1.TrustRootRecord
//	certs/<serial>             storev1.CertificateRecord
//	tasks/<task-id>            storev1.TaskRecord
//	taskq/<agent-id>/<task-id> storev1.TaskRecord summary, only while the
//	                           task is not final (written by PutTask)
//	taskcancel/<task-id>       storev1.TaskTransition: a cancel request the
//	                           agent has not answered yet (deleted by PutTask
//	                           once the task is final)
//	taskout/<task-id>/<n>      agentv1.OutputLine; n counts from 1, 16 hex digits
//	plugins/<agent-id>         storev1.PluginListRecord
//	events/<t>/<event-id>      JSON Event; t is unix milliseconds, 16 hex digits

const (
	keyTrustRoot     = "trust/root"
	certsPrefix      = "certs/"
	tasksPrefix      = "tasks/"
	taskQueuePrefix  = "taskq/"
	taskCancelPrefix = "taskcancel/"
	taskOutPrefix    = "taskout/"
	pluginsPrefix    = "plugins/"
	eventsPrefix     = "events/"
)

// Trust root.

// GetTrustRoot returns store.ErrNotFound while no root is set.
func GetTrustRoot(tx store.Tx) (*storev1.TrustRootRecord, error) {
	r := &storev1.TrustRootRecord{}
	return r, getProto(tx, keyTrustRoot, r)
}

// PutTrustRoot records the root fingerprint.
func PutTrustRoot(tx store.Tx, r *storev1.TrustRootRecord) error {
	return putProto(tx, keyTrustRoot, r)
}

// Certificates.

// GetCertificate returns store.ErrNotFound for an unregistered serial.
func GetCertificate(tx store.Tx, serial string) (*storev1.CertificateRecord, error) {
	r := &storev1.CertificateRecord{}
	return r, getProto(tx, certsPrefix+serial, r)
}

// PutCertificate registers a certificate under its serial.
func PutCertificate(tx store.Tx, r *storev1.CertificateRecord) error {
	return putProto(tx, certsPrefix+r.GetSerial(), r)
}

// ListCertificates returns every registered certificate in serial order.
func ListCertificates(tx store.Tx) ([]*storev1.CertificateRecord, error) {
	return listProto(tx, certsPrefix, func() *storev1.CertificateRecord { return &storev1.CertificateRecord{} })
}

// Tasks.

// TaskFinal reports whether a task in state s can change no more.
func TaskFinal(s managev1.TaskState) bool {
	switch s {
	case managev1.TaskState_TASK_STATE_SUCCEEDED, managev1.TaskState_TASK_STATE_FAILED,
		managev1.TaskState_TASK_STATE_CANCELLED, managev1.TaskState_TASK_STATE_EXPIRED,
		managev1.TaskState_TASK_STATE_REFUSED, managev1.TaskState_TASK_STATE_INTERRUPTED:
		return true
	}
	return false
}

func taskQueueKey(agentID, taskID string) string { return taskQueuePrefix + agentID + "/" + taskID }

// maxTaskID bounds the task ids looked up; longer ones (and ids with a
// "/") cannot exist and are not found.
const maxTaskID = 128

// GetTask returns store.ErrNotFound for an unknown task.
func GetTask(tx store.Tx, id string) (*storev1.TaskRecord, error) {
	r := &storev1.TaskRecord{}
	if id == "" || len(id) > maxTaskID || strings.Contains(id, "/") {
		return r, store.ErrNotFound
	}
	return r, getProto(tx, tasksPrefix+id, r)
}

// PutTask writes a task and keeps its queue index in step: a task that is
// not final is listed under taskq/<agent>/<id> with a summary (no signed
// bytes, transitions or results); a final one is removed from the index,
// and its pending cancel request, if any, is deleted.
func PutTask(tx store.Tx, r *storev1.TaskRecord) error {
	if r.GetId() == "" || r.GetAgentId() == "" || strings.Contains(r.GetId(), "/") || strings.Contains(r.GetAgentId(), "/") {
		return fmt.Errorf("schema: task %q of agent %q: bad identifiers", r.GetId(), r.GetAgentId())
	}
	if err := putProto(tx, tasksPrefix+r.GetId(), r); err != nil {
		return err
	}
	if TaskFinal(managev1.TaskState(r.GetState())) {
		if err := tx.Delete(taskCancelPrefix + r.GetId()); err != nil {
			return err
		}
		return tx.Delete(taskQueueKey(r.GetAgentId(), r.GetId()))
	}
	return putProto(tx, taskQueueKey(r.GetAgentId(), r.GetId()), TaskSummary(r))
}

// TaskSummary is what the queue index keeps of a task: enough for the
// dispatcher to decide without reading the full record.
func TaskSummary(r *storev1.TaskRecord) *storev1.TaskRecord {
	return &storev1.TaskRecord{
		Id: r.GetId(), Tenant: r.GetTenant(), AgentId: r.GetAgentId(), Plugin: r.GetPlugin(), State: r.GetState(),
		NotBeforeUnix: r.GetNotBeforeUnix(), NotAfterUnix: r.GetNotAfterUnix(), Downtime: r.GetDowntime(),
		UpdatedUnixMs: r.GetUpdatedUnixMs(), BootTimeUnix: r.GetBootTimeUnix(), RebootDeadlineUnix: r.GetRebootDeadlineUnix(),
	}
}

// ListQueuedTasks returns the summaries of every task that is not final,
// by agent then task id.
func ListQueuedTasks(tx store.Tx) ([]*storev1.TaskRecord, error) {
	return listProto(tx, taskQueuePrefix, func() *storev1.TaskRecord { return &storev1.TaskRecord{} })
}

// ListAgentQueue returns the summaries of one agent's tasks that are not
// final, by task id.
func ListAgentQueue(tx store.Tx, agentID string) ([]*storev1.TaskRecord, error) {
	return listProto(tx, taskQueuePrefix+agentID+"/", func() *storev1.TaskRecord { return &storev1.TaskRecord{} })
}

// ScanTasks calls fn with every task record, in id order, until fn
// returns an error (errStop-like sentinels are the caller's).
func ScanTasks(tx store.Tx, fn func(*storev1.TaskRecord) error) error {
	return tx.Scan(tasksPrefix, func(key string, v []byte) error {
		r := &storev1.TaskRecord{}
		if err := unmarshal(key, v, r); err != nil {
			return err
		}
		return fn(r)
	})
}

// GetCancelRequest returns the pending cancel request of a task, or
// store.ErrNotFound.
func GetCancelRequest(tx store.Tx, taskID string) (*storev1.TaskTransition, error) {
	r := &storev1.TaskTransition{}
	return r, getProto(tx, taskCancelPrefix+taskID, r)
}

// PutCancelRequest records that a cancellation was asked of the agent.
func PutCancelRequest(tx store.Tx, taskID string, r *storev1.TaskTransition) error {
	return putProto(tx, taskCancelPrefix+taskID, r)
}

// Task output.

func taskOutKey(taskID string, n uint64) string {
	return fmt.Sprintf("%s%s/%016x", taskOutPrefix, taskID, n)
}

// AppendTaskOutput stores lines as numbers first, first+1, ... (first >= 1).
func AppendTaskOutput(tx store.Tx, taskID string, first uint64, lines []*agentv1.OutputLine) error {
	if first == 0 {
		return errors.New("schema: task output lines count from 1")
	}
	for i, l := range lines {
		if err := putProto(tx, taskOutKey(taskID, first+uint64(i)), l); err != nil {
			return err
		}
	}
	return nil
}

// ListTaskOutput returns the lines numbered after `after`, at most limit
// of them and no more than maxBytes of line text (but at least one line),
// and the number of the last one returned (after itself when none).
func ListTaskOutput(tx store.Tx, taskID string, after uint64, limit, maxBytes int) ([]*agentv1.OutputLine, uint64, error) {
	base := taskOutPrefix + taskID + "/"
	var out []*agentv1.OutputLine
	last := after
	size := 0
	err := scanFrom(tx, base, fmt.Sprintf("%016x", after+1), func(key string, v []byte) error {
		if len(out) >= limit || (len(out) > 0 && size+len(v) > maxBytes) {
			return errStop
		}
		size += len(v)
		var n uint64
		if _, err := fmt.Sscanf(key[len(base):], "%016x", &n); err != nil {
			return fmt.Errorf("schema: bad output key %s", key)
		}
		l := &agentv1.OutputLine{}
		if err := unmarshal(key, v, l); err != nil {
			return err
		}
		out = append(out, l)
		last = n
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, last, err
}

// Plugin lists.

// GetPluginList returns store.ErrNotFound if the agent never sent one.
func GetPluginList(tx store.Tx, agentID string) (*storev1.PluginListRecord, error) {
	r := &storev1.PluginListRecord{}
	return r, getProto(tx, pluginsPrefix+agentID, r)
}

// PutPluginList writes an agent's plugin list.
func PutPluginList(tx store.Tx, agentID string, r *storev1.PluginListRecord) error {
	return putProto(tx, pluginsPrefix+agentID, r)
}

// Events.

// Event is something that happened which people may need to hear about
// (the alerting work reads them). Unlike the other values it is stored as
// JSON: it is an internal, append-only record that no agent or API client
// sends, and adding a field must not need a proto change.
type Event struct {
	// ID is unique; NewEventID makes one.
	ID string `json:"id"`
	// TimeUnixMs is when it happened (controller clock).
	TimeUnixMs int64 `json:"time_unix_ms"`
	// Kind names what happened, for example EventTaskFailed.
	Kind string `json:"kind"`
	// Tenant, AgentID and TaskID say what it is about.
	Tenant  string `json:"tenant,omitempty"`
	AgentID string `json:"agent_id,omitempty"`
	TaskID  string `json:"task_id,omitempty"`
	// Message is one human-readable line.
	Message string `json:"message"`
}

// Event kinds.
const (
	// EventTaskFailed: a task ended FAILED (other than a reboot timeout).
	EventTaskFailed = "task.failed"
	// EventTaskRefused: the agent refused a task.
	EventTaskRefused = "task.refused"
	// EventTaskInterrupted: the agent stopped while a task ran.
	EventTaskInterrupted = "task.interrupted"
	// EventTaskExpired: a task was not started in its window.
	EventTaskExpired = "task.expired"
	// EventRebootTimeout: a rebooted server did not come back in time.
	EventRebootTimeout = "task.reboot_timeout"
)

// NewEventID returns a random event id.
func NewEventID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "ev-" + hex.EncodeToString(b)
}

func eventKey(e *Event) string { return eventsPrefix + histTime(e.TimeUnixMs) + "/" + e.ID }

// AppendEvent stores e; an empty ID gets a new one.
func AppendEvent(tx store.Tx, e *Event) error {
	if e.ID == "" {
		e.ID = NewEventID()
	}
	if strings.Contains(e.ID, "/") {
		return fmt.Errorf("schema: event id %q", e.ID)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("schema: encode event: %w", err)
	}
	return tx.Put(eventKey(e), b)
}

// ListEvents returns events with TimeUnixMs >= sinceMs, oldest first, at
// most limit of them.
func ListEvents(tx store.Tx, sinceMs int64, limit int) ([]*Event, error) {
	var out []*Event
	err := scanFrom(tx, eventsPrefix, histTime(sinceMs), func(key string, v []byte) error {
		if len(out) >= limit {
			return errStop
		}
		e := &Event{}
		if err := json.Unmarshal(v, e); err != nil {
			return fmt.Errorf("schema: decode %s: %w", key, err)
		}
		out = append(out, e)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

// DeleteEventsBefore deletes events older than cutoffMs and returns how
// many it deleted.
func DeleteEventsBefore(tx store.Tx, cutoffMs int64) (int, error) {
	cutoff := histTime(cutoffMs)
	n := 0
	err := tx.Scan(eventsPrefix, func(key string, _ []byte) error {
		if key[len(eventsPrefix):] >= cutoff {
			return errStop
		}
		n++
		return tx.Delete(key)
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return n, err
}

func unmarshal(key string, v []byte, m proto.Message) error {
	if err := proto.Unmarshal(v, m); err != nil {
		return fmt.Errorf("schema: decode %s: %w", key, err)
	}
	return nil
}

// ListCancelRequests returns every pending cancel request by task id.
func ListCancelRequests(tx store.Tx) (map[string]*storev1.TaskTransition, error) {
	return mapProto(tx, taskCancelPrefix, func() *storev1.TaskTransition { return &storev1.TaskTransition{} })
}
