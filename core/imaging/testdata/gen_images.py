#!/usr/bin/python3
"""Regenerates the test images and preprocess_ref.json for core/imaging.

Images (deterministic patterns, written with PIL): pattern.{png,gif,bmp},
pattern.lossless.webp, pattern_rgba.png, tall.png, gray.png, and a smooth
image as smooth.{png,jpg}, smooth422.jpg, odd.jpg (31×23), smooth.lossy.webp
and smooth_alpha.webp, plus pattern.jpg. pil_decoded.json holds PIL's decoding of the lossy files and the
GIF. pattern_pixels.json holds pattern.png's and tall.png's RGB pixels
for gen_faceapi_ref.mjs.

preprocess_ref.json: ToTensor references computed independently with
PyTorch (F.interpolate, bilinear, align_corners=False, no antialias) and
OpenCV (cv2.resize INTER_AREA) on float32 pixels.

Run from this directory with Debian's python3 (python3-pil, python3-torch,
python3-opencv): /usr/bin/python3 gen_images.py
"""
import json
import numpy as np
from PIL import Image
import torch
import torch.nn.functional as F
import cv2


def pattern(w, h):
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 11 + y * 3) % 256
    g = (x * x + 7 * y + 40) % 256
    b = 255 - (x * y * 5) % 256
    return np.stack([r, g, b], -1).astype(np.uint8)


pat = pattern(23, 16)
tall = pattern(15, 21)
Image.fromarray(pat).save("pattern.png")
Image.fromarray(tall).save("tall.png")
# Lossy formats subsample chroma; decoders upsample it differently, so they
# get a smooth image where that barely matters.
yy, xx = np.mgrid[0:24, 0:32].astype(np.float64)
smooth = np.stack([255 * xx / 31, 255 * yy / 23, 128 + 100 * np.sin(xx / 5) * np.cos(yy / 4)], -1).round().astype(np.uint8)
Image.fromarray(smooth).save("smooth.png")
Image.fromarray(smooth).save("smooth.jpg", quality=95)
Image.fromarray(smooth).save("smooth.lossy.webp", quality=90)
Image.fromarray(smooth).save("smooth422.jpg", quality=95, subsampling=1)
Image.fromarray(smooth[:23, :31]).save("odd.jpg", quality=95)  # odd size, 4:2:0
Image.fromarray(pat).save("pattern.jpg", quality=95)  # sharp chroma edges
alpha = (255 * (yy + xx) / (23 + 31)).round().astype(np.uint8)[..., None]
Image.fromarray(np.concatenate([smooth, alpha], -1), "RGBA").save("smooth_alpha.webp", quality=90)
Image.fromarray(pat).save("pattern.bmp")
Image.fromarray(pat).save("pattern.lossless.webp", lossless=True)
Image.fromarray(pat).quantize(colors=64, dither=Image.Dither.NONE).save("pattern.gif")
rgba = np.concatenate([pat, ((np.arange(23 * 16) * 7) % 256).reshape(16, 23, 1).astype(np.uint8)], -1)
Image.fromarray(rgba, "RGBA").save("pattern_rgba.png")
Image.fromarray(pat[:, :, 1]).save("gray.png")
json.dump({"pattern": {"w": 23, "h": 16, "rgb": pat.flatten().tolist()},
           "tall": {"w": 15, "h": 21, "rgb": tall.flatten().tolist()}},
          open("pattern_pixels.json", "w"))
# How PIL (libjpeg, libwebp, its GIF reader) decodes the lossy files.
json.dump({f: np.asarray(Image.open(f).convert("RGB")).flatten().tolist()
           for f in ["smooth.jpg", "smooth.lossy.webp", "smooth422.jpg", "odd.jpg", "pattern.jpg",
                   "smooth_alpha.webp", "pattern.gif"]},
          open("pil_decoded.json", "w"), separators=(",", ":"))

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def chw(img):
    return torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1).unsqueeze(0)


def bilinear(x, w, h):
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


def normalise(x, scale, mean, std):
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x * scale - m) / s


cases = []


def case(name, image, crop, p, out):
    cases.append({"name": name, "image": image, "crop": crop, "preprocess": p,
                  "shape": list(out.shape), "data": [float(v) for v in out.flatten()]})


def pp(w, h, ch, fit, resize, scale, mean, std):
    return {"width": w, "height": h, "channels": ch, "fit": fit, "resize": resize,
            "scale": scale, "mean": mean, "std": std}


