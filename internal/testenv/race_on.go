//go:build race

package testenv

// raceBuild is true when the tests run with -race: the handler binary they
// start is then built with the race detector too, so the races of the
// processes under test (the group committer, the request path) are found
// by the browser, soak and host-contract suites as well.
const raceBuild = true
