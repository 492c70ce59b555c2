package infra

import (
	"encoding/json"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/testenv"
)

// A variant is one way of deploying the template: the example parameters
// file plus the values a command line would add.
type variant struct {
	name   string
	params map[string]any
}

// existingWorkspace stands for a central workspace outside the resource group.
const existingWorkspace = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-security/providers/Microsoft.OperationalInsights/workspaces/log-security"

var (
	defaultVariant   = variant{"default", nil}
	privateVariant   = variant{"private", map[string]any{"privateNetworking": true}}
	workspaceVariant = variant{"existing workspace", map[string]any{"logAnalyticsWorkspaceId": existingWorkspace}}
	// Every test of a hardening point runs on each of these.
	variants = []variant{defaultVariant, privateVariant, workspaceVariant}
)

func (v variant) private() bool { return v.params["privateNetworking"] == true }

// rendered is the template as one deployment sees it: the resources whose
// condition holds, with every expression the deployment's parameters decide
// evaluated (see armexpr_test.go).
type rendered struct {
	*template
	raw  []map[string]any // the same resources, for schema validation
	eval *armEvaluator
}

// render evaluates the template for a variant. An expression the
// evaluator cannot parse, or a condition it cannot decide, fails the test:
// the checks would otherwise look at the wrong set of resources.
func render(t *testing.T, v variant) *rendered {
	t.Helper()
	var doc struct {
		Parameters map[string]struct {
			DefaultValue any `json:"defaultValue"`
		} `json:"parameters"`
		Variables map[string]any   `json:"variables"`
		Resources []map[string]any `json:"resources"`
		Outputs   map[string]any   `json:"outputs"`
	}
	testenv.ReadJSON(t, "azuredeploy.json", &doc)
	var file struct {
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
	}
	testenv.ReadJSON(t, "azuredeploy.parameters.json", &file)

	e := &armEvaluator{params: map[string]any{}, defaults: map[string]any{}, variables: doc.Variables}
	for name, p := range doc.Parameters {
		e.defaults[name] = p.DefaultValue
	}
	for name, p := range file.Parameters {
		e.params[name] = p.Value
	}
	for name, value := range v.params {
		if _, ok := doc.Parameters[name]; !ok {
			t.Fatalf("variant %s sets %s, which the template does not declare", v.name, name)
		}
		e.params[name] = value
	}

	var kept []map[string]any
	var keep func(list []any) []any
	keep = func(list []any) []any {
		var out []any
		for _, item := range list {
			r, _ := item.(map[string]any)
			if c, ok := r["condition"]; ok {
				on, decided := e.value(c).(bool)
				if !decided {
					t.Fatalf("%s: condition %v of %v cannot be decided", v.name, c, r["name"])
				}
				if !on {
					continue
				}
			}
			r = e.value(r).(map[string]any)
			if children, ok := r["resources"].([]any); ok {
				r["resources"] = keep(children)
			}
			out = append(out, r)
		}
		return out
	}
	all := make([]any, len(doc.Resources))
	for i, r := range doc.Resources {
		all[i] = r
	}
	for _, r := range keep(all) {
		kept = append(kept, r.(map[string]any))
	}
	if e.err != nil {
		t.Fatalf("%s: %v", v.name, e.err)
	}

	data, err := json.Marshal(map[string]any{"parameters": doc.Parameters, "variables": doc.Variables, "resources": kept})
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := json.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	return &rendered{template: &tpl, raw: kept, eval: e}
}

// variable is a variable's value in this variant, evaluated one level:
// [variables('workspaceId')] gives what workspaceId is defined as.
func (r *rendered) variable(name string) any { return r.eval.value(r.Variables[name]) }

// expr evaluates an expression as the template would write it.
func (r *rendered) expr(s string) any { return r.eval.value(s) }

// forEachVariant runs check on every variant as a subtest.
func forEachVariant(t *testing.T, check func(t *testing.T, v variant, tpl *rendered)) {
	t.Helper()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			check(t, v, render(t, v))
		})
	}
}

func TestARMExpressionEvaluation(t *testing.T) {
	t.Parallel()
	e := &armEvaluator{
		params:   map[string]any{"on": true},
		defaults: map[string]any{"on": false, "name": "app", "loc": "[resourceGroup().location]", "empty": ""},
		variables: map[string]any{
			"id":     "[resourceId('Microsoft.Web/sites', parameters('name'))]",
			"access": "[if(parameters('on'), 'Disabled', 'Enabled')]",
			"pick":   "[if(empty(parameters('empty')), variables('id'), parameters('empty'))]",
		},
	}
	for _, c := range []struct {
		in   string
		want any
	}{
		{"plain", "plain"},
		{"[[not an expression]", "[not an expression]"},
		{"[parameters('name')]", "app"},
		{"[parameters('on')]", true},
		{"[not(parameters('on'))]", false},
		{"[variables('access')]", "Disabled"},
		{"[if(not(parameters('on')), 'a', 'b')]", "b"},
		{"[concat('pe-', parameters('name'), '-blob')]", "pe-app-blob"},
		{"[format('{0}/{1}', parameters('name'), 'ftp')]", "app/ftp"},
		{"[equals(parameters('name'), 'app')]", true},
		{"[and(parameters('on'), empty(parameters('empty')))]", true},
		{"[string(30)]", "30"},
		{"[parameters('loc')]", "[parameters('loc')]"},
		{"[variables('id')]", "[variables('id')]"},
		{"[variables('pick')]", "[variables('pick')]"},
		{"[concat(variables('id'), '/x')]", "[concat(variables('id'), '/x')]"},
		{"[reference(variables('id'), '2024-04-01').defaultHostName]", "[reference(variables('id'), '2024-04-01').defaultHostName]"},
		{"[if(parameters('on'), variables('id'), null())]", "[variables('id')]"},
		{"[if(parameters('on'), 'it''s', 'no')]", "it's"},
	} {
		if got := e.value(c.in); got != c.want {
			t.Errorf("%s = %#v, want %#v", c.in, got, c.want)
		}
	}
	if got := e.value(map[string]any{"kept": "x", "dropped": "[if(parameters('on'), null(), 'y')]"}); len(got.(map[string]any)) != 1 {
		t.Errorf("a property set to null() must be left out, got %v", got)
	}
	if got := e.value(e.variables["pick"]); got != "[variables('id')]" {
		t.Errorf("pick evaluated one level = %v, want [variables('id')]", got)
	}
	if e.err != nil {
		t.Fatal(e.err)
	}
	e.value("[concat('a', ]")
	if e.err == nil {
		t.Error("a malformed expression was not reported")
	}
}