img = {"pattern.png": pat, "tall.png": tall}
for w, h in [(8, 6), (41, 37), (23, 16)]:
    out = normalise(bilinear(chw(pat), w, h), 1 / 255, IMAGENET_MEAN, IMAGENET_STD)
    case(f"stretch bilinear {w}x{h}", "pattern.png", None,
         pp(w, h, "RGB", "stretch", "bilinear", 1 / 255, IMAGENET_MEAN, IMAGENET_STD), out)
# BGR: channels reversed, mean/std given in BGR order.
out = normalise(bilinear(chw(pat), 9, 7)[:, [2, 1, 0]], 1.0, [104.0, 117.0, 123.0], [1.0, 1.0, 1.0])
case("stretch bilinear BGR", "pattern.png", None, pp(9, 7, "BGR", "stretch", "bilinear", 1.0, [104.0, 117.0, 123.0], [1.0, 1.0, 1.0]), out)
# L: float luma before resizing.
p32 = pat.astype(np.float32)
luma = (299 * p32[..., 0] + 587 * p32[..., 1] + 114 * p32[..., 2]) / 1000
out = normalise(bilinear(torch.from_numpy(luma)[None, None], 12, 10), 1 / 255, [0.1307], [0.3081])
case("stretch bilinear L", "pattern.png", None, pp(12, 10, "L", "stretch", "bilinear", 1 / 255, [0.1307], [0.3081]), out)
# Crop (x0, y0, x1, y1) = (3, 2, 20, 14), then stretch.
out = normalise(bilinear(chw(pat[2:14, 3:20]), 10, 10), 1.0, [0, 0, 0], [255.0, 255.0, 255.0])
case("crop stretch", "pattern.png", [3, 2, 20, 14], pp(10, 10, "RGB", "stretch", "bilinear", 1.0, [0, 0, 0], [255.0, 255.0, 255.0]), out)
# A crop partly outside the image is clipped to it.
out = normalise(bilinear(chw(pat[10:16, 18:23]), 4, 4), 1.0, [0, 0, 0], [1.0, 1.0, 1.0])
case("crop clipped", "pattern.png", [18, 10, 40, 30], pp(4, 4, "RGB", "stretch", "bilinear", 1.0, [0, 0, 0], [1.0, 1.0, 1.0]), out)
# pad-square with zeros (extra pixel after the image), bilinear.
for name, im in img.items():
    hh, ww = im.shape[:2]
    d = abs(hh - ww)
    after = int(np.floor(d * 0.5 + 0.5))  # JS Math.round
    before = d - after
    x = chw(im)
    x = F.pad(x, (before, after, 0, 0)) if hh > ww else F.pad(x, (0, 0, before, after))
    out = normalise(bilinear(x, 11, 11), 1.0, [0, 0, 0], [1.0, 1.0, 1.0])
    case(f"pad-square bilinear {name}", name, None, pp(11, 11, "RGB", "pad-square", "bilinear", 1.0, [0, 0, 0], [1.0, 1.0, 1.0]), out)
# center-crop: largest centred region of the target aspect (4:3 from 23×16:
# width round(16·4/3) = 21, left (23−21)//2 = 1; tall 15×21 at 1:1: 15×15, top 3).
out = normalise(bilinear(chw(pat[:, 1:22]), 8, 6), 1.0, [0, 0, 0], [1.0, 1.0, 1.0])
case("center-crop wide", "pattern.png", None, pp(8, 6, "RGB", "center-crop", "bilinear", 1.0, [0, 0, 0], [1.0, 1.0, 1.0]), out)
out = normalise(bilinear(chw(tall[3:18, :]), 7, 7), 1.0, [0, 0, 0], [1.0, 1.0, 1.0])
case("center-crop tall", "tall.png", None, pp(7, 7, "RGB", "center-crop", "bilinear", 1.0, [0, 0, 0], [1.0, 1.0, 1.0]), out)
# area (shrinking): cv2.resize INTER_AREA on float32.
for w, h in [(7, 5), (10, 8)]:
    a = cv2.resize(pat.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    out = normalise(torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0), 1 / 255, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    case(f"stretch area {w}x{h}", "pattern.png", None, pp(w, h, "RGB", "stretch", "area", 1 / 255, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]), out)
json.dump({"cases": cases}, open("preprocess_ref.json", "w"), separators=(",", ":"))
