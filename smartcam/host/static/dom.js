// Small DOM helpers shared by the page's cards. Nodes are built with textContent, never
// innerHTML: clip names and messages come from the camera and are shown as text.

export const $ = (id) => document.getElementById(id);

// el("div", { class: "x", text: "hi", title: "..." }, child, ...): an element with attributes
// (class and text are shortcuts) and children (nodes, or strings shown as text; null skipped).
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

// The frame takes the picture's own shape (16:9, 4:3 ...), so percent points map exactly.
// Set through the CSSOM: the Content-Security-Policy forbids style attributes.
export function fitFrame(picture) {
  const width = picture.naturalWidth || picture.videoWidth;
  const height = picture.naturalHeight || picture.videoHeight;
  if (width && height) picture.parentElement.style.aspectRatio = `${width} / ${height}`;
}

// A 2D context for a canvas, its buffer sized to the canvas's CSS box at the screen's pixel
// ratio so lines stay sharp on phones; drawing uses CSS pixels. Null while the canvas has no
// size yet (not laid out, or hidden).
export function canvasContext(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return null;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  return { ctx, width, height };
}
