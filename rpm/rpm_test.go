package rpm

import (
	"testing"
	"time"
)

func TestPatientAge(t *testing.T) {
	born := time.Date(1950, time.March, 15, 0, 0, 0, 0, time.UTC)
	p := Patient{BirthDate: born}
	tests := []struct {
		on   time.Time
		want int
	}{
		{time.Date(2026, time.March, 14, 23, 0, 0, 0, time.UTC), 75},
		{time.Date(2026, time.March, 15, 0, 0, 0, 0, time.UTC), 76},
		{time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC), 76},
	}
	for _, tt := range tests {
		if got := p.Age(tt.on); got != tt.want {
			t.Errorf("Age(%s) = %d, want %d", tt.on.Format(time.DateOnly), got, tt.want)
		}
	}
}
