#!/usr/bin/python3
"""Make the ONNX architecture fixtures for core/onnx's tests.

Usage: /usr/bin/python3 make_models.py OUTDIR

For each architecture: a random-initialised torchvision network (fixed seed,
randomised BatchNorm running statistics, eval mode) exported with
torch.onnx.export, plus OUTDIR/<name>.json holding the input, torch's logits
and, for two intermediate layers, the layer's output and the gradient of the
top class's logit with respect to it (torch autograd), each keyed by the ONNX
tensor that holds that layer's output.

The ONNX tensor of a module is found from torch's scope-based node names
("/layer4/layer4.1/relu_1/Relu"): the last node inside the module's scope
produces its output; the shapes are checked against ONNX shape inference.
Needs Debian's python3-torch (1.13) and python3-torchvision (0.14).
"""
import json
import os
import sys

import onnx
import torch
import torchvision

torch.set_num_threads(1)


class ShapeChainNet(torch.nn.Module):
    """Conv net whose classifier flattens with x.view(x.size(0), -1): with a
    dynamic batch axis the exporter writes Shape/Gather/Unsqueeze/Concat."""

    def __init__(self, classes=7):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.act1 = torch.nn.LeakyReLU(0.1)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=2, dilation=2, groups=2)
        self.act2 = torch.nn.Hardswish()
        self.pool = torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.fc = torch.nn.Linear(16 * 9 * 9, classes)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.pool(self.act2(self.conv2(x)))
        x = x.view(x.size(0), -1)
        return torch.softmax(self.fc(x), dim=1) * 10


def build(name):
    tv = torchvision.models
    if name == "resnet18":
        return tv.resnet18(num_classes=10)
    if name == "mobilenet_v2":
        return tv.mobilenet_v2(num_classes=10, width_mult=0.5)
    if name == "squeezenet1_1":
        return tv.squeezenet1_1(num_classes=10)
    if name == "densenet_small":
        return tv.DenseNet(growth_rate=12, block_config=(2, 2, 2), num_init_features=24, bn_size=2, num_classes=10)
    if name == "efficientnet_b0":
        return tv.efficientnet_b0(num_classes=10)
    if name == "shufflenet_v2":
        return tv.shufflenet_v2_x0_5(num_classes=10)
    if name == "shapechain":
        return ShapeChainNet()
    raise ValueError(name)


# name, input size, opset, keep BatchNormalization nodes (else torch folds
# them), dynamic batch axis, the two target modules.
MODELS = [
    ("resnet18", 64, 13, True, False, ["layer3", "layer4"]),
    ("mobilenet_v2", 96, 10, False, False, ["features.14", "features.18"]),
    ("squeezenet1_1", 96, 17, False, False, ["features.7", "features.12"]),
    ("densenet_small", 64, 13, True, False, ["features.denseblock2", "features.transition2"]),
    ("efficientnet_b0", 64, 13, False, False, ["features.5", "features.8"]),
    ("shapechain", 32, 13, True, True, ["act1", "act2"]),
    ("shufflenet_v2", 64, 11, False, False, ["stage3", "conv5"]),
]


def randomise_bn(model, g):
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.2)


