package infra

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The checks a cloud security review asks for, each on every variant
// (default, private networking, existing workspace): least-privilege
// roles, private networking, diagnostics, continuous backup, no basic
// publishing credentials, TLS.

// Built-in role ids (they are the same in every tenant).
const (
	blobDataContributor   = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	tableDataContributor  = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
	queueDataContributor  = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
	metricsPublisher      = "3913510d-42f4-4e42-8a64-420c390055eb"
	cosmosDataContributor = "00000000-0000-0000-0000-000000000002"
)

type grant struct{ principal, role, scope string }

func (g grant) String() string {
	who := map[string]string{identityPrincipal: "app identity", deployPrincipal: "deployment identity"}[g.principal]
	if who == "" {
		who = g.principal
	}
	return fmt.Sprintf("%s: %s on %s", who, g.role, g.scope)
}

// firstVersionSeeds: the scopes whose role assignment names keep the
// seed the template's first version used.
var firstVersionSeeds = map[string]string{
	"variables('storageScope')":     "variables('storageId')",
	"variables('appInsightsScope')": "variables('appInsightsId')",
}

var roleVariable = regexp.MustCompile(`variables\('(\w+)'\)\)\]$`)

// grants lists the Azure role assignments of a variant.
func grants(t *testing.T, tpl *rendered) []grant {
	t.Helper()
	var out []grant
	for _, ra := range tpl.all("Microsoft.Authorization/roleAssignments") {
		def, _ := path(ra.Properties, "roleDefinitionId").(string)
		m := roleVariable.FindStringSubmatch(def)
		if m == nil {
			t.Errorf("role assignment %s: cannot read its role from %q", ra.Name, def)
			continue
		}
		principal, _ := path(ra.Properties, "principalId").(string)
		out = append(out, grant{principal, tpl.resolveString(tpl.Variables[m[1]]), ra.Scope})
		if path(ra.Properties, "principalType") != "ServicePrincipal" {
			t.Errorf("role assignment %s: principalType must be ServicePrincipal (a new identity may not have replicated yet)", ra.Name)
		}
		// The name is a guid of scope, identity and role, so a redeployment
		// finds the same assignment instead of failing on a duplicate. Two
		// keep the seed of the template's first version (the resource id
		// instead of the scope string, the same resource): a new name for an
		// existing role, principal and scope fails with RoleAssignmentExists.
		identity := strings.TrimPrefix(strings.Split(principal, ", '")[0], "[reference(")
		scope := strings.Trim(ra.Scope, "[]")
		if first, ok := firstVersionSeeds[scope]; ok {
			scope = first
		}
		if want := "[guid(" + scope + ", " + identity + ", variables('" + m[1] + "'))]"; ra.Name != want {
			t.Errorf("role assignment name %s, want %s", ra.Name, want)
		}
	}
	return out
}

