package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"adpilot/metrics"
	"adpilot/models"
	"adpilot/views"
)

// replicaStaleAfter: a replica silent this long (the heartbeat is every
// 15 s) is shown as stale.
const replicaStaleAfter = 2 * time.Minute

// highErrorRate marks a platform's error rate worth a look.
const highErrorRate = 0.05

// adminScheduler shows each replica's last tick and the leader, the
// queue, worker use and per-platform error rates over the last hour.
func (h *Handler) adminScheduler(c echo.Context) error {
	ctx := c.Request().Context()
	now := time.Now()
	replicas, err := h.store.ListReplicas(ctx)
	if err != nil {
		return err
	}
	st, err := h.store.GetSchedulerStats(ctx, now)
	if err != nil {
		return err
	}
	m := views.AdminScheduler{Due: st.Due, Queued: st.Queued, Running: st.Running, Completed1h: st.Completed1h, Failed1h: st.Failed1h,
		StaleAfter: "2 minutes", OldestDue: "none: nothing is waiting"}
	if st.OldestDueAt != nil {
		m.OldestDue = fmt.Sprintf("%s (%s), due since %s (%s ago)", st.OldestDueName, st.OldestDueOwner,
			adminTime(*st.OldestDueAt), roughDuration(now.Sub(*st.OldestDueAt)))
	}
	calls := map[string]metrics.CallCounts{}
	leader, workers := false, 0
	for _, r := range replicas {
		age := now.Sub(r.LastTick)
		row := views.AdminReplica{ID: r.ReplicaID, Hostname: r.Hostname, PID: r.PID, Started: adminTime(r.StartedAt),
			LastTick: adminTime(r.LastTick), Age: roughDuration(age) + " ago", Leader: r.IsLeader, Stale: age > replicaStaleAfter,
			Buffered: r.RunsBuffered}
		switch {
		case r.WorkersTotal == 0:
			row.Workers = "no automation workers"
		case r.WorkersBusy != nil:
			row.Workers = fmt.Sprintf("%d of %d busy", *r.WorkersBusy, r.WorkersTotal)
		default:
			row.Workers = fmt.Sprintf("%d workers", r.WorkersTotal)
		}
		if !row.Stale {
			leader = leader || r.IsLeader
			workers += r.WorkersTotal
			var rc map[string]metrics.CallCounts
			if json.Unmarshal(r.PlatformCalls, &rc) == nil {
				for p, n := range rc {
					sum := calls[p]
					sum.Calls += n.Calls
					sum.Errors += n.Errors
					calls[p] = sum
				}
			}
		} else {
			row.Leader = false // an old claim: its lock went with its connection
		}
		m.Replicas = append(m.Replicas, row)
	}
	m.NoLeader = len(replicas) > 0 && !leader
	m.WorkerUse = workerUse(st, workers)
	for _, p := range slices.Sorted(maps.Keys(calls)) {
		n := calls[p]
		rate := float64(n.Errors) / float64(max(n.Calls, 1))
		m.Rates = append(m.Rates, views.AdminPlatformRate{Platform: p, Calls: n.Calls, Errors: n.Errors,
			Rate: fmt.Sprintf("%.1f %%", rate*100), High: rate >= highErrorRate})
	}
	return h.renderPage(c, http.StatusOK, "Scheduler", views.AdminSchedulerPage(m))
}

// workerUse is the running runs against the live replicas' workers.
func workerUse(st models.SchedulerStats, workers int) string {
	if workers == 0 {
		return fmt.Sprintf("%d running; no live replica reports workers", st.Running)
	}
	return fmt.Sprintf("%d of %d workers busy (%.0f %%)", st.Running, workers, 100*float64(st.Running)/float64(workers))
}

// roughDuration says how long, to the second under a minute, else coarser.
func roughDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
