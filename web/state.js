// The view's state lives in the URL hash so that a link reproduces it:
//   #model=<catalog id>&sample=<sample file>&crop=x,y,w,h&method=<name>
//    &class=<label or index>&layer=<name>&opacity=<0..1>&colormap=<name>
//    &cf=1 (counterfactual)&box=0 (hide box)&compare=<method|class|guided>
//    &with=<second method or class>
// Unknown keys are kept; empty values are dropped.

export const stateKeys = ["model", "sample", "crop", "method", "class", "layer", "opacity", "colormap", "cf", "box", "compare", "with"];

export function parseHash(hash) {
  const s = {};
  const p = new URLSearchParams(String(hash || "").replace(/^#/, ""));
  for (const [k, v] of p) s[k] = v;
  return s;
}

export function formatHash(state) {
  const p = new URLSearchParams();
  const keys = stateKeys.concat(Object.keys(state).filter((k) => !stateKeys.includes(k)).sort());
  for (const k of keys) {
    const v = state[k];
    if (v === undefined || v === null || v === "") continue;
    p.set(k, String(v));
  }
  // Commas and slashes read better unescaped and are safe in a fragment.
  return "#" + p.toString().replace(/%2C/g, ",").replace(/%2F/g, "/");
}

// parseCrop reads "x,y,w,h" (non-negative integers, w and h > 0).
export function parseCrop(s) {
  if (!s) return null;
  const parts = String(s).split(",").map((x) => Number(x));
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0) || parts[2] === 0 || parts[3] === 0) return null;
  return parts;
}

export function parseOpacity(s, dflt) {
  const x = Number(s);
  return s !== undefined && s !== "" && Number.isFinite(x) && x >= 0 && x <= 1 ? x : dflt;
}
