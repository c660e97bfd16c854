package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExplainerRecovery runs testdata/explainer_test.mjs under Node: the
// Explainer's recovery from a dead engine (web/camlens.js) against a fake
// engine, including what the browser tests cannot provoke reliably (deaths
// during the reload, giving up after maxRestarts), and the page's file
// size check.
func TestExplainerRecovery(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed")
	}
	root := env.root
	if root == "" {
		root = filepath.Join("..", "..")
	}
	out, err := exec.Command(node, "testdata/explainer_test.mjs", filepath.Join(root, "web", "camlens.js")).CombinedOutput()
	t.Logf("%s", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("node: %v", err)
	}
}