// TestLeastPrivilegeRoles: the app identity reaches its Cosmos DB database
// and the host's own containers and tables, nothing more; the deployment
// package container is writable only by the deployment identity.
func TestLeastPrivilegeRoles(t *testing.T) {
	t.Parallel()
	forEachVariant(t, func(t *testing.T, v variant, tpl *rendered) {
		want := []grant{
			{identityPrincipal, blobDataContributor, "[variables('hostsContainerScope')]"},
			{identityPrincipal, blobDataContributor, "[variables('secretsContainerScope')]"},
			{identityPrincipal, tableDataContributor, "[variables('storageScope')]"},
			{identityPrincipal, metricsPublisher, "[variables('appInsightsScope')]"},
			{deployPrincipal, blobDataContributor, "[variables('deploymentContainerScope')]"},
		}
		got := grants(t, tpl)
		for _, g := range got {
			if g.principal == identityPrincipal && g.scope == "[variables('deploymentContainerScope')]" {
				t.Errorf("%v: code in the app could rewrite its own package", g)
			}
			if g.role != tableDataContributor && g.scope == "[variables('storageScope')]" {
				t.Errorf("%v: a blob or queue role on the whole account reaches the package and the host's secrets", g)
			}
		}
		key := func(g grant) string { return g.String() }
		gotKeys, wantKeys := mapSorted(got, key), mapSorted(want, key)
		if !slices.Equal(gotKeys, wantKeys) {
			t.Errorf("role assignments:\n  have %s\n  want %s", strings.Join(gotKeys, "\n       "), strings.Join(wantKeys, "\n       "))
		}

		// The scopes are what their names say.
		for name, want := range map[string]string{
			"hostsContainerScope":      "[format('Microsoft.Storage/storageAccounts/{0}/blobServices/default/containers/{1}', variables('storageName'), variables('hostsContainer'))]",
			"secretsContainerScope":    "[format('Microsoft.Storage/storageAccounts/{0}/blobServices/default/containers/{1}', variables('storageName'), variables('secretsContainer'))]",
			"deploymentContainerScope": "[format('Microsoft.Storage/storageAccounts/{0}/blobServices/default/containers/{1}', variables('storageName'), variables('deploymentContainer'))]",
			"storageScope":             "[format('Microsoft.Storage/storageAccounts/{0}', variables('storageName'))]",
			"appInsightsScope":         "[format('Microsoft.Insights/components/{0}', variables('appInsightsName'))]",
			"cosmosDatabaseScope":      "[concat(variables('cosmosId'), '/dbs/', parameters('cosmosDatabase'))]",
		} {
			if tpl.Variables[name] != want {
				t.Errorf("variable %s = %v, want %s", name, tpl.Variables[name], want)
			}
		}
		// The host's containers exist before the app starts: with roles on
		// them alone, the host could not create them.
		for _, c := range []string{"hostsContainer", "secretsContainer", "deploymentContainer"} {
			if !slices.ContainsFunc(tpl.all("Microsoft.Storage/storageAccounts/blobServices/containers"), func(r resource) bool {
				return strings.Contains(r.Name, "variables('"+c+"')")
			}) {
				t.Errorf("no blob container resource for %s (%v)", c, tpl.Variables[c])
			}
		}
		if tpl.Variables["hostsContainer"] != "azure-webjobs-hosts" || tpl.Variables["secretsContainer"] != "azure-webjobs-secrets" {
			t.Errorf("host containers %v and %v; the Functions host uses azure-webjobs-hosts and azure-webjobs-secrets", tpl.Variables["hostsContainer"], tpl.Variables["secretsContainer"])
		}

		// Cosmos DB: the data role on the database, not the account.
		sql := tpl.all("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
		if len(sql) != 1 {
			t.Fatalf("want one Cosmos DB data-plane role assignment, found %d", len(sql))
		}
		ra := sql[0]
		if p := path(ra.Properties, "principalId"); p != identityPrincipal {
			t.Errorf("the Cosmos DB role goes to %v, not the app identity", p)
		}
		if def := path(ra.Properties, "roleDefinitionId"); def != "[resourceId('Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions', variables('cosmosName'), variables('cosmosDataContributorRoleId'))]" ||
			tpl.Variables["cosmosDataContributorRoleId"] != cosmosDataContributor {
			t.Errorf("the Cosmos DB role must be the Built-in Data Contributor (%s), is %v", cosmosDataContributor, def)
		}
		if scope := path(ra.Properties, "scope"); scope != "[variables('cosmosDatabaseScope')]" {
			t.Errorf("the Cosmos DB role is scoped to %v, want the database (cosmosDatabaseScope)", scope)
		}

		// The app runs as both identities (the platform needs the
		// deployment identity assigned), but every credential the host and
		// the handler are given is the app identity's.
		site := tpl.one(t, "Microsoft.Web/sites")
		ids := mapSorted(keys(site.Identity.UserAssignedIdentities), func(s string) string { return s })
		if site.Identity.Type != "UserAssigned" || !slices.Equal(ids, []string{deployIdentityRef, identityRef}) {
			t.Errorf("the function app's identities are %s %v, want UserAssigned %s and %s", site.Identity.Type, ids, identityRef, deployIdentityRef)
		}
		if a := path(site.Properties, "functionAppConfig", "deployment", "storage", "authentication", "userAssignedIdentityResourceId"); a != deployIdentityRef {
			t.Errorf("the deployment package is reached with %v, want the deployment identity", a)
		}
		settings := tpl.appSettings(t)
		for _, name := range []string{"AZURE_CLIENT_ID", "AzureWebJobsStorage__clientId"} {
			if settings[name] != identityClientID {
				t.Errorf("%s = %q, want the app identity's client id", name, settings[name])
			}
		}
		for name, value := range settings {
			if strings.Contains(value, "deployIdentity") {
				t.Errorf("app setting %s = %q hands the deployment identity to the app", name, value)
			}
		}

		// The app starts only after its roles exist.
		needs := []string{sql[0].Name}
		for _, ra := range tpl.all("Microsoft.Authorization/roleAssignments") {
			needs = append(needs, ra.Name)
		}
		for _, name := range needs {
			inner := strings.Trim(name[strings.LastIndex(name, "guid("):], "[]")
			inner = inner[:strings.LastIndex(inner, ")")+1]
			if !slices.ContainsFunc(site.DependsOn, func(d string) bool { return strings.Contains(d, inner) }) {
				t.Errorf("the function app does not depend on the role assignment %s", name)
			}
		}
	})
}

// TestPrivateNetworking: the default keeps public endpoints for a first
// try; privateNetworking puts Cosmos DB and every storage service the app's
// roles reach behind private endpoints with private DNS, integrates the app
// into the virtual network and turns public access off.
func TestPrivateNetworking(t *testing.T) {
	t.Parallel()
	forEachVariant(t, func(t *testing.T, v variant, tpl *rendered) {
		site := tpl.one(t, "Microsoft.Web/sites")
		storage := tpl.one(t, "Microsoft.Storage/storageAccounts")
		account := tpl.one(t, "Microsoft.DocumentDB/databaseAccounts")
		// B2C calls the functions from the internet in both variants.
		if a := path(site.Properties, "publicNetworkAccess"); a != "Enabled" {
			t.Errorf("function app publicNetworkAccess %v: Azure AD B2C must reach it from the internet", a)
		}
		if !v.private() {
			for _, r := range tpl.Resources {
				if strings.HasPrefix(r.Type, "Microsoft.Network/") {
					t.Errorf("the public variant creates %s %s", r.Type, r.Name)
				}
			}
			if s := path(site.Properties, "virtualNetworkSubnetId"); s != nil {
				t.Errorf("the public variant integrates the app into %v", s)
			}
			for what, got := range map[string]any{
				"storage publicNetworkAccess":   path(storage.Properties, "publicNetworkAccess"),
				"Cosmos DB publicNetworkAccess": path(account.Properties, "publicNetworkAccess"),
				"storage networkAcls":           path(storage.Properties, "networkAcls", "defaultAction"),
			} {
				if got != "Enabled" && got != "Allow" {
					t.Errorf("%s = %v in the public variant: the first deployment must work from anywhere", what, got)
				}
			}
			return
		}

		for what, c := range map[string]struct{ got, want any }{
			"storage publicNetworkAccess":       {path(storage.Properties, "publicNetworkAccess"), "Disabled"},
			"storage networkAcls.defaultAction": {path(storage.Properties, "networkAcls", "defaultAction"), "Deny"},
			"storage networkAcls.bypass":        {path(storage.Properties, "networkAcls", "bypass"), "None"},
			"Cosmos DB publicNetworkAccess":     {path(account.Properties, "publicNetworkAccess"), "Disabled"},
			"Cosmos DB networkAclBypass":        {path(account.Properties, "networkAclBypass"), "None"},
		} {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", what, c.got, c.want)
			}
		}

		// The virtual network: an integration subnet delegated to
		// Microsoft.App/environments (Flex Consumption) and one for the
		// private endpoints.
		vnet := tpl.one(t, "Microsoft.Network/virtualNetworks")
		if vnet.Name != "[variables('vnetName')]" {
			t.Errorf("virtual network name %s, want variables('vnetName')", vnet.Name)
		}
		subnets := map[string]any{}
		list, _ := path(vnet.Properties, "subnets").([]any)
		for _, s := range list {
			name, _ := path(s, "name").(string)
			subnets[tpl.resolveString(name)] = path(s, "properties")
		}
		integration := subnets["integration"]
		delegations, _ := path(integration, "delegations").([]any)
		if len(delegations) != 1 || path(delegations[0], "properties", "serviceName") != "Microsoft.App/environments" {
			t.Errorf("the integration subnet must be delegated to Microsoft.App/environments, has %v", delegations)
		}
		if _, ok := subnets["private-endpoints"]; !ok {
			t.Errorf("no private-endpoints subnet among %v", mapSorted(keys(subnets), func(s string) string { return s }))
		}
		if s := path(site.Properties, "virtualNetworkSubnetId"); s != "[variables('integrationSubnetId')]" {
			t.Errorf("the function app's virtualNetworkSubnetId = %v, want the integration subnet", s)
		}
		if tpl.Variables["integrationSubnetId"] != "[resourceId('Microsoft.Network/virtualNetworks/subnets', variables('vnetName'), variables('integrationSubnet'))]" {
			t.Errorf("integrationSubnetId = %v is not the integration subnet of the template's network", tpl.Variables["integrationSubnetId"])
		}

		// Private endpoints: Cosmos DB, and every storage service a role of
		// the app identity reaches (blob, table; queue if one is ever added).
		wantEndpoints := map[string]string{"[variables('cosmosId')]|Sql": "cosmosDnsZone"}
		zoneOf := map[string]string{"blob": "blobDnsZone", "table": "tableDnsZone", "queue": "queueDnsZone"}
		for _, g := range grants(t, tpl) {
			service := map[string]string{blobDataContributor: "blob", tableDataContributor: "table", queueDataContributor: "queue"}[g.role]
			if service != "" {
				wantEndpoints["[variables('storageId')]|"+service] = zoneOf[service]
			}
		}
		endpoints := map[string]resource{}
		for _, pe := range tpl.all("Microsoft.Network/privateEndpoints") {
			conns, _ := path(pe.Properties, "privateLinkServiceConnections").([]any)
			if len(conns) != 1 {
				t.Errorf("private endpoint %s has %d connections, want 1", pe.Name, len(conns))
				continue
			}
			target, _ := path(conns[0], "properties", "privateLinkServiceId").(string)
			groups, _ := path(conns[0], "properties", "groupIds").([]any)
			if len(groups) != 1 {
				t.Errorf("private endpoint %s has groupIds %v, want one", pe.Name, groups)
				continue
			}
			endpoints[fmt.Sprintf("%s|%v", target, groups[0])] = pe
			if s := path(pe.Properties, "subnet", "id"); s != "[variables('privateEndpointSubnetId')]" {
				t.Errorf("private endpoint %s is in %v, want the private-endpoints subnet", pe.Name, s)
			}
		}
		if got, want := mapSorted(keys(endpoints), func(s string) string { return s }), mapSorted(keys(wantEndpoints), func(s string) string { return s }); !slices.Equal(got, want) {
			t.Errorf("private endpoints (target|group) %v, want %v", got, want)
		}

		// Each endpoint registers its address in the private DNS zone of
		// its service, and each zone is linked to the network.
		groups := map[string]resource{}
		for _, g := range tpl.all("Microsoft.Network/privateEndpoints/privateDnsZoneGroups") {
			groups[g.Name] = g
		}
		links := map[string]resource{}
		for _, l := range tpl.all("Microsoft.Network/privateDnsZones/virtualNetworkLinks") {
			links[l.Name] = l
		}
		zones := map[string]resource{}
		for _, z := range tpl.all("Microsoft.Network/privateDnsZones") {
			zones[z.Name] = z
		}
		for key, zoneVar := range wantEndpoints {
			pe, ok := endpoints[key]
			if !ok {
				continue
			}
			peVar := strings.TrimSuffix(strings.TrimPrefix(pe.Name, "[variables('"), "')]")
			// Names are compared as this variant renders them.
			name := func(expr string) string { return fmt.Sprint(tpl.expr(expr)) }
			group, ok := groups[name("[concat(variables('"+peVar+"'), '/default')]")]
			wantZoneID := name("[resourceId('Microsoft.Network/privateDnsZones', variables('" + zoneVar + "'))]")
			configs, _ := path(group.Properties, "privateDnsZoneConfigs").([]any)
			if !ok || len(configs) != 1 || path(configs[0], "properties", "privateDnsZoneId") != wantZoneID {
				t.Errorf("private endpoint %s (%s) must register in %s, its DNS zone group is %v", pe.Name, key, zoneVar, group.Properties)
			}
			zone, ok := zones[name("[variables('"+zoneVar+"')]")]
			if !ok || zone.Location != "global" {
				t.Errorf("no private DNS zone %s (location global) for %s", zoneVar, key)
			}
			link, ok := links[name("[concat(variables('"+zoneVar+"'), '/', variables('vnetName'))]")]
			if !ok || path(link.Properties, "virtualNetwork", "id") != "[variables('vnetId')]" || path(link.Properties, "registrationEnabled") != false {
				t.Errorf("the DNS zone %s is not linked to the virtual network (registration off): %v", zoneVar, link.Properties)
			}
			// The host must not start before names resolve to the endpoints.
			for _, dep := range []string{
				"[resourceId('Microsoft.Network/privateEndpoints/privateDnsZoneGroups', variables('" + peVar + "'), 'default')]",
				"[resourceId('Microsoft.Network/privateDnsZones/virtualNetworkLinks', variables('" + zoneVar + "'), variables('vnetName'))]",
			} {
				if !slices.Contains(site.DependsOn, name(dep)) {
					t.Errorf("the function app does not depend on %s", dep)
				}
			}
		}
		for zoneVar, want := range map[string]string{
			"cosmosDnsZone": "privatelink.documents.azure.com",
			"blobDnsZone":   "[concat('privatelink.blob.', environment().suffixes.storage)]",
			"tableDnsZone":  "[concat('privatelink.table.', environment().suffixes.storage)]",
		} {
			if tpl.Variables[zoneVar] != want {
				t.Errorf("%s = %v, want %s", zoneVar, tpl.Variables[zoneVar], want)
			}
		}
	})
}

