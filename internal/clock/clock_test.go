package clock

import (
	"testing"
	"time"
)

func TestFakeFiresTimersInOrderOnlyWhenDue(t *testing.T) {
	f := NewFake(time.Unix(1000, 0))
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(1 * time.Second)
	f.Advance(999 * time.Millisecond)
	select {
	case <-b.C():
		t.Fatal("timer fired before it was due")
	default:
	}
	f.Advance(time.Millisecond)
	if got := <-b.C(); !got.Equal(time.Unix(1001, 0)) {
		t.Fatalf("b fired at %v, want 1001", got.Unix())
	}
	if f.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", f.Pending())
	}
	if !a.Stop() {
		t.Fatal("Stop on a pending timer returned false")
	}
	f.Advance(time.Hour)
	select {
	case <-a.C():
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestFakeWaitForTimers(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	done := make(chan bool)
	go func() { done <- f.WaitForTimers(2, nil) }()
	f.NewTimer(time.Second)
	f.NewTimer(time.Second)
	if !<-done {
		t.Fatal("WaitForTimers returned false")
	}
}

func TestScaledRunsFaster(t *testing.T) {
	start := time.Unix(0, 0)
	c := Scaled(start, 1000)
	tm := c.NewTimer(10 * time.Second) // 10ms of real time
	at := <-tm.C()
	if at.Sub(start) < 10*time.Second {
		t.Fatalf("scaled timer fired at +%v, want >= 10s", at.Sub(start))
	}
}