def scope_prefix(path):
    # torch 1.13 names a child scope by its attribute name, and an indexed
    # child (Sequential, ModuleList) by its parent's name + "." + index.
    comps = []
    for part in path.split("."):
        comps.append(comps[-1] + "." + part if part.isdigit() and comps else part)
    return "/" + "/".join(comps) + "/"


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main(out):
    os.makedirs(out, exist_ok=True)
    for k, (name, size, opset, keep_bn, dynamic, layers) in enumerate(MODELS):
        torch.manual_seed(1000 + k)
        g = torch.Generator().manual_seed(2000 + k)
        model = build(name)
        randomise_bn(model, g)
        model.eval()
        x = torch.randn(1, 3, size, size, generator=g)
        path = os.path.join(out, name + ".onnx")
        kw = {}
        if keep_bn:
            kw["training"] = torch.onnx.TrainingMode.PRESERVE
            kw["do_constant_folding"] = False
        if dynamic:
            kw["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"], **kw)
        mp = onnx.shape_inference.infer_shapes(onnx.load(path))
        shapes = {}
        for vi in list(mp.graph.value_info) + list(mp.graph.output):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim]

        mods = dict(model.named_modules())
        acts = {}

        def hook(key):
            def f(module, inputs, output):
                output.retain_grad()
                acts[key] = output
            return f

        handles = [mods[p].register_forward_hook(hook(p)) for p in layers]
        x.requires_grad_(False)
        logits = model(x)
        for h in handles:
            h.remove()
        cls = int(logits[0].argmax())
        logits[0, cls].backward()

        entries = []
        for p in layers:
            prefix = scope_prefix(p)
            nodes = [n for n in mp.graph.node if n.name.startswith(prefix)]
            if not nodes:
                raise SystemExit("%s: no ONNX node in scope %s" % (name, prefix))
            tensor = nodes[-1].output[0]
            a = acts[p]
            want = list(a.shape)
            got = shapes.get(tensor)
            if got is not None and got[1:] != want[1:]:
                raise SystemExit("%s: %s → %s has shape %s, torch %s" % (name, p, tensor, got, want))
            entries.append({"module": p, "tensor": tensor, "shape": want, "act": flat(a), "grad": flat(a.grad)})
        ops = sorted({n.op_type for n in mp.graph.node})
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"name": name, "opset": opset, "ops": ops, "input_shape": list(x.shape), "input": flat(x),
                       "logits": flat(logits[0]), "class": cls, "layers": entries}, f)
        print("%s: opset %d, %d px, ops %s" % (name, opset, size, " ".join(ops)))


# ---- micro models: one op family each, written with onnx.helper at the
# opsets where ONNX changed the op, checked against onnxruntime only.

