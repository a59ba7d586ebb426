package testutil

import (
	"runtime/metrics"
	"sync"
	"time"
)

// MemoryPeak samples the Go runtime's memory every interval until Stop and
// keeps the peaks. It reads runtime/metrics, which does not stop the world
// (runtime.ReadMemStats does), so sampling does not disturb what it measures.
type MemoryPeak struct {
	stop chan struct{}
	done chan struct{}

	mu          sync.Mutex
	heapInuse   uint64 // peak of heap spans in use (MemStats.HeapInuse)
	runtimeSys  uint64 // peak of all memory mapped by the runtime (MemStats.Sys)
	goroutines  uint64 // peak goroutine count
	startMaxRSS int64  // the process's max RSS before sampling began, KiB
}

// SampleMemory starts sampling every interval.
func SampleMemory(interval time.Duration) *MemoryPeak {
	m := &MemoryPeak{stop: make(chan struct{}), done: make(chan struct{}), startMaxRSS: maxRSS()}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	read := func() {
		metrics.Read(samples)
		inuse := samples[0].Value.Uint64() + samples[1].Value.Uint64()
		m.mu.Lock()
		m.heapInuse = max(m.heapInuse, inuse)
		m.runtimeSys = max(m.runtimeSys, samples[2].Value.Uint64())
		m.goroutines = max(m.goroutines, samples[3].Value.Uint64())
		m.mu.Unlock()
	}
	go func() {
		defer close(m.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			read()
			select {
			case <-m.stop:
				read()
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// MemoryFigures are the peaks a MemoryPeak saw.
type MemoryFigures struct {
	HeapInuse  uint64 // bytes
	RuntimeSys uint64 // bytes
	Goroutines uint64
	// MaxRSS is the whole process's peak resident set (getrusage), bytes;
	// it includes everything in the test binary (fakes, sink, harness).
	MaxRSS uint64
	// RSSGrew is false when the process's peak RSS was already reached
	// before sampling began (then MaxRSS says nothing about the workload).
	RSSGrew bool
}

// Stop ends sampling and returns the peaks.
func (m *MemoryPeak) Stop() MemoryFigures {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	rss := maxRSS()
	return MemoryFigures{HeapInuse: m.heapInuse, RuntimeSys: m.runtimeSys, Goroutines: m.goroutines,
		MaxRSS: uint64(rss) * 1024, RSSGrew: rss > m.startMaxRSS}
}
