package api

// PagesFunction is the function folder (functions/pages) that serves the
// page templates.
const PagesFunction = "pages"

// PagesPrefix is where the B2C page templates and their scripts are served
// (functions/pages, route pages/{*file}, anonymous) by Options.Pages: B2C's
// ContentDefinition LoadUri points here and the browser fetches it from the
// B2C origin.
const PagesPrefix = "/api/pages/"
