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


if __name__ == "__main__":
    main(sys.argv[1])
