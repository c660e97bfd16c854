// renderMarkdown turns a model card (a small Markdown subset: headings,
// paragraphs, lists, fenced code, tables, **bold**, `code`, links) into DOM
// nodes. It never uses innerHTML, so a card cannot inject markup. Relative
// links resolve against base (the card's URL); links to other origins are
// shown as text with their address, not followed.

export function renderMarkdown(src, base = location.href, doc = document) {
  const root = doc.createDocumentFragment();
  const lines = String(src).replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  const el = (tag, text) => {
    const e = doc.createElement(tag);
    if (text !== undefined) inline(e, text, doc, base);
    return e;
  };
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) { i++; continue; }
    let m;
    if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
      const level = Math.min(6, m[1].length + 2); // the card sits under the page's h2
      root.appendChild(el("h" + level, m[2]));
      i++;
    } else if (/^```/.test(line)) {
      const pre = doc.createElement("pre");
      const code = doc.createElement("code");
      const body = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i])) body.push(lines[i++]);
      i++;
      code.textContent = body.join("\n");
      pre.appendChild(code);
      root.appendChild(pre);
    } else if (/^\s*\|/.test(line)) {
      const table = doc.createElement("table");
      let header = true;
      while (i < lines.length && /^\s*\|/.test(lines[i])) {
        const cells = lines[i].trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
        i++;
        if (cells.every((c) => /^:?-{2,}:?$/.test(c))) continue;
        if (header && cells.every((c) => c === "")) {
          header = false; // an empty header row: a plain two-column table
          continue;
        }
        const tr = doc.createElement("tr");
        for (const c of cells) tr.appendChild(el(header ? "th" : "td", c));
        table.appendChild(tr);
        header = false;
      }
      root.appendChild(table);
    } else if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const list = doc.createElement(ordered ? "ol" : "ul");
      while (i < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[i])) {
        let text = lines[i].replace(/^\s*([-*]|\d+\.)\s+/, "");
        i++;
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !/^\s*([-*]|\d+\.)\s+/.test(lines[i])) text += " " + lines[i++].trim();
        list.appendChild(el("li", text));
      }
      root.appendChild(list);
    } else {
      const para = [];
      while (i < lines.length && !/^\s*$/.test(lines[i]) && !/^(#{1,6}\s|```|\s*\||\s*([-*]|\d+\.)\s)/.test(lines[i])) para.push(lines[i++].trim());
      root.appendChild(el("p", para.join(" ")));
    }
  }
  return root;
}

function inline(parent, text, doc, base) {
  const re = /(\*\*[^*]+\*\*|`[^`]+`|\[[^\]]+\]\([^)\s]+\))/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) parent.appendChild(doc.createTextNode(text.slice(last, m.index)));
    const t = m[0];
    if (t.startsWith("**")) {
      const b = doc.createElement("strong");
      b.textContent = t.slice(2, -2);
      parent.appendChild(b);
    } else if (t.startsWith("`")) {
      const c = doc.createElement("code");
      c.textContent = t.slice(1, -1);
      parent.appendChild(c);
    } else {
      const lm = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(t);
      let url = null;
      try { url = new URL(lm[2], base); } catch (e) { url = null; }
      if (url && url.origin === location.origin) {
        const a = doc.createElement("a");
        a.href = url.href;
        const code = /^`([^`]+)`$/.exec(lm[1]);
        if (code) {
          const c = doc.createElement("code");
          c.textContent = code[1];
          a.appendChild(c);
        } else {
          a.textContent = lm[1];
        }
        parent.appendChild(a);
      } else {
        // Other sites are shown, not linked: the page makes no requests elsewhere.
        parent.appendChild(doc.createTextNode(`${lm[1]} (${lm[2]})`));
      }
    }
    last = re.lastIndex;
  }
  if (last < text.length) parent.appendChild(doc.createTextNode(text.slice(last)));
}
