package policies

import (
	"fmt"
	"regexp"
	"strconv"
)

// A region is a part of a policy that only some environments upload:
//
//	<!--{If:PasskeyCallerAuth=Token}--> ... <!--{EndIf}-->
//
// keeps what is between the markers when the environment's setting has
// that value and drops it otherwise; the markers themselves always go.
// Regions do not nest. The caller-token profiles are written this way, so
// that an environment that calls the API with the key alone uploads no
// profile that refers to policy keys it does not have yet.
// A marker on a line of its own goes with its line.
var region = regexp.MustCompile(`(?ms)(?:^[ \t]*)?<!--\{If:([A-Za-z0-9_.-]+)=([A-Za-z0-9_.-]+)\}-->\n?(.*?)(?:^[ \t]*)?<!--\{EndIf\}-->(?:[ \t]*\n)?`)

// regionMarker finds a marker left after the regions are applied: an
// unclosed or nested region.
var regionMarker = regexp.MustCompile(`<!--\{(If:[^}]*|EndIf)\}-->`)

// applyRegions keeps or drops each region for the environment, then
// renumbers the orchestration steps, since a region may add one.
func (e *Environment) applyRegions(name string, policy []byte) ([]byte, error) {
	out := region.ReplaceAllFunc(policy, func(m []byte) []byte {
		sub := region.FindSubmatch(m)
		if v, _ := e.Value(string(sub[1])); v == string(sub[2]) {
			return sub[3]
		}
		return nil
	})
	if loc := regionMarker.FindIndex(out); loc != nil {
		return nil, fmt.Errorf("%s: region marker %s without its pair (regions do not nest)", name, out[loc[0]:loc[1]])
	}
	return renumberSteps(out), nil
}

var (
	stepsBlock = regexp.MustCompile(`(?s)<OrchestrationSteps>.*?</OrchestrationSteps>`)
	stepOrder  = regexp.MustCompile(`<OrchestrationStep Order="\d+"`)
)

// renumberSteps numbers the orchestration steps of each journey 1, 2, ...
// in document order, as B2C requires.
func renumberSteps(policy []byte) []byte {
	return stepsBlock.ReplaceAllFunc(policy, func(block []byte) []byte {
		n := 0
		return stepOrder.ReplaceAllFunc(block, func([]byte) []byte {
			n++
			return []byte(`<OrchestrationStep Order="` + strconv.Itoa(n) + `"`)
		})
	})
}

// SecretSettings are settings that are never written in appsettings.json:
// render-policies takes them with -set (from a secret store, in a
// pipeline). PasskeyFunctionKey is the function key that caller-token
// environments send as the code query parameter, since B2C sends one
// authentication header and it holds the token.
var SecretSettings = []string{"PasskeyFunctionKey"}

// Set gives a setting a value for this rendering only.
func (e *Environment) Set(name, value string) {
	if e.PolicySettings == nil {
		e.PolicySettings = map[string]string{}
	}
	e.PolicySettings[name] = value
}
