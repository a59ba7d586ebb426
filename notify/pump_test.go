package notify_test

import (
	"context"
	"testing"
	"time"

	"adpilot/models"
	"adpilot/testutil"
)

// Run drains a backlog at once, several at a time, each delivery once; a
// delivery queued while it idles goes out on the Kick, not at the next
// poll; cancelling stops it.
func TestRunDrainsTheQueueAndWakesOnKick(t *testing.T) {
	q := newQueue(t)
	recv := testutil.NewWebhookReceiver(t, "whsec_test")
	recv.SetDelay(20 * time.Millisecond)
	dest := q.destination(t, models.DestinationInput{Name: "Hook", Type: models.DestinationWebhook,
		Config: models.WebhookConfig{URL: recv.URL}, Secrets: &models.WebhookSecrets{SigningSecret: "whsec_test"}})
	d := q.dispatcher(t)
	ctx := context.Background()
	for range 40 {
		if _, err := d.Enqueue(ctx, dest.TenantID, dest.ID, "", report); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		d.Run(runCtx, 8, time.Hour) // an hour's poll: only the backlog and Kick can explain a send
	}()
	start := time.Now()
	got := recv.WaitFor(40, 10*time.Second)
	// 40 sends of 20 ms each, 8 at a time: ~100 ms, not 800 ms one by one.
	if len(got) != 40 {
		t.Fatalf("%d of 40 delivered", len(got))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the backlog took %s", took)
	}
	time.Sleep(300 * time.Millisecond) // Run is idle now, backing off
	if _, err := d.Enqueue(ctx, dest.TenantID, dest.ID, "", report); err != nil {
		t.Fatal(err)
	}
	if got := recv.WaitFor(41, 2*time.Second); len(got) != 41 {
		t.Fatalf("a delivery queued while idle was not sent on the kick (%d requests)", len(got))
	}
	seen := map[string]bool{}
	for _, id := range recv.DeliveryIDs() {
		if seen[id] {
			t.Fatalf("delivery %s sent twice", id)
		}
		seen[id] = true
	}
	// The last attempt is recorded just after the receiver answers.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := q.count(t, `SELECT count(*) FROM delivery WHERE status = 'delivered'`)
		if n == 41 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries recorded as delivered, want 41", n)
		}
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
}