def micro_models(rng):
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    def init(name, a):
        return numpy_helper.from_array(np.asarray(a), name)

    def rand(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def model(name, opset, nodes, inits, in_shape, out_name="y"):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)], initializer=inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="camlens-micro")
        m.ir_version = 7 if opset < 15 else 8
        return name, m, in_shape

    N = helper.make_node
    out = []
    # Softmax before opset 13: softmax of the input flattened to 2-D at axis.
    out.append(model("softmax_opset11", 11, [N("Softmax", ["x"], ["y"], axis=1)], [], [1, 3, 4, 5]))
    # Clip, Pad, Squeeze/Unsqueeze and ReduceMean with their attributes (old opsets).
    out.append(model("attrs_opset9", 9, [
        N("Clip", ["x"], ["c"], min=-0.5, max=0.7),
        N("Pad", ["c"], ["p"], pads=[0, 0, 1, 2, 0, 0, 2, 1], value=0.3),
        N("ReduceMean", ["p"], ["m"], axes=[1], keepdims=1),
        N("Squeeze", ["m"], ["s"], axes=[1]),
        N("Unsqueeze", ["s"], ["u"], axes=[1]),
        N("Dropout", ["u"], ["d"], ratio=0.3),
        N("Flatten", ["d"], ["y"], axis=1)], [], [1, 3, 5, 6]))
    # The same ops with inputs instead of attributes (opset 13/18).
    out.append(model("inputs_opset18", 18, [
        N("Clip", ["x", "lo", "hi"], ["c"]),
        N("Pad", ["c", "pads", "pv"], ["p"]),
        N("ReduceMean", ["p", "rax"], ["m"], keepdims=0),
        N("Unsqueeze", ["m", "uax"], ["u"]),
        N("ReduceMean", ["u", "rax2"], ["m2"], keepdims=1),
        N("Squeeze", ["m2", "sax"], ["y"])],
        [init("lo", np.float32(-0.4)), init("hi", np.float32(0.9)), init("pads", np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64)),
         init("pv", np.float32(-0.2)), init("rax", np.array([2], np.int64)), init("uax", np.array([2], np.int64)),
         init("rax2", np.array([2, 3], np.int64)), init("sax", np.array([3], np.int64))], [1, 3, 5, 6]))
    # auto_pad, ceil_mode, count_include_pad, dilation, groups, Gemm transB, PRelu, HardSigmoid.
    out.append(model("windows_opset11", 11, [
        N("Conv", ["x", "w1", "b1"], ["c1"], auto_pad="SAME_LOWER", strides=[2, 2], kernel_shape=[4, 4]),
        N("PRelu", ["c1", "slope"], ["r1"]),
        N("MaxPool", ["r1"], ["p1"], auto_pad="SAME_UPPER", kernel_shape=[3, 3], strides=[2, 2]),
        N("Conv", ["p1", "w2"], ["c2"], pads=[1, 2, 2, 1], dilations=[2, 1], group=2),
        N("HardSigmoid", ["c2"], ["h"], alpha=0.3, beta=0.4),
        N("AveragePool", ["h"], ["p2"], kernel_shape=[2, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1),
        N("AveragePool", ["p2"], ["p3"], kernel_shape=[2, 2], auto_pad="VALID"),
        N("Flatten", ["p3"], ["f"]),
        N("Gemm", ["f", "wf", "bf"], ["y"], transB=1, alpha=0.5, beta=2.0)],
        [init("w1", rand(6, 3, 4, 4, scale=0.3)), init("b1", rand(6)), init("slope", rand(6, 1, 1, scale=0.3)),
         init("w2", rand(8, 3, 3, 2, scale=0.3)), init("wf", rand(5, 8 * 2 * 4)), init("bf", rand(5))], [1, 3, 23, 21]))
    # Channel shuffle (Reshape → Transpose → Reshape), Slice, Gather, MatMul + Add on a 3-D tensor, Concat.
    out.append(model("shuffle_opset13", 13, [
        N("Reshape", ["x", "s5"], ["r5"]),
        N("Transpose", ["r5"], ["t5"], perm=[0, 2, 1, 3, 4]),
        N("Reshape", ["t5", "s4"], ["sh"]),
        N("Slice", ["sh", "st", "en", "ax"], ["sl"]),
        N("Gather", ["sh", "gi"], ["ga"], axis=1),
        N("Concat", ["sl", "ga"], ["cc"], axis=1),
        N("Reshape", ["cc", "s3"], ["r3"]),
        N("MatMul", ["r3", "mw"], ["mm"]),
        N("Add", ["mm", "mb"], ["ma"]),
        N("Sigmoid", ["ma"], ["sg"]),
        N("ReduceMean", ["sg", ], ["y"], axes=[1], keepdims=0)],
        [init("s5", np.array([1, 2, 4, 3, 4], np.int64)), init("s4", np.array([0, 8, 3, 4], np.int64)),
         init("st", np.array([1, 0], np.int64)), init("en", np.array([6, 100], np.int64)), init("ax", np.array([1, 3], np.int64)),
         init("gi", np.array([7, 0, 1, 4], np.int64)), init("s3", np.array([1, 9, 12], np.int64)),
         init("mw", rand(12, 5)), init("mb", rand(5))], [1, 8, 3, 4]))
    # QDQ: int8 per-channel weights and an int32 bias through DequantizeLinear.
    w = rand(4, 3, 3, 3, scale=0.4)
    ws = (np.abs(w).reshape(4, -1).max(1) / 127).astype(np.float32)
    wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127).astype(np.int8)
    b = rand(4)
    bs = np.float32(0.01)
    bq = np.round(b / bs).astype(np.int32)
    out.append(model("qdq_weights_opset13", 13, [
        N("DequantizeLinear", ["wq", "ws", "wz"], ["w"], axis=0),
        N("DequantizeLinear", ["bq", "bs"], ["b"]),
        N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        N("Relu", ["c"], ["r"]),
        N("GlobalAveragePool", ["r"], ["g"]),
        N("Flatten", ["g"], ["y"])],
        [init("wq", wq), init("ws", ws), init("wz", np.zeros(4, np.int8)), init("bq", bq), init("bs", bs)], [1, 3, 8, 8]))
    return out


def main_micro(out):
    import numpy as np
    rng = np.random.default_rng(7)
    for name, m, in_shape in micro_models(rng):
        onnx.save(m, os.path.join(out, name + ".onnx"))
        x = rng.standard_normal(in_shape).astype(np.float32)
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"name": name, "opset": m.opset_import[0].version, "ops": sorted({n.op_type for n in m.graph.node}),
                       "input_shape": in_shape, "input": [float(v) for v in x.reshape(-1)], "logits": [], "class": 0,
                       "layers": []}, f)
        print("%s: opset %d" % (name, m.opset_import[0].version))


if __name__ == "__main__":
    main(sys.argv[1])
    main_micro(sys.argv[1])