// TestDiagnosticsToLogAnalytics: a workspace (new, or the one given),
// workspace-based Application Insights, and diagnostic settings that send
// the function app's logs, Cosmos DB's data-plane logs and blob writes to it.
func TestDiagnosticsToLogAnalytics(t *testing.T) {
	t.Parallel()
	forEachVariant(t, func(t *testing.T, v variant, tpl *rendered) {
		workspaces := tpl.all("Microsoft.OperationalInsights/workspaces")
		workspace := tpl.expr("[variables('workspaceId')]")
		if existing, _ := v.params["logAnalyticsWorkspaceId"].(string); existing != "" {
			if len(workspaces) != 0 {
				t.Errorf("with logAnalyticsWorkspaceId the template still creates a workspace")
			}
			if workspace != existing {
				t.Errorf("workspaceId = %v, want the given workspace %s", workspace, existing)
			}
		} else {
			if len(workspaces) != 1 || workspaces[0].Name != "[variables('workspaceName')]" {
				t.Fatalf("without logAnalyticsWorkspaceId the template must create one workspace, has %d", len(workspaces))
			}
			if path(workspaces[0].Properties, "features", "disableLocalAuth") != true {
				t.Error("the workspace must refuse shared-key ingestion (features.disableLocalAuth)")
			}
			if got := tpl.variable("workspaceId"); got != "[variables('newWorkspaceId')]" {
				t.Errorf("workspaceId is %v without logAnalyticsWorkspaceId, want the new workspace", got)
			}
			if tpl.Variables["newWorkspaceId"] != "[resourceId('Microsoft.OperationalInsights/workspaces', variables('workspaceName'))]" {
				t.Errorf("newWorkspaceId = %v is not the workspace the template creates", tpl.Variables["newWorkspaceId"])
			}
		}
		insights := tpl.one(t, "Microsoft.Insights/components")
		if got := path(insights.Properties, "WorkspaceResourceId"); got != workspace {
			t.Errorf("Application Insights WorkspaceResourceId = %v, want %v", got, workspace)
		}
		if path(insights.Properties, "DisableLocalAuth") != true {
			t.Error("Application Insights must take only Entra-authenticated telemetry (DisableLocalAuth)")
		}

		settings := map[string]resource{}
		for _, d := range tpl.all("Microsoft.Insights/diagnosticSettings") {
			if _, dup := settings[d.Scope]; dup {
				t.Errorf("two diagnostic settings on %s", d.Scope)
			}
			settings[d.Scope] = d
			if got := path(d.Properties, "workspaceId"); got != workspace {
				t.Errorf("diagnostic setting on %s sends to %v, want %v", d.Scope, got, workspace)
			}
			if !slices.Contains(d.DependsOn, "[variables('newWorkspaceId')]") {
				t.Errorf("diagnostic setting on %s does not wait for a new workspace", d.Scope)
			}
		}
		for _, want := range []struct {
			what, scope string
			logs        []string
			dedicated   bool
		}{
			{"the function app (host and handler log lines)", "[format('Microsoft.Web/sites/{0}', variables('functionAppName'))]", []string{"FunctionAppLogs"}, false},
			{"Cosmos DB (data-plane requests)", "[format('Microsoft.DocumentDB/databaseAccounts/{0}', variables('cosmosName'))]", []string{"DataPlaneRequests", "ControlPlaneRequests"}, true},
			{"blob storage (writes to the package and the host's secrets)", "[format('Microsoft.Storage/storageAccounts/{0}/blobServices/default', variables('storageName'))]", []string{"StorageWrite", "StorageDelete"}, false},
		} {
			d, ok := settings[want.scope]
			if !ok {
				t.Errorf("no diagnostic setting for %s (scope %s)", want.what, want.scope)
				continue
			}
			enabled := map[string]bool{}
			logs, _ := path(d.Properties, "logs").([]any)
			for _, l := range logs {
				c, _ := path(l, "category").(string)
				enabled[c] = path(l, "enabled") == true
			}
			for _, c := range want.logs {
				if !enabled[c] {
					t.Errorf("diagnostic setting for %s does not enable %s", want.what, c)
				}
			}
			if want.dedicated && path(d.Properties, "logAnalyticsDestinationType") != "Dedicated" {
				t.Errorf("diagnostic setting for %s: logAnalyticsDestinationType must be Dedicated (resource-specific tables)", want.what)
			}
		}
	})
}

