package npy_test

import (
	"bytes"
	"fmt"

	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/tensor"
)

func Example() {
	x, _ := tensor.FromData([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	var buf bytes.Buffer
	if err := npy.Write(&buf, x); err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes, header %q\n", buf.Len(), buf.Bytes()[10:59])

	y, err := npy.Read(&buf)
	if err != nil {
		panic(err)
	}
	fmt.Println(y.Shape, y.Data)
	// Output:
	// 152 bytes, header "{'descr': '<f4', 'fortran_order': False, 'shape':"
	// [2 3] [1 2 3 4 5 6]
}

func ExampleRead_errors() {
	header := "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n"
	file := append([]byte(npy.Magic+"\x01\x00"), byte(len(header)), 0)
	file = append(file, header...)
	_, err := npy.Read(bytes.NewReader(file))
	fmt.Println(err)
	// Output:
	// npy: fortran_order arrays are not supported (save with numpy.ascontiguousarray): npy: invalid or unsupported file
}
