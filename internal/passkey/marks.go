package passkey

import "time"

// MarksInRecords is implemented by a store on which a named login's
// single-use mark is best kept in the user's record, written by the same
// replace that records the use, rather than as an item of its own: on
// Cosmos DB that makes a named login ceremony three round trips (read at
// begin, read and replace at finish) instead of four.
type MarksInRecords interface {
	MarksInRecords() bool
}

// Mark is the single-use mark of a named login's session, kept in the
// user's record (MarksInRecords): the session's challenge tag, the first
// claim with its result (nil: it was refused), and until when it must be
// kept.
type Mark struct {
	Tag    string    `json:"tag"`
	Digest string    `json:"digest"`
	At     time.Time `json:"at"`
	Result *Result   `json:"result,omitempty"`
	Until  time.Time `json:"until"`
}

// findMark returns the user's mark with the tag, or nil.
func (u *User) findMark(tag string) *Mark {
	for i := range u.Marks {
		if u.Marks[i].Tag == tag {
			m := u.Marks[i]
			return &m
		}
	}
	return nil
}

// addMark adds the mark and drops those no longer needed at now.
func (u *User) addMark(m Mark, now time.Time) {
	kept := make([]Mark, 0, len(u.Marks)+1)
	for _, old := range u.Marks {
		if old.Until.After(now) {
			kept = append(kept, old)
		}
	}
	u.Marks = append(kept, m)
}
