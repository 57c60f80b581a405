package uploads

import "time"

// SetClock replaces the manager's clock (tests of expiry and cleanup).
func SetClock(m *Manager, now func() time.Time) { m.now = now }
