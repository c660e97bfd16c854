//go:build js && wasm

// Command camlens is the one WebAssembly binary of the CamLens page
// (camlens.wasm): the engine (wasm/engine, the core in a Web Worker) and
// the view (wasm/view, the ebiten renderer in an iframe) in one program,
// so that the browser downloads and compiles the Go runtime, the standard
// library and what both use once. The page compiles it once
// (web/load.js) and starts it twice: web/worker.js with the role
// "engine", web/view-boot.js with the role "view" (the first argument).
package main

import (
	"fmt"
	"os"

	"github.com/camlens/camlens/wasm/engine"
	"github.com/camlens/camlens/wasm/view"
)

func main() {
	role := ""
	if len(os.Args) > 1 {
		role = os.Args[1]
	}
	switch role {
	case "engine":
		engine.Run()
	case "view":
		view.Run()
	default:
		fmt.Fprintf(os.Stderr, "camlens.wasm: unknown role %q (want \"engine\" or \"view\")\n", role)
		os.Exit(2)
	}
}
