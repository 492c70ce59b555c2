package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/passkeys-b2c/passkeys/internal/config"
	"github.com/passkeys-b2c/passkeys/internal/store/cosmos"
)

// template is azuredeploy.json, decoded loosely.
type template struct {
	Parameters map[string]struct {
		Type         string `json:"type"`
		DefaultValue any    `json:"defaultValue"`
	} `json:"parameters"`
	Variables map[string]any    `json:"variables"`
	Resources []resource        `json:"resources"`
	Outputs   map[string]output `json:"outputs"`
}

type resource struct {
	Condition  any            `json:"condition"`
	Type       string         `json:"type"`
	APIVersion string         `json:"apiVersion"`
	Name       string         `json:"name"`
	Scope      string         `json:"scope"`
	Location   string         `json:"location"`
	Kind       string         `json:"kind"`
	DependsOn  []string       `json:"dependsOn"`
	Resources  []resource     `json:"resources"` // child resources
	SKU        map[string]any `json:"sku"`
	Identity   struct {
		Type                   string         `json:"type"`
		UserAssignedIdentities map[string]any `json:"userAssignedIdentities"`
	} `json:"identity"`
	Properties map[string]any `json:"properties"`
}

type output struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

func loadTemplate(t *testing.T) *template {
	t.Helper()
	data, err := os.ReadFile("azuredeploy.json")
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := json.Unmarshal(data, &tpl); err != nil {
		t.Fatal(err)
	}
	return &tpl
}

func (tpl *template) all(typ string) []resource {
	var out []resource
	for _, r := range tpl.Resources {
		if strings.EqualFold(r.Type, typ) {
			out = append(out, r)
		}
	}
	return out
}

func (tpl *template) one(t *testing.T, typ string) resource {
	t.Helper()
	rs := tpl.all(typ)
	if len(rs) != 1 {
		t.Fatalf("want exactly one %s, found %d", typ, len(rs))
	}
	return rs[0]
}

var simpleExpr = regexp.MustCompile(`^\[(variables|parameters)\('([^']+)'\)\]$`)

// resolve evaluates the two expression forms the assertions need,
// [variables('x')] and [parameters('x')] (to its default), recursively;
// anything else is returned as it is.
func (tpl *template) resolve(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	m := simpleExpr.FindStringSubmatch(s)
	switch {
	case m == nil:
		return s
	case m[1] == "variables":
		return tpl.resolve(tpl.Variables[m[2]])
	default:
		return tpl.resolve(tpl.Parameters[m[2]].DefaultValue)
	}
}

func (tpl *template) resolveString(v any) string {
	s, _ := tpl.resolve(v).(string)
	return s
}

// path walks nested objects by key.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (tpl *template) appSettings(t *testing.T) map[string]string {
	t.Helper()
	site := tpl.one(t, "Microsoft.Web/sites")
	list, _ := path(site.Properties, "siteConfig", "appSettings").([]any)
	settings := map[string]string{}
	for _, item := range list {
		name, _ := path(item, "name").(string)
		value, _ := path(item, "value").(string)
		if _, dup := settings[name]; dup {
			t.Errorf("app setting %s is set twice", name)
		}
		settings[name] = value
	}
	return settings
}

// The identity the app runs as, and the one the platform writes the
// deployment package with, as the template writes them everywhere.
const (
	identityRef       = "[variables('identityId')]"
	identityPrincipal = "[reference(variables('identityId'), '2023-01-31').principalId]"
	identityClientID  = "[reference(variables('identityId'), '2023-01-31').clientId]"
	deployIdentityRef = "[variables('deployIdentityId')]"
	deployPrincipal   = "[reference(variables('deployIdentityId'), '2023-01-31').principalId]"
)

