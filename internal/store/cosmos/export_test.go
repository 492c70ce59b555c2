package cosmos

// SetBetweenWrites sets the fault a test runs between the index writes and
// the record write of the store's user writes.
func SetBetweenWrites(s *Store, fault func() error) { s.betweenWrites = fault }
