// Package models embeds the shipped models and their catalog, for hosts
// that carry them inside the binary (the Cloudflare Worker, wasm/edge).
// The files are the ones in this directory: catalog.json and every
// *.safetensors model it names.
package models

import "embed"

// FS holds catalog.json and the *.safetensors model files.
//
//go:embed *.safetensors catalog.json
var FS embed.FS
