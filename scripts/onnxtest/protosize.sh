#!/usr/bin/env bash
# protosize.sh — measures what protobuf decoding adds to a js/wasm binary:
# tiny mains that (1) only print, (2) decode with protowire (what core/onnx
# uses), (3) decode a generated message with proto.Unmarshal (the smallest
# generated type in google.golang.org/protobuf, wrapperspb.BytesValue; ONNX
# generated code would add its own descriptors on top), (4) import core/onnx.
# Prints raw and gzip -9 sizes. Not part of the test suite.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cat > go.mod <<EOM
module protosize

go 1.26.0

require (
	github.com/camlens/camlens v0.0.0
	google.golang.org/protobuf v1.36.12
)

replace github.com/camlens/camlens => $repo
EOM
cp "$repo/go.sum" .
mkdir base wire gen onnx
cat > base/main.go <<'EOM'
package main

import (
	"fmt"
	"os"
)

func main() { fmt.Println(len(os.Args[0])) }
EOM
cat > wire/main.go <<'EOM'
package main

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

func main() {
	b := []byte(os.Args[0])
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		if m := protowire.ConsumeFieldValue(num, typ, b); m >= 0 {
			b = b[m:]
		} else {
			break
		}
	}
	fmt.Println(len(b))
}
EOM
cat > gen/main.go <<'EOM'
package main

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func main() {
	var m wrapperspb.BytesValue
	if err := proto.Unmarshal([]byte(os.Args[0]), &m); err != nil {
		os.Exit(1)
	}
	fmt.Println(len(m.GetValue()))
}
EOM
cat > onnx/main.go <<'EOM'
package main

import (
	"fmt"
	"os"

	"github.com/camlens/camlens/core/onnx"
)

func main() {
	_, err := onnx.Import([]byte(os.Args[0]))
	fmt.Println(err)
}
EOM
printf '%-8s %12s %12s\n' main raw gzip-9
for d in base wire gen onnx; do
  GOFLAGS=-mod=mod GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o $d.wasm ./$d
  printf '%-8s %12d %12d\n' $d "$(stat -c %s $d.wasm)" "$(gzip -9 -c $d.wasm | wc -c)"
done