// TestCosmosContinuousBackup: point-in-time restore of the last 7 days, so
// a mistaken delete of the users container is not the end of every passkey.
func TestCosmosContinuousBackup(t *testing.T) {
	t.Parallel()
	forEachVariant(t, func(t *testing.T, v variant, tpl *rendered) {
		account := tpl.one(t, "Microsoft.DocumentDB/databaseAccounts")
		policy := path(account.Properties, "backupPolicy")
		if path(policy, "type") != "Continuous" || path(policy, "continuousModeProperties", "tier") != "Continuous7Days" {
			t.Errorf("Cosmos DB backupPolicy = %v, want Continuous with tier Continuous7Days", policy)
		}
	})
}

// TestBasicPublishingCredentialsDisabled: no FTP or SCM publishing with a
// user name and password.
func TestBasicPublishingCredentialsDisabled(t *testing.T) {
	t.Parallel()
	forEachVariant(t, func(t *testing.T, v variant, tpl *rendered) {
		site := tpl.one(t, "Microsoft.Web/sites")
		policies := map[string]any{}
		for _, r := range site.Resources {
			if r.Type == "basicPublishingCredentialsPolicies" {
				policies[r.Name] = path(r.Properties, "allow")
				if !slices.Contains(r.DependsOn, "[variables('siteId')]") {
					t.Errorf("basicPublishingCredentialsPolicies/%s must depend on the site", r.Name)
				}
			}
		}
		for _, r := range tpl.all("Microsoft.Web/sites/basicPublishingCredentialsPolicies") {
			policies[r.Name] = path(r.Properties, "allow")
		}
		for _, name := range []string{"ftp", "scm"} {
			if allow, ok := policies[name]; !ok || allow != false {
				t.Errorf("basicPublishingCredentialsPolicies/%s allow = %v, want false", name, allow)
			}
		}
		if tpl.Variables["siteId"] != "[resourceId('Microsoft.Web/sites', variables('functionAppName'))]" {
			t.Errorf("siteId = %v is not the function app", tpl.Variables["siteId"])
		}
	})
}

