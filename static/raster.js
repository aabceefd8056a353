// The browser's copy of data_loader/raster.py: strokes -> 28x28 greyscale (0 = background, 255 = ink).
//
// data_loader/raster.py is the reference; this file repeats its arithmetic step by step (no canvas scaling,
// no graphics library), so that the live guess in the browser sees the image the server would make.
// tests/test_browser_live.py renders every raw drawing of the data folder with both and compares them.
//
// A drawing is a list of strokes [xs, ys] or [xs, ys, ts] in any units (canvas pixels, y down).
// Recipes: "quickdraw" (Google's: simplify, 16 units wide round strokes in a padded 256 box, 28x28) and
// "mnist" (fitted into a 20x20 box, pen about 2.4 pixels, centred by centre of mass).

export const SIDE = 28;
const EPSILON = 2.0;
const BOX = 256.0, LINE = 16.0, PAD = 16.0;
const QD_SCALE = SIDE / (BOX + 2 * PAD + LINE);
const MNIST_BOX = 20.0 - 0.25;
const MNIST_PEN = 2.4;
const SUB = 2;

// numpy's round: halves go to the even neighbour.
function roundEven(v) {
  const r = Math.round(v);
  return (r - v === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

// Keep the strokes' finite points as [[x...], [y...]] arrays; empty strokes are dropped.
function readStrokes(drawing) {
  const strokes = [];
  for (const stroke of drawing || []) {
    if (!stroke || stroke.length < 2) continue;
    const xs = [], ys = [];
    const n = Math.min(stroke[0].length, stroke[1].length);
    for (let i = 0; i < n; i++) {
      const x = Number(stroke[0][i]), y = Number(stroke[1][i]);
      if (Number.isFinite(x) && Number.isFinite(y)) { xs.push(x); ys.push(y); }
    }
    if (xs.length) strokes.push([xs, ys]);
  }
  return strokes;
}

// numpy.interp at t on the polyline (arc[j], value[j]); j is the segment with arc[j] <= t < arc[j+1].
function interp(t, arc, values) {
  const n = arc.length;
  if (t >= arc[n - 1]) return values[n - 1];
  if (t < arc[0]) return values[0];
  let lo = 0, hi = n - 1;  // arc[lo] <= t < arc[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (arc[mid] <= t) lo = mid; else hi = mid;
  }
  if (t === arc[lo]) return values[lo];
  const slope = (values[lo + 1] - values[lo]) / (arc[lo + 1] - arc[lo]);
  return slope * (t - arc[lo]) + values[lo];
}

// The kept indexes of points (px, py) by Ramer-Douglas-Peucker between first and last, as raster._rdp does:
// a range splits at its first farthest point when that point is farther than EPSILON from the chord.
function rdp(px, py, first, last, keep) {
  const stack = [[first, last]];
  while (stack.length) {
    const [a, b] = stack.pop();
    if (b - a < 2) continue;
    const cr = px[b] - px[a], ci = py[b] - py[a];
    const chord = Math.hypot(cr, ci);
    const closed = chord === 0;
    const limit = closed ? EPSILON : EPSILON * chord;
    let peak = -1, best = -1;
    for (let i = a; i < b; i++) {
      const qr = px[i] - px[a], qi = py[i] - py[a];
      const far = closed ? Math.hypot(qr, qi) : Math.abs(cr * qi - ci * qr);
      if (far > peak) { peak = far; best = i; }
    }
    if (peak > limit) {
      keep[best] = true;
      stack.push([a, best], [best, b]);
    }
  }
}

// Google's simplification (raster._simplify) of one drawing: returns its strokes as arrays of [x, y].
export function normalizeStrokes(drawing) {
  const strokes = readStrokes(drawing);
  if (!strokes.length) throw new Error("the drawing has no points");
  let minX = Infinity, minY = Infinity;
  for (const [xs, ys] of strokes) for (let i = 0; i < xs.length; i++) {
    minX = Math.min(minX, xs[i]); minY = Math.min(minY, ys[i]);
  }
  let maxX = -Infinity, maxY = -Infinity;
  const x = [], y = [], firsts = [];
  for (const [xs, ys] of strokes) {
    firsts.push(x.length);
    for (let i = 0; i < xs.length; i++) {
      const a = xs[i] - minX, b = ys[i] - minY;
      x.push(a); y.push(b);
      maxX = Math.max(maxX, a); maxY = Math.max(maxY, b);
    }
  }
  const extent = Math.max(maxX, maxY);
  const scale = extent > 0 ? 255.0 / extent : 1.0;
  for (let i = 0; i < x.length; i++) { x[i] *= scale; y[i] *= scale; }
  const n = x.length;
  const arc = new Float64Array(n);
  const isFirst = new Uint8Array(n);
  for (const f of firsts) isFirst[f] = 1;
  let total = 0;
  for (let i = 1; i < n; i++) {
    const step = isFirst[i] ? 1.0 : Math.hypot(x[i] - x[i - 1], y[i] - y[i - 1]);
    total += step;
    arc[i] = total;
  }
  const result = [];
  let offset = 0;
  for (let s = 0; s < firsts.length; s++) {
    const f = firsts[s], l = (s + 1 < firsts.length ? firsts[s + 1] : n) - 1;
    const start = arc[f], length = arc[l] - arc[f];
    const count = Math.ceil(length) + 1;
    // the resampled points, of which only those next to a change of segment can matter
    const ts = [], ends = [];
    let previous = -1, pending = null;
    for (let k = 0; k < count; k++) {
      const t = k === count - 1 ? start + length : (offset + k) - (offset - start);
      // searchsorted(arc, t, "right") within the whole drawing
      let lo = 0, hi = n;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (arc[mid] <= t) lo = mid + 1; else hi = mid; }
      const segment = lo;
      const end = k === 0 || k === count - 1;
      if (k > 0 && segment !== previous && pending !== null) { ts.push(pending.t); ends.push(pending.end); pending = null; }
      if (end || segment !== previous) { ts.push(t); ends.push(end); pending = null; }
      else pending = {t, end};
      previous = segment;
    }
    offset += count;
    const px = ts.map((t) => interp(t, arc, x)), py = ts.map((t) => interp(t, arc, y));
    const keep = ends.slice();
    rdp(px, py, 0, px.length - 1, keep);
    const points = [];
    for (let i = 0; i < px.length; i++) if (keep[i]) points.push([roundEven(px[i]), roundEven(py[i])]);
    result.push(points);
  }
  return result;
}

