// Node tooling (ESLint), not Go: this module file keeps ./... of the
// repository out of node_modules.
module eslint