func TestFunctionAppIsFlexConsumptionCustomHandler(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	plan := tpl.one(t, "Microsoft.Web/serverfarms")
	if plan.SKU["name"] != "FC1" || plan.SKU["tier"] != "FlexConsumption" {
		t.Errorf("plan sku %v, want FC1 / FlexConsumption", plan.SKU)
	}
	if path(plan.Properties, "reserved") != true {
		t.Error("the Flex Consumption plan is Linux: properties.reserved must be true")
	}
	site := tpl.one(t, "Microsoft.Web/sites")
	if site.Kind != "functionapp,linux" {
		t.Errorf("site kind %q, want functionapp,linux", site.Kind)
	}
	config := path(site.Properties, "functionAppConfig")
	if got := path(config, "runtime", "name"); got != "custom" {
		t.Errorf("functionAppConfig.runtime.name = %v, want custom", got)
	}
	if got := path(config, "runtime", "version"); got != "1.0" {
		t.Errorf("functionAppConfig.runtime.version = %v, want \"1.0\"", got)
	}
	storage := path(config, "deployment", "storage")
	if path(storage, "type") != "blobContainer" {
		t.Errorf("deployment storage type %v, want blobContainer", path(storage, "type"))
	}
	if v, _ := path(storage, "value").(string); !strings.Contains(v, "primaryEndpoints.blob") || !strings.Contains(v, "variables('deploymentContainer')") {
		t.Errorf("deployment storage value %q is not the deployment container's URL", v)
	}
	if path(storage, "authentication", "type") != "UserAssignedIdentity" ||
		path(storage, "authentication", "userAssignedIdentityResourceId") != deployIdentityRef {
		t.Errorf("deployment storage authentication %v, want the deployment identity", path(storage, "authentication"))
	}
	if path(config, "scaleAndConcurrency", "instanceMemoryMB") == nil || path(config, "scaleAndConcurrency", "maximumInstanceCount") == nil {
		t.Error("scaleAndConcurrency must set instanceMemoryMB and maximumInstanceCount")
	}
	if path(site.Properties, "httpsOnly") != true {
		t.Error("httpsOnly must be true")
	}
	container := tpl.resolveString(tpl.Variables["deploymentContainer"])
	found := false
	for _, c := range tpl.all("Microsoft.Storage/storageAccounts/blobServices/containers") {
		if strings.Contains(c.Name, "variables('deploymentContainer')") {
			found = true
		}
	}
	if !found {
		t.Errorf("no blob container resource for the deployment container %q", container)
	}
	settings := tpl.appSettings(t)
	// Flex Consumption refuses these; the runtime is in functionAppConfig.
	for _, name := range []string{"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"} {
		if _, ok := settings[name]; ok {
			t.Errorf("app setting %s is not supported on Flex Consumption", name)
		}
	}
}

// secretish matches what must never appear in the template: account keys,
// functions that read keys, connection strings with a key.
var secretish = regexp.MustCompile(`(?i)AccountKey|SharedAccessKey|listKeys|listConnectionStrings|primaryMasterKey|secondaryMasterKey|primaryKey|InstrumentationKey`)

// secretName matches setting names that would hold a secret.
var secretName = regexp.MustCompile(`(^|_)(KEYS?|SECRETS?|PASSWORD|CONNECTION|CONNECTIONSTRING)(_|$)|ACCOUNTKEY|SAS`)

func TestNoKeysAnywhere(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"azuredeploy.json", "azuredeploy.parameters.json"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if m := secretish.FindString(string(data)); m != "" {
			t.Errorf("%s mentions %q: no account keys or connection strings with keys", file, m)
		}
		if strings.Contains(string(data), "securestring") {
			t.Errorf("%s takes a secure parameter; nothing here needs a secret", file)
		}
	}
	tpl := loadTemplate(t)
	for name, value := range tpl.appSettings(t) {
		upper := strings.ToUpper(name)
		switch {
		case name == "AzureWebJobsStorage":
			t.Errorf("AzureWebJobsStorage is a connection string; use the __accountName/__credential/__clientId settings")
		case name == "APPLICATIONINSIGHTS_CONNECTION_STRING":
			// Holds the ingestion endpoint and an identifier, no secret;
			// authentication is the identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
			if value != "[reference(variables('appInsightsId'), '2020-02-02').ConnectionString]" {
				t.Errorf("APPLICATIONINSIGHTS_CONNECTION_STRING = %q, want the component's connection string", value)
			}
		case secretName.MatchString(upper):
			t.Errorf("app setting %s looks like a secret; the app authenticates with its identity", name)
		}
	}
	settings := tpl.appSettings(t)
	want := map[string]string{
		"AzureWebJobsStorage__accountName":          "[variables('storageName')]",
		"AzureWebJobsStorage__credential":           "managedidentity",
		"AzureWebJobsStorage__clientId":             identityClientID,
		"AZURE_CLIENT_ID":                           identityClientID,
		"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "[concat('ClientId=', reference(variables('identityId'), '2023-01-31').clientId, ';Authorization=AAD')]",
	}
	for name, value := range want {
		if settings[name] != value {
			t.Errorf("app setting %s = %q, want %q", name, settings[name], value)
		}
	}

	storage := tpl.one(t, "Microsoft.Storage/storageAccounts")
	if path(storage.Properties, "allowSharedKeyAccess") != false {
		t.Error("the storage account must refuse shared keys (allowSharedKeyAccess false)")
	}
	if path(storage.Properties, "allowBlobPublicAccess") != false {
		t.Error("the storage account must not allow public blobs")
	}
	insights := tpl.one(t, "Microsoft.Insights/components")
	if path(insights.Properties, "DisableLocalAuth") != true {
		t.Error("Application Insights must take only Entra-authenticated telemetry (DisableLocalAuth true)")
	}
	if path(insights.Properties, "WorkspaceResourceId") == nil {
		t.Error("Application Insights must be workspace-based")
	}
	tpl.one(t, "Microsoft.OperationalInsights/workspaces")
}