// Each stroke's (28x28) coverage by capsules of the given radius around its segments (raster._stroke_coverage),
// folded into `clear` (the fraction of each pixel left unpainted) like layers of paint.
function paint(strokes, radius, clear) {
  const n = SIDE * SUB;
  const r = radius * SUB, reach = r + 0.7072;
  const layer = new Float64Array(n * n);
  for (const points of strokes) {
    layer.fill(0);
    const pairs = points.length === 1 ? [[points[0], points[0]]] : [];
    for (let i = 1; i < points.length; i++) pairs.push([points[i - 1], points[i]]);
    for (const [pa, pb] of pairs) {
      const bx = pa[0] * SUB, by = pa[1] * SUB;
      const fx = pb[0] * SUB - bx, fy = pb[1] * SUB - by;
      const pieces = Math.ceil(Math.min(Math.max(Math.max(Math.abs(fx), Math.abs(fy)) / 3.0, 1.0), n));
      const ex = fx / pieces, ey = fy / pieces;
      const length2 = ex * ex + ey * ey;
      const inv = length2 > 0 ? 1.0 / length2 : 0.0;
      for (let step = 0; step < pieces; step++) {
        const ax = bx + step * ex, ay = by + step * ey;
        const x0 = Math.max(Math.ceil(Math.min(ax, ax + ex) - reach - 0.5), 0);
        const x1 = Math.min(Math.floor(Math.max(ax, ax + ex) + reach - 0.5), n - 1);
        const y0 = Math.max(Math.ceil(Math.min(ay, ay + ey) - reach - 0.5), 0);
        const y1 = Math.min(Math.floor(Math.max(ay, ay + ey) + reach - 0.5), n - 1);
        for (let py = y0; py <= y1; py++) for (let px = x0; px <= x1; px++) {
          const qx = px + 0.5 - ax, qy = py + 0.5 - ay;
          const t = Math.min(Math.max((qx * ex + qy * ey) * inv, 0.0), 1.0);
          const dx = Math.abs(qx - t * ex), dy = Math.abs(qy - t * ey);
          const dist = Math.sqrt(dx * dx + dy * dy);
          if (!(dist < reach)) continue;
          const k = 1.0 / Math.max(dist, 1e-9);
          const c = Math.max(Math.max(dx, dy) * k, 0.7);
          const s = Math.max(Math.min(dx, dy) * k, 0.01);
          const u = dist - r, ha = 0.5 * (c - s), hb = 0.5 * (c + s);
          const sq = (v) => { const m = Math.max(v, 0.0); return m * m; };
          const cover = 1.0 - (sq(u + hb) - sq(u + ha) - sq(u - ha) + sq(u - hb)) / (2.0 * c * s);
          const index = py * n + px;
          if (cover > layer[index]) layer[index] = cover;
        }
      }
    }
    for (let i = 0; i < SIDE; i++) for (let j = 0; j < SIDE; j++) {
      const top = (i * SUB) * n + j * SUB, bottom = top + n;
      const pixel = (((0 + layer[top]) + layer[top + 1]) + layer[bottom]) + layer[bottom + 1];
      clear[i * SIDE + j] *= 1.0 - pixel / (SUB * SUB);
    }
  }
}

