// CropEditor shows the photo (as the engine decoded it) with a crop box on
// top: drag the box to move it, drag its corner to resize it, or focus it
// and use the arrow keys (Shift: ten times further) and + / − to resize.
// The crop is in image pixels [x, y, w, h], kept inside the image; with
// square set (models whose input is a square face crop) w equals h.

export class CropEditor {
  constructor({ container, canvas, box, handle, readout }) {
    Object.assign(this, { container, canvas, box, handle, readout });
    this.imgW = 0;
    this.imgH = 0;
    this.crop = null;
    this.square = false;
    this.onChange = null; // called with the crop after each finished edit
    this.drag = null;
    this.keyTimer = 0;
    box.addEventListener("pointerdown", (ev) => this.pointerDown(ev));
    box.addEventListener("pointermove", (ev) => this.pointerMove(ev));
    box.addEventListener("pointerup", (ev) => this.pointerUp(ev));
    box.addEventListener("pointercancel", (ev) => this.pointerUp(ev));
    box.addEventListener("keydown", (ev) => this.keyDown(ev));
  }

  // setImage draws a preview ({w, h, data: RGBA}) of an imgW×imgH photo.
  setImage(preview, imgW, imgH) {
    this.imgW = imgW;
    this.imgH = imgH;
    this.canvas.width = preview.w;
    this.canvas.height = preview.h;
    const ctx = this.canvas.getContext("2d");
    const data = new ImageData(new Uint8ClampedArray(preview.data.buffer, preview.data.byteOffset, preview.data.byteLength), preview.w, preview.h);
    ctx.putImageData(data, 0, 0);
    this.container.hidden = false;
  }

  // setCrop shows crop (null hides the box: the whole image is used).
  setCrop(crop, square) {
    this.square = !!square;
    this.crop = crop ? this.clamp(crop.slice()) : null;
    this.box.hidden = !this.crop;
    this.render();
    return this.crop;
  }

  clamp([x, y, w, h]) {
    const W = this.imgW, H = this.imgH;
    w = Math.round(Math.max(1, Math.min(w, W)));
    h = Math.round(Math.max(1, Math.min(h, H)));
    if (this.square) w = h = Math.min(w, h, W, H);
    x = Math.round(Math.max(0, Math.min(x, W - w)));
    y = Math.round(Math.max(0, Math.min(y, H - h)));
    return [x, y, w, h];
  }

  render() {
    if (!this.crop || !this.imgW) {
      if (this.readout) this.readout.textContent = "";
      return;
    }
    const [x, y, w, h] = this.crop;
    const s = this.box.style;
    s.left = (100 * x / this.imgW) + "%";
    s.top = (100 * y / this.imgH) + "%";
    s.width = (100 * w / this.imgW) + "%";
    s.height = (100 * h / this.imgH) + "%";
    const text = `Crop ${w}×${h} at (${x}, ${y}) of ${this.imgW}×${this.imgH}`;
    this.box.setAttribute("aria-valuetext", text);
    if (this.readout) this.readout.textContent = text;
  }

  scale() {
    const r = this.canvas.getBoundingClientRect();
    return r.width > 0 ? this.imgW / r.width : 1;
  }

  pointerDown(ev) {
    if (!this.crop || ev.button !== 0) return;
    ev.preventDefault();
    this.box.setPointerCapture(ev.pointerId);
    this.box.focus({ preventScroll: true });
    this.drag = { id: ev.pointerId, x: ev.clientX, y: ev.clientY, start: this.crop.slice(), resize: ev.target === this.handle };
  }

  pointerMove(ev) {
    const d = this.drag;
    if (!d || d.id !== ev.pointerId) return;
    const k = this.scale();
    const dx = (ev.clientX - d.x) * k, dy = (ev.clientY - d.y) * k;
    const [x, y, w, h] = d.start;
    if (d.resize) {
      let nw = w + dx, nh = h + dy;
      if (this.square) nw = nh = Math.max(nw, nh);
      nw = Math.min(nw, this.imgW - x);
      nh = Math.min(nh, this.imgH - y);
      if (this.square) nw = nh = Math.min(nw, nh);
      this.crop = this.clamp([x, y, nw, nh]);
    } else {
      this.crop = this.clamp([x + dx, y + dy, w, h]);
    }
    this.render();
  }

  pointerUp(ev) {
    const d = this.drag;
    if (!d || d.id !== ev.pointerId) return;
    this.drag = null;
    const [a, b] = [d.start, this.crop];
    if (a.some((v, i) => v !== b[i])) this.commit();
  }

  keyDown(ev) {
    if (!this.crop) return;
    const unit = Math.max(1, Math.round(Math.min(this.imgW, this.imgH) / 100)) * (ev.shiftKey ? 10 : 1);
    let [x, y, w, h] = this.crop;
    switch (ev.key) {
      case "ArrowLeft": x -= unit; break;
      case "ArrowRight": x += unit; break;
      case "ArrowUp": y -= unit; break;
      case "ArrowDown": y += unit; break;
      case "+": case "=": x -= unit; y -= unit; w += 2 * unit; h += 2 * unit; break;
      case "-": case "_": x += unit; y += unit; w -= 2 * unit; h -= 2 * unit; break;
      default: return;
    }
    ev.preventDefault();
    const before = this.crop;
    this.crop = this.clamp([x, y, Math.max(8, w), Math.max(8, h)]);
    this.render();
    if (before.some((v, i) => v !== this.crop[i])) {
      clearTimeout(this.keyTimer);
      this.keyTimer = setTimeout(() => this.commit(), 250);
    }
  }

  commit() {
    if (this.onChange) this.onChange(this.crop.slice());
  }
}
