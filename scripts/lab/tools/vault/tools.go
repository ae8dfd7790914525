//go:build tools

// Package tools pins the Vault main package so `go build github.com/hashicorp/vault`
// resolves inside this module.
package tools

import _ "github.com/hashicorp/vault"
