package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Interval is a duration read from the environment either as plain seconds
// ("60", as the original configuration wrote them) or as a Go duration ("15s").
type Interval time.Duration

// UnmarshalText implements encoding.TextUnmarshaler for the env parser.
func (i *Interval) UnmarshalText(text []byte) error {
	const accepted = "use whole seconds (60) or a duration (15s, 1h30m)"
	s := strings.TrimSpace(string(text))
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs < 0 || secs > math.MaxInt64/int64(time.Second) {
			return fmt.Errorf("%q is out of range: %s", s, accepted)
		}
		*i = Interval(time.Duration(secs) * time.Second)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not an interval: %s", s, accepted)
	}
	if d < 0 {
		return fmt.Errorf("%q is negative: %s", s, accepted)
	}
	*i = Interval(d)
	return nil
}

// Duration returns the interval as a time.Duration.
func (i Interval) Duration() time.Duration { return time.Duration(i) }

func (i Interval) String() string { return time.Duration(i).String() }
