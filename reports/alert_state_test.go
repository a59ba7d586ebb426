package reports

import (
	"encoding/json"
	"testing"
	"time"
)

var (
	firing  = Result{Fired: true}
	cleared = Result{}
	guarded = Result{Guarded: true}
	t0      = at("2024-05-15T09:00:00Z")
)

type step struct {
	after time.Duration // since t0
	r     Result
	do    func(State, time.Time) State // a button pressed before this run
	want  Decision
}

func runSteps(t *testing.T, steps []step, cooldown time.Duration, notifyResolved bool) State {
	t.Helper()
	var s State
	for i, st := range steps {
		now := t0.Add(st.after)
		if st.do != nil {
			s = st.do(s, now)
		}
		var d Decision
		d, s = Decide(s, st.r, now, cooldown, notifyResolved)
		if d != st.want {
			t.Fatalf("step %d (+%v): %s, want %s (state %+v)", i, st.after, d, st.want, s)
		}
	}
	return s
}

func TestDecideLifecycle(t *testing.T) {
	s := runSteps(t, []step{
		{0, cleared, nil, None},
		{1 * time.Hour, firing, nil, Fire}, // starts
		{2 * time.Hour, firing, nil, None}, // within the 6h cooldown
		{6*time.Hour + 59*time.Minute, firing, nil, None},
		{7 * time.Hour, firing, nil, Fire},              // cooldown passed, still firing
		{8 * time.Hour, guarded, nil, None},             // too little data: no verdict
		{9 * time.Hour, firing, nil, None},              // still the same episode, in cooldown
		{10 * time.Hour, cleared, nil, Resolved},        // clears
		{11 * time.Hour, cleared, nil, None},            // stays cleared quietly
		{11*time.Hour + time.Minute, firing, nil, Fire}, // a new episode fires at once
	}, 6*time.Hour, true)
	if !s.Firing || s.LastFiredAt == nil || !s.LastFiredAt.Equal(t0.Add(11*time.Hour+time.Minute)) {
		t.Errorf("final state %+v", s)
	}
}

func TestDecideNoResolvedNotice(t *testing.T) {
	s := runSteps(t, []step{
		{0, firing, nil, Fire},
		{time.Hour, cleared, nil, None},
		{2 * time.Hour, firing, nil, Fire},
	}, 24*time.Hour, false)
	if !s.Firing {
		t.Error("not firing")
	}
}

func TestDecideZeroCooldown(t *testing.T) {
	runSteps(t, []step{
		{0, firing, nil, Fire},
		{time.Minute, firing, nil, Fire},
		{2 * time.Minute, firing, nil, Fire},
	}, 0, true)
}

func snooze(d time.Duration) func(State, time.Time) State {
	return func(s State, now time.Time) State { return s.Snooze(now, d) }
}

func ack(s State, now time.Time) State { return s.Acknowledge(now) }

func TestDecideSnooze(t *testing.T) {
	h := time.Hour
	s := runSteps(t, []step{
		{0, firing, nil, Fire},
		{1 * h, firing, snooze(24 * h), None}, // snoozed
		{8 * h, firing, nil, None},            // past the cooldown, but snoozed
		{10 * h, cleared, nil, None},          // clears: resolved withheld while snoozed
		{12 * h, firing, nil, None},           // new episode under the snooze
		{25 * h, firing, nil, Fire},           // snooze over: the hidden episode fires
		{26 * h, firing, nil, None},           // cooldown again
	}, 6*h, true)
	if s.SnoozedUntil != nil {
		t.Errorf("expired snooze kept: %v", s.SnoozedUntil)
	}
	// Snoozed while firing and past it but still within the cooldown: quiet.
	runSteps(t, []step{
		{0, firing, nil, Fire},
		{1 * h, firing, snooze(2 * h), None},
		{4 * h, firing, nil, None}, // snooze over, cooldown (6h) not
		{6 * h, firing, nil, Fire},
	}, 6*h, true)
	// An episode that starts under a snooze fires once the snooze ends, even
	// though the previous episode's Fire is within the cooldown.
	runSteps(t, []step{
		{0, firing, nil, Fire},
		{1 * h, cleared, nil, Resolved},
		{2 * h, cleared, snooze(h), None},
		{150 * time.Minute, firing, nil, None},
		{210 * time.Minute, firing, nil, Fire},
	}, 6*h, true)
	// A snooze on a clear entity holds back its first fire.
	runSteps(t, []step{
		{0, cleared, snooze(h), None},
		{30 * time.Minute, firing, nil, None},
		{61 * time.Minute, firing, nil, Fire},
	}, 6*h, true)
}

func TestDecideAcknowledge(t *testing.T) {
	h := time.Hour
	s := runSteps(t, []step{
		{0, firing, nil, Fire},
		{1 * h, firing, ack, None},
		{30 * h, firing, nil, None}, // long past the cooldown: still quiet
		{31 * h, cleared, nil, Resolved},
	}, 6*h, true)
	if s.AcknowledgedAt != nil || s.Firing {
		t.Errorf("clearing must reset the acknowledgement: %+v", s)
	}
	// After it cleared, the next episode fires normally.
	runSteps(t, []step{
		{0, firing, nil, Fire},
		{1 * h, firing, ack, None},
		{2 * h, cleared, nil, None},
		{3 * h, firing, nil, Fire},
		{10 * h, firing, nil, Fire},
	}, 6*h, false)
}

func TestStateJSON(t *testing.T) {
	s := State{Firing: true}.Acknowledge(t0)
	b, err := json.Marshal(s)
	if err != nil || string(b) != `{"firing":true,"acknowledged_at":"2024-05-15T09:00:00Z"}` {
		t.Fatalf("%s %v", b, err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil || !back.Firing || !back.AcknowledgedAt.Equal(t0) {
		t.Errorf("%+v %v", back, err)
	}
	if !s.Snooze(t0, time.Hour).Snoozed(t0.Add(59*time.Minute)) || s.Snooze(t0, time.Hour).Snoozed(t0.Add(time.Hour)) {
		t.Error("snooze edge")
	}
}
