// Shows each embed's result under it, through the element's events.
for (const [id, out] of [["embed-a", "result-a"], ["embed-b", "result-b"]]) {
  const el = document.getElementById(id);
  const span = document.getElementById(out);
  el.addEventListener("camlens-result", (ev) => {
    const r = ev.detail;
    const top = r.predictions[0];
    span.textContent = `Top class: ${top.label} (${(100 * top.prob).toFixed(1)}%); map ${r.width}×${r.height}, peak at (${r.peak[0]}, ${r.peak[1]}).`;
    el.dataset.done = "1";
  });
  el.addEventListener("camlens-error", (ev) => {
    span.textContent = "Error: " + ev.detail.message;
    el.dataset.error = ev.detail.message;
  });
}
