//go:build tools

// Package tools pins the Terraform main package so `go build github.com/hashicorp/terraform`
// resolves inside this module.
package tools

import _ "github.com/hashicorp/terraform"
