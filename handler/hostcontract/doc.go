// Package hostcontract holds the tests of the contract between the handler
// and the Azure Functions host: host.json, the function folders and
// local.settings.json.example checked against the published schemas, and
// the built binary started and called the way the host starts and calls it.
package hostcontract