function rasterize(strokes, radius) {
  const clear = new Float64Array(SIDE * SIDE).fill(1.0);
  paint(strokes, radius, clear);
  const image = new Uint8Array(SIDE * SIDE);
  for (let i = 0; i < image.length; i++) image[i] = roundEven(Math.min(Math.max(1.0 - clear[i], 0), 1) * 255.0);
  return image;
}

function top(strokes) {
  let x = -Infinity, y = -Infinity;
  for (const points of strokes) for (const [a, b] of points) { x = Math.max(x, a); y = Math.max(y, b); }
  return [x, y];
}

// A drawing as QuickDraw's numpy_bitmap files show it: a Uint8Array of 28x28 grey levels, row by row.
export function renderQuickdraw(drawing) {
  const strokes = normalizeStrokes(drawing);
  const [tx, ty] = top(strokes);
  const ox = (BOX - tx) / 2 + PAD + LINE / 2, oy = (BOX - ty) / 2 + PAD + LINE / 2;
  const placed = strokes.map((points) => points.map(([x, y]) => [(x + ox) * QD_SCALE, (y + oy) * QD_SCALE]));
  return rasterize(placed, LINE / 2 * QD_SCALE);
}

// A drawing prepared the way MNIST digits were: in a 20x20 box, shifted so its centre of mass is central.
export function renderMnist(drawing) {
  const strokes = normalizeStrokes(drawing);
  const [tx, ty] = top(strokes);
  const scale = (MNIST_BOX - MNIST_PEN) / Math.max(Math.max(tx, ty), 1e-9);
  const ox = (SIDE - tx * scale) / 2, oy = (SIDE - ty * scale) / 2;
  let placed = strokes.map((points) => points.map(([x, y]) => [x * scale + ox, y * scale + oy]));
  const image = rasterize(placed, MNIST_PEN / 2);
  let mass = 0, cx = 0, cy = 0;
  for (let i = 0; i < SIDE; i++) for (let j = 0; j < SIDE; j++) {
    const v = image[i * SIDE + j];
    mass += v; cx += v * j; cy += v * i;
  }
  mass = Math.max(mass, 1.0);
  const sx = roundEven(SIDE / 2 - cx / mass), sy = roundEven(SIDE / 2 - cy / mass);
  placed = placed.map((points) => points.map(([x, y]) => [x + sx, y + sy]));
  return rasterize(placed, MNIST_PEN / 2);
}

export function render(drawing, recipe = "quickdraw") {
  if (recipe === "quickdraw") return renderQuickdraw(drawing);
  if (recipe === "mnist") return renderMnist(drawing);
  throw new Error(`unknown recipe ${recipe}; choose one of quickdraw, mnist`);
}