// TestTLSMinimum: nothing accepts less than TLS 1.2, and plain HTTP is refused.
func TestTLSMinimum(t *testing.T) {
	t.Parallel()
	atLeast12 := func(got any, allowed ...string) bool { return slices.Contains(allowed, fmt.Sprint(got)) }
	forEachVariant(t, func(t *testing.T, v variant, tpl *rendered) {
		site := tpl.one(t, "Microsoft.Web/sites")
		storage := tpl.one(t, "Microsoft.Storage/storageAccounts")
		account := tpl.one(t, "Microsoft.DocumentDB/databaseAccounts")
		for what, ok := range map[string]bool{
			"site minTlsVersion":               atLeast12(path(site.Properties, "siteConfig", "minTlsVersion"), "1.2", "1.3"),
			"site scmMinTlsVersion":            atLeast12(path(site.Properties, "siteConfig", "scmMinTlsVersion"), "1.2", "1.3"),
			"site httpsOnly":                   path(site.Properties, "httpsOnly") == true,
			"storage minimumTlsVersion":        atLeast12(path(storage.Properties, "minimumTlsVersion"), "TLS1_2", "TLS1_3"),
			"storage supportsHttpsTrafficOnly": path(storage.Properties, "supportsHttpsTrafficOnly") == true,
			"Cosmos DB minimalTlsVersion":      atLeast12(path(account.Properties, "minimalTlsVersion"), "Tls12"),
		} {
			if !ok {
				t.Errorf("%s allows less than TLS 1.2 (or plain HTTP)", what)
			}
		}
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mapSorted[T any](items []T, f func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	sort.Strings(out)
	return out
}

// TestWhatIfResourceCounts pins how many resources (child resources
// included) each variant creates: the numbers docs/deploy.md tells a
// reader to expect from what-if.
func TestWhatIfResourceCounts(t *testing.T) {
	t.Parallel()
	want := map[string]int{defaultVariant.name: 26, privateVariant.name: 39, workspaceVariant.name: 25}
	forEachVariant(t, func(t *testing.T, v variant, tpl *rendered) {
		n := 0
		for _, r := range tpl.Resources {
			n += 1 + len(r.Resources)
		}
		if n != want[v.name] {
			t.Errorf("%s creates %d resources; docs/deploy.md (what-if) says %d", v.name, n, want[v.name])
		}
	})
}
