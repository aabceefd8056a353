// Replays a drawing stroke by stroke with its real timing: strokes [xs, ys, ts] fitted to a square canvas,
// ts in milliseconds from the first point. Play/Pause and Restart live in the component; the speed comes
// from Python (data.speed). The component is called again on every rerun with new data: it keeps its
// elements on parentElement and stops the previous animation first.
export default function (component) {
  const { data, parentElement } = component;
  const size = data.size || 280;
  let root = parentElement.querySelector(".replay");
  if (!root) {
    root = document.createElement("div");
    root.className = "replay";
    root.innerHTML = `<canvas class="replay-canvas"></canvas>
      <div class="replay-controls"><button class="replay-play" type="button">▶ Play</button>
      <button class="replay-restart" type="button">↺ Restart</button><span class="replay-status"></span></div>`;
    parentElement.appendChild(root);
  }
  const canvas = root.querySelector(".replay-canvas");
  const playButton = root.querySelector(".replay-play");
  const restartButton = root.querySelector(".replay-restart");
  const status = root.querySelector(".replay-status");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = size * ratio;
  canvas.height = size * ratio;
  canvas.style.width = `${size}px`;
  canvas.style.height = `${size}px`;
  const context = canvas.getContext("2d");
  const strokes = data.strokes || [];
  const speed = data.speed || 1;
  const end = strokes.length ? strokes[strokes.length - 1][2].slice(-1)[0] : 0;
  if (root._frame) cancelAnimationFrame(root._frame);
  let time = 0;
  let playing = false;
  let last = null;

  function draw(upTo) {
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, size, size);
    context.strokeStyle = "#1f2a44";
    context.lineWidth = Math.max(2, size / 90);
    context.lineCap = "round";
    context.lineJoin = "round";
    let done = 0;
    for (const [xs, ys, ts] of strokes) {
      if (ts[0] > upTo) break;
      context.beginPath();
      context.moveTo(xs[0], ys[0]);
      let index = 1;
      while (index < xs.length && ts[index] <= upTo) {
        context.lineTo(xs[index], ys[index]);
        index += 1;
      }
      if (index < xs.length) {
        const share = (upTo - ts[index - 1]) / Math.max(1, ts[index] - ts[index - 1]);
        context.lineTo(xs[index - 1] + share * (xs[index] - xs[index - 1]),
                       ys[index - 1] + share * (ys[index] - ys[index - 1]));
      } else {
        done += 1;
      }
      if (xs.length === 1) context.lineTo(xs[0] + 0.01, ys[0]);
      context.stroke();
    }
    const shown = Math.min(upTo, end) / 1000;
    status.textContent = `stroke ${Math.min(done + (upTo < end ? 1 : 0), strokes.length)} of ${strokes.length}` +
      ` · ${shown.toFixed(1)} s of ${(end / 1000).toFixed(1)} s`;
  }

  function step(now) {
    if (!playing) return;
    if (last !== null) time += (now - last) * speed;
    last = now;
    draw(time);
    if (time >= end) {
      playing = false;
      playButton.textContent = "▶ Play";
      return;
    }
    root._frame = requestAnimationFrame(step);
  }

  function play() {
    if (time >= end) time = 0;
    playing = true;
    last = null;
    playButton.textContent = "Pause";
    root._frame = requestAnimationFrame(step);
  }

  playButton.onclick = () => {
    if (playing) {
      playing = false;
      playButton.textContent = "▶ Play";
    } else {
      play();
    }
  };
  restartButton.onclick = () => {
    time = 0;
    play();
  };
  draw(data.autoplay ? 0 : end);
  if (data.autoplay) play();
  return () => {
    playing = false;
    if (root._frame) cancelAnimationFrame(root._frame);
  };
}