func TestCosmosAccountServerlessWithoutKeys(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	account := tpl.one(t, "Microsoft.DocumentDB/databaseAccounts")
	if path(account.Properties, "disableLocalAuth") != true {
		t.Error("Cosmos DB disableLocalAuth must be true: no account keys")
	}
	caps, _ := path(account.Properties, "capabilities").([]any)
	serverless := false
	for _, c := range caps {
		if path(c, "name") == "EnableServerless" {
			serverless = true
		}
	}
	if !serverless {
		t.Error("the Cosmos DB account must be serverless (capability EnableServerless)")
	}
	settings := tpl.appSettings(t)
	if settings["PASSKEY_COSMOS_ENDPOINT"] != "[reference(variables('cosmosId'), '2024-11-15').documentEndpoint]" {
		t.Errorf("PASSKEY_COSMOS_ENDPOINT = %q, want the account's documentEndpoint", settings["PASSKEY_COSMOS_ENDPOINT"])
	}
	if _, ok := settings["PASSKEY_COSMOS_KEY"]; ok {
		t.Error("PASSKEY_COSMOS_KEY must not be set: the app uses its managed identity")
	}
}

// The Cosmos store's layout: the store (internal/store/cosmos) exports its
// container names and partition key paths, and the template must create
// exactly those.
func TestCosmosContainersMatchTheStore(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	db := tpl.one(t, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases")
	if path(db.Properties, "resource", "id") != "[parameters('cosmosDatabase')]" {
		t.Errorf("database id %v, want the cosmosDatabase parameter", path(db.Properties, "resource", "id"))
	}
	cfg := configFields(t)
	if def := tpl.resolveString("[parameters('cosmosDatabase')]"); def != cfg["PASSKEY_COSMOS_DATABASE"].def {
		t.Errorf("cosmosDatabase defaults to %q, the handler to %q", def, cfg["PASSKEY_COSMOS_DATABASE"].def)
	}
	if tpl.appSettings(t)["PASSKEY_COSMOS_DATABASE"] != "[parameters('cosmosDatabase')]" {
		t.Error("PASSKEY_COSMOS_DATABASE must be the database the template creates")
	}

	got := map[string]string{}
	ttl := map[string]any{}
	for _, c := range tpl.all("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers") {
		name := tpl.resolveString(path(c.Properties, "resource", "id"))
		paths, _ := path(c.Properties, "resource", "partitionKey", "paths").([]any)
		if len(paths) != 1 {
			t.Errorf("container %s: want one partition key path, have %v", name, paths)
			continue
		}
		got[name] = tpl.resolveString(paths[0])
		ttl[name] = tpl.resolve(path(c.Properties, "resource", "defaultTtl"))
		if !strings.Contains(c.Name, "parameters('cosmosDatabase')") {
			t.Errorf("container %s is not in the cosmosDatabase database: %s", name, c.Name)
		}
	}

	want := map[string]string{
		cosmos.UsersContainer:    cosmos.UsersPartitionKey,
		cosmos.SessionsContainer: cosmos.SessionsPartitionKey,
	}
	if fmt.Sprint(ttl["sessions"]) != fmt.Sprint(cosmos.SessionsDefaultTTL) {
		t.Errorf("sessions defaultTtl defaults to %v, the store creates it with SessionsDefaultTTL = %d", ttl["sessions"], cosmos.SessionsDefaultTTL)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("template containers (name: partition key) %v, the store expects %v", got, want)
	}
	if v, ok := ttl["sessions"].(float64); !ok || (v != -1 && v <= 0) {
		t.Errorf("sessions container defaultTtl = %v: time to live must be on (-1 or seconds)", ttl["sessions"])
	} else if v > 0 && v < 3600 {
		t.Errorf("sessions defaultTtl %v s is shorter than the longest PASSKEY_SESSION_TTL (1h)", v)
	}
	if ttl["users"] != nil {
		t.Errorf("users container has a defaultTtl (%v); users must not expire", ttl["users"])
	}
}

type configField struct{ def string }

// configFields lists the environment variables of config.Config with
// their defaults: the source of truth for what the handler reads.
func configFields(t *testing.T) map[string]configField {
	t.Helper()
	out := map[string]configField{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if name := f.Tag.Get("envconfig"); name != "" {
				out[name] = configField{def: f.Tag.Get("default")}
			} else if f.Type.Kind() == reflect.Struct && f.Anonymous {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[config.Config]())
	if len(out) == 0 {
		t.Fatal("config.Config has no envconfig tags")
	}
	return out
}

// notSetInAzure lists the variables the handler reads that the template
// deliberately leaves out, each with the reason.
var notSetInAzure = map[string]string{
	"FUNCTIONS_CUSTOMHANDLER_PORT": "set by the Functions host for each start",
	"PASSKEY_LISTEN_ADDR":          "the default 127.0.0.1 is where the host forwards requests",
	"PASSKEY_API_KEYS":             "the host checks function keys (authLevel function) before forwarding",
	"PASSKEY_COSMOS_KEY":           "no keys: the app reaches Cosmos DB with its managed identity",
	"PASSKEY_DATA_DIR":             "the embedded store is not used when PASSKEY_COSMOS_ENDPOINT is set",
	"PASSKEY_PUBLIC_URL":           "derived from WEBSITE_HOSTNAME, the Function App's own host name",
	"PASSKEY_CONDITIONAL_TTL":      "the default (30m) fits a sign-in page left open",
	"PASSKEY_MDS_URL":              "the FIDO Alliance's endpoint is the default; the last good BLOB is kept in Cosmos DB",
	"PASSKEY_MDS_FILE":             "a Flex Consumption app has no lasting disk to hold the file; the BLOB comes from PASSKEY_MDS_URL",
}

func TestEveryHandlerSettingIsDecided(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	settings := tpl.appSettings(t)
	cfg := configFields(t)
	for name := range cfg {
		_, set := settings[name]
		reason, skipped := notSetInAzure[name]
		switch {
		case set && skipped:
			t.Errorf("%s is set in the template although %s", name, reason)
		case !set && !skipped:
			t.Errorf("%s is read by the handler but neither set in the template nor listed in notSetInAzure with a reason", name)
		}
	}
	for name := range settings {
		if strings.HasPrefix(name, "PASSKEY_") {
			if _, ok := cfg[name]; !ok {
				t.Errorf("app setting %s is not read by the handler (misspelt or removed?)", name)
			}
		}
	}
	for name := range notSetInAzure {
		if _, ok := cfg[name]; !ok {
			t.Errorf("notSetInAzure lists %s, which the handler no longer reads", name)
		}
	}
	for _, name := range []string{"PASSKEY_RP_ID", "PASSKEY_RP_ORIGINS"} {
		if !strings.HasPrefix(settings[name], "[parameters(") {
			t.Errorf("%s must come from a parameter, is %q", name, settings[name])
		}
	}
	// Parameters without a default must be in the example parameters file.
	data, err := os.ReadFile("azuredeploy.parameters.json")
	if err != nil {
		t.Fatal(err)
	}
	var params struct {
		Parameters map[string]json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(data, &params); err != nil {
		t.Fatal(err)
	}
	for name, p := range tpl.Parameters {
		if _, given := params.Parameters[name]; p.DefaultValue == nil && !given {
			t.Errorf("parameter %s has no default and is missing from azuredeploy.parameters.json", name)
		}
	}
	for name := range params.Parameters {
		if _, ok := tpl.Parameters[name]; !ok {
			t.Errorf("azuredeploy.parameters.json sets %s, which the template does not declare", name)
		}
	}
}

func TestOutputsForB2C(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	base := tpl.Outputs["functionBaseUrl"]
	if !strings.Contains(base.Value, "defaultHostName") || !strings.HasSuffix(base.Value, "'/api')]") {
		t.Errorf("functionBaseUrl = %q, want https://<defaultHostName>/api", base.Value)
	}
	cmd := tpl.Outputs["functionKeyCommand"].Value
	if !strings.Contains(cmd, "az functionapp keys list") || !strings.Contains(cmd, "functionKeys.default") {
		t.Errorf("functionKeyCommand = %q, want the az command that reads the default function key", cmd)
	}
	for name, o := range tpl.Outputs {
		if secretish.MatchString(o.Value) || strings.Contains(o.Value, "listkeys") {
			t.Errorf("output %s reads a secret; outputs are stored in the deployment history", name)
		}
	}
}

// The demo page and its script are for a developer's machine: a deployed
// Function App never serves them, whatever the handler's own default.
func TestDemoPageOffInAzure(t *testing.T) {
	t.Parallel()
	settings := loadTemplate(t).appSettings(t)
	if settings["PASSKEY_DEMO_PAGE"] != "false" {
		t.Errorf("PASSKEY_DEMO_PAGE is %q in the template, want \"false\"", settings["PASSKEY_DEMO_PAGE"])
	}
	if settings["PASSKEY_PAGE_ORIGINS"] != "[parameters('pageOrigins')]" {
		t.Errorf("PASSKEY_PAGE_ORIGINS is %q, want the pageOrigins parameter", settings["PASSKEY_PAGE_ORIGINS"])
	}
}
