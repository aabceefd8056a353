// The live canvas (ui/live_canvas.py): draw, guess in the browser while the pen moves, report strokes to Python.
//
// Guessing: static/raster.js makes the 28x28 image exactly as data_loader/raster.py does, onnxruntime-web
// (static/vendor/onnxruntime-web) runs the session's ONNX model on it. A change of the drawing schedules one
// guess on the next animation frame; the time from the oldest pointer event not yet guessed to the guess on
// screen is recorded in window.doodleLive.latencies (milliseconds, performance.now clock).
// The guesses take at most a third of the page's time: after a guess that took w ms the next one waits until
// 2w ms have passed (REST). On a quick device that is still every frame; on a slow phone, or on one machine
// serving a whole class's browsers, the guesses thin out instead of starving the pen and the server. The guess
// for a finished stroke (the pen lifted, undo, redo, clear) does not wait: that is when the player looks.
// Where the runtime cannot start, the canvas says so once and the page uses the server's guesses instead.

const instances = new WeakMap();
const sessions = new Map();  // model id -> Promise of an onnxruntime InferenceSession, shared by all canvases
let runtime = null;  // Promise of {ort, raster}

const base = () => new URL("app/static/", document.baseURI).href;
// Figures for tests and benchmarks: latencies (ms from pointer event to guess on screen), work (ms to render,
// ms to run the model, ms waited for the frame), guesses made, errors met; the last 5000 of each.
const live = (window.doodleLive = window.doodleLive || {latencies: [], work: [], guesses: 0, errors: []});
const keep = (list, item) => { list.push(item); if (list.length > 5000) list.shift(); };
const REST = 2;  // after a guess that took w ms, the next starts no sooner than REST * w ms after it ended
// (window.doodleLive.rest, when a test sets it, replaces REST)

// The runtime's 14 MB binary is vendored gzip-compressed (3.3 MB) and unpacked in the browser. Streamlit would
// otherwise gzip it again on every request (1.2 s of the server's CPU per browser, when a class opens the page at
// once); it never compresses a .gz file.
async function wasmBinary(url) {
  if (typeof DecompressionStream !== "function") throw new Error("this browser cannot unpack the runtime");
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the runtime could not be fetched (HTTP ${response.status})`);
  return new Response(response.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
}

function loadRuntime() {
  if (!runtime) {
    runtime = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
      const [ort, raster] = await Promise.all([
        import(base() + "vendor/onnxruntime-web/ort.wasm.bundle.min.mjs"),
        import(base() + "raster.js"),
      ]);
      ort.env.wasm.numThreads = 1;  // pages are not cross-origin isolated: no shared memory for threads
      // the loader is bundled in the .mjs; the binary comes compressed and is unpacked here (see wasmBinary)
      ort.env.wasm.wasmBinary = await wasmBinary(base() + "vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm.gz");
      live.ort = ort;
      live.raster = raster;
      return {ort, raster};
    })();
    runtime.catch(() => { runtime = null; });
  }
  return runtime;
}

function loadSession(model) {
  if (!sessions.has(model.id)) {
    const made = (async () => {
      const {ort} = await loadRuntime();
      let source = model.url ? new URL(model.url, document.baseURI).href : null;
      if (!source) source = Uint8Array.from(atob(model.bytes), (c) => c.charCodeAt(0));
      return ort.InferenceSession.create(source, {executionProviders: ["wasm"]});
    })();
    made.catch(() => sessions.delete(model.id));
    sessions.set(model.id, made);
  }
  return sessions.get(model.id);
}

// Class probabilities for one 28x28 uint8 image (row by row), as the Python predictor computes them.
async function probabilities(session, image) {
  const {ort} = await loadRuntime();
  const input = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) input[i] = image[i] / 255;
  const feeds = {[session.inputNames[0]]: new ort.Tensor("float32", input, [1, 28, 28, 1])};
  const output = await session.run(feeds);
  return Array.from(output[session.outputNames[0]].data);
}

// For tests and benchmarks: render and classify drawings in this page with the running model.
live.classify = async (drawings, recipe, modelId) => {
  const {raster} = await loadRuntime();
  const session = await sessions.get(modelId || live.modelId);
  const results = [];
  for (const drawing of drawings) {
    const image = raster.render(drawing, recipe);
    results.push({image: Array.from(image), probabilities: await probabilities(session, image)});
  }
  return results;
};

function ranking(probs, classes) {
  return probs.map((p, i) => [classes[i], p]).sort((a, b) => b[1] - a[1]);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function build(root) {
  root.replaceChildren();
  const ui = {};
  ui.bar = element("div", "bar");
  ui.prompt = element("span", "prompt");
  ui.score = element("span", "score");
  ui.timer = element("div", "timer");
  ui.timerFill = element("div", "fill");
  ui.timerText = element("span", "time");
  ui.timer.append(ui.timerFill, ui.timerText);
  ui.timer.setAttribute("data-testid", "live-timer");
  ui.bar.append(ui.prompt, ui.score);
  ui.stage = element("div", "stage");
  ui.canvas = element("canvas", "ink");
  ui.canvas.setAttribute("data-testid", "live-canvas");
  ui.card = element("div", "card");
  ui.card.setAttribute("data-testid", "live-card");
  ui.cardText = element("div", "card-text");
  ui.ready = element("button", "ready", "Ready!");
  ui.card.append(ui.cardText, ui.ready);
  ui.stage.append(ui.canvas, ui.card);
  ui.guess = element("div", "guess");
  ui.guess.setAttribute("data-testid", "live-guess");
  ui.guess.setAttribute("aria-live", "polite");
  ui.note = element("div", "note");
  ui.note.setAttribute("data-testid", "live-note");
  ui.tools = element("div", "tools");
  ui.undo = element("button", "", "↶ Undo");
  ui.redo = element("button", "", "↷ Redo");
  ui.clear = element("button", "", "✕ Clear");
  ui.skip = element("button", "", "⏭ Skip");
  ui.speak = element("label", "speak");
  ui.speakBox = element("input");
  ui.speakBox.type = "checkbox";
  ui.speak.append(ui.speakBox, document.createTextNode(" 🔊 Speak"));
  ui.tools.append(ui.undo, ui.redo, ui.clear, ui.skip);
  ui.bar.append(ui.speak);
  root.append(ui.bar, ui.timer, ui.stage, ui.guess, ui.note, ui.tools);
  return ui;
}

class LiveCanvas {
  constructor(root) {
    this.ui = build(root);
    this.strokes = [];  // [[xs, ys], ...] in canvas units (0..size)
    this.redoStack = [];
    this.current = null;
    this.pending = null;  // timeStamp of the oldest pointer event not yet guessed
    this.frame = 0;
    this.resting = 0;  // timeout until the next guess may start
    this.nextGuessAt = 0;  // performance.now() before which no guess starts (see REST)
    this.urgent = false;  // a stroke ended or the drawing was edited: the next guess skips the rest
    this.busy = false;
    this.dirty = false;
    this.session = null;
    this.roundKey = null;
    this.round = null;  // {prompt, seconds, win, started, over}
    this.pauseUntil = 0;
    this.spoken = {text: "", at: 0};
    this.listen();
  }

  update(args) {
    this.args = args;
    const data = args.data || {};
    const first = !this.data;
    this.data = data;
    const ui = this.ui;
    if (first) ui.speakBox.checked = Boolean(data.speak);
    const size = data.size || 360;
    if (ui.canvas.width !== size) { ui.canvas.width = size; ui.canvas.height = size; this.redraw(); }
    ui.stage.style.maxWidth = `${size}px`;
    const game = data.mode === "game" ? data.game : null;
    ui.bar.hidden = ui.timer.hidden = ui.skip.hidden = ui.speak.hidden = !game;
    if (game) this.updateGame(game);
    else ui.card.hidden = true;
    this.loadModel(data.model || {});
  }

  async loadModel(model) {
    if (this.modelId === model.id && model.id && !model.error) return;
    this.modelId = model.id;
    this.session = null;
    const note = this.ui.note;
    try {
      if (model.error) throw new Error(model.error);
      await loadRuntime();
      if (model.missing) {  // the server exports the model for browsers when one asks; wait for its file
        note.textContent = "Getting live guesses ready: the model is being prepared for your browser…";
        this.setState("wanted", model.id);
        const url = new URL(model.url, document.baseURI).href;
        const deadline = performance.now() + 600000;
        while (!(await fetch(url, {method: "HEAD", cache: "no-store"}).then((r) => r.ok, () => false))) {
          if (this.modelId !== model.id) return;
          if (performance.now() > deadline) throw new Error("the model file did not appear in time");
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      }
      const session = await loadSession(model);
      if (this.modelId !== model.id) return;
      this.session = session;
      note.textContent = "";
      live.modelId = model.id;
      live.ready = true;
      this.setState("live", true);
      this.schedule();
    } catch (error) {
      if (this.modelId !== model.id) return;
      keep(live.errors, String(error));
      live.ready = false;
      note.textContent = model.error
        ? `Live guessing is off: ${model.error}. The guesses come from the server after each stroke.`
        : "Live guessing is off in this browser (the in-browser runtime could not start), "
          + "so the guesses come from the server after each stroke.";
      this.setState("live", false);
    }
  }

  setState(name, value) {
    if (this.args && this.lastSent?.[name] !== JSON.stringify(value)) {
      this.lastSent = {...this.lastSent, [name]: JSON.stringify(value)};
      this.args.setStateValue(name, value);
    }
  }

  get inRound() { return Boolean(this.round && this.round.started && !this.round.over); }
  get canDraw() { return this.data?.mode !== "game" || this.inRound; }

  listen() {
    const ui = this.ui, canvas = ui.canvas;
    const point = (event) => {
      const box = canvas.getBoundingClientRect();
      const scale = canvas.width / box.width;
      return [Math.round((event.clientX - box.left) * scale * 100) / 100,
              Math.round((event.clientY - box.top) * scale * 100) / 100];
    };
    canvas.addEventListener("pointerdown", (event) => {
      if (!this.canDraw || event.button > 0) return;
      canvas.setPointerCapture(event.pointerId);
      const [x, y] = point(event);
      this.current = [[x], [y]];
      this.strokes.push(this.current);
      this.redoStack = [];
      this.paintDot(x, y);
      this.changed(event.timeStamp);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!this.current) return;
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      for (const item of events.length ? events : [event]) {
        const [x, y] = point(item);
        const xs = this.current[0], ys = this.current[1];
        this.paintLine(xs[xs.length - 1], ys[ys.length - 1], x, y);
        xs.push(x); ys.push(y);
      }
      this.changed(event.timeStamp);
    });
    const end = (event) => {
      if (!this.current) return;
      this.current = null;
      this.changed(event.timeStamp, true);
      if (this.data?.mode === "draw" || live.ready === false || this.session === null) this.report();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    ui.undo.addEventListener("click", () => {
      if (!this.canDraw || !this.strokes.length) return;
      this.redoStack.push(this.strokes.pop());
      this.afterEdit();
    });
    ui.redo.addEventListener("click", () => {
      if (!this.canDraw || !this.redoStack.length) return;
      this.strokes.push(this.redoStack.pop());
      this.afterEdit();
    });
    ui.clear.addEventListener("click", () => {
      if (!this.canDraw) return;
      this.strokes = [];
      this.redoStack = [];
      this.afterEdit();
    });
    ui.ready.addEventListener("click", () => this.startRound());
    ui.skip.addEventListener("click", () => { if (this.inRound) this.endRound("skipped"); });
    ui.speakBox.addEventListener("change", () => { if (!ui.speakBox.checked) window.speechSynthesis?.cancel(); });
  }

  afterEdit() {
    this.redraw();
    this.changed(performance.now(), true);
    if (this.data?.mode === "draw" || this.session === null) this.report();
  }

  report() {
    this.setState("strokes", this.strokes.map(([xs, ys]) => [xs.slice(), ys.slice()]));
  }

  context() {
    const context = this.ui.canvas.getContext("2d");
    context.strokeStyle = context.fillStyle = "#ffffff";
    context.lineWidth = this.data?.brush || 14;
    context.lineCap = "round";
    context.lineJoin = "round";
    return context;
  }

  paintDot(x, y) {
    const context = this.context();
    context.beginPath();
    context.arc(x, y, context.lineWidth / 2, 0, 2 * Math.PI);
    context.fill();
  }

  paintLine(x0, y0, x1, y1) {
    const context = this.context();
    context.beginPath();
    context.moveTo(x0, y0);
    context.lineTo(x1, y1);
    context.stroke();
  }

  redraw() {
    const canvas = this.ui.canvas, context = canvas.getContext("2d");
    context.fillStyle = "#000000";
    context.fillRect(0, 0, canvas.width, canvas.height);
    for (const [xs, ys] of this.strokes) {
      this.paintDot(xs[0], ys[0]);
      for (let i = 1; i < xs.length; i++) this.paintLine(xs[i - 1], ys[i - 1], xs[i], ys[i]);
    }
  }

  // urgent: the pen was lifted, or undo, redo or clear: the player now looks for the guess, so it does not wait
  // for the rest (which thins the guesses while the pen moves; a few strokes a second cost little).
  changed(timeStamp, urgent = false) {
    if (this.pending === null) this.pending = timeStamp;
    if (urgent) this.urgent = true;
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    if (this.resting) {
      if (!this.urgent) return;
      clearTimeout(this.resting);
      this.resting = 0;
    }
    const rest = this.urgent ? 0 : this.nextGuessAt - performance.now();
    if (rest > 0) this.resting = setTimeout(() => { this.resting = 0; this.schedule(); }, rest);
    else this.frame = requestAnimationFrame(() => { this.frame = 0; this.guess(); });
  }

  async guess() {
    if (!this.session) return;
    if (this.busy) { this.dirty = true; return; }
    const since = this.pending;
    this.pending = null;
    this.urgent = false;
    if (!this.strokes.length) {
      this.ui.guess.textContent = "";
      this.lastRanking = null;
      return;
    }
    this.busy = true;
    const started = performance.now();
    try {
      const image = live.raster.render(this.strokes, this.data.recipe);
      const rendered = performance.now();
      const probs = await probabilities(this.session, image);
      keep(live.work, [rendered - started, performance.now() - rendered, since === null ? null : started - since]);
      const ranked = ranking(probs, this.data.classes);
      this.lastRanking = ranked;
      this.ui.guess.textContent = ranked.slice(0, 3).map(([name, p]) => `${name} ${Math.round(p * 100)}%`)
        .join(" · ");
      live.guesses += 1;
      live.last = {ranking: ranked.slice(0, 5), strokes: this.strokes.length, drawing: Boolean(this.current)};
      if (since !== null) keep(live.latencies, performance.now() - since);
      this.judge(ranked);
    } catch (error) {
      keep(live.errors, String(error));
    } finally {
      this.busy = false;
      const now = performance.now();
      this.nextGuessAt = now + (live.rest ?? REST) * (now - started);
      if (this.dirty) { this.dirty = false; this.schedule(); }
    }
  }

  // --- the game ----------------------------------------------------------------------------------------

  updateGame(game) {
    const ui = this.ui;
    ui.prompt.textContent = game.prompt ? `Round ${game.round + 1} of ${game.rounds}: draw ${game.prompt}` : "";
    ui.score.textContent = `Score ${game.score} of ${game.round}`;
    const key = `${game.id}:${game.round}`;
    if (key === this.roundKey) return;
    this.roundKey = key;
    const show = () => {
      if (this.roundKey !== key) return;
      this.strokes = [];
      this.redoStack = [];
      this.current = null;
      this.redraw();
      ui.guess.textContent = "";
      this.round = {prompt: game.prompt, seconds: game.seconds, win: game.win, started: 0, over: false};
      ui.cardText.textContent = `Draw ${game.prompt} in ${Math.round(game.seconds)} seconds — ready?`;
      ui.ready.hidden = false;
      ui.card.hidden = false;
      ui.card.classList.remove("verdict");
      this.showTime(game.seconds);
      if (this.session === null) this.report();  // server path: the new round starts with no strokes
    };
    if (game.last && this.round === null) this.showVerdict(game.last);  // the server's verdict (server path)
    else if (game.last && this.round && !this.round.over) this.showVerdict(game.last);
    const wait = this.pauseUntil - performance.now();
    if (wait > 0) setTimeout(show, wait); else show();
  }

  showVerdict(last) {
    const ui = this.ui;
    ui.cardText.textContent = last.text;
    ui.ready.hidden = true;
    ui.card.hidden = false;
    ui.card.classList.add("verdict");
    this.pauseUntil = performance.now() + 1500;
  }

  startRound() {
    if (!this.round || this.round.started) return;
    this.round.started = performance.now();
    this.ui.card.hidden = true;
    this.setState("started", this.roundKey);
    this.say("", true);
    const tick = () => {
      if (!this.round || this.round.over || !this.round.started) return;
      const left = this.round.seconds - (performance.now() - this.round.started) / 1000;
      this.showTime(Math.max(left, 0));
      if (left <= 0) this.endRound("timeout");
      else this.timer = setTimeout(tick, 100);
    };
    tick();
  }

  showTime(left) {
    const total = this.round?.seconds || left || 1;
    this.ui.timerFill.style.width = `${Math.max(0, Math.min(1, left / total)) * 100}%`;
    this.ui.timerText.textContent = `⏱️ ${Math.ceil(left)} s left`;
  }

  judge(ranked) {
    if (this.data?.mode !== "game" || !this.inRound) return;
    const [best, p] = ranked[0];
    if (best === this.round.prompt && p >= this.round.win) {
      this.endRound("won");
      return;
    }
    const others = ranked.slice(1, 3).map(([name]) => name);
    this.say(`I see ${best}` + others.map((name) => ` or ${name}`).join(""));
  }

  endRound(outcome) {
    if (!this.inRound) return;
    const round = this.round;
    round.over = true;
    clearTimeout(this.timer);
    const seconds = Math.min((performance.now() - round.started) / 1000, round.seconds);
    const strokes = this.strokes.map(([xs, ys]) => [xs.slice(), ys.slice()]);
    const midStroke = this.current !== null;
    this.current = null;
    const text = {won: `Oh I know, it's ${round.prompt}!`, timeout: `Time's up! I couldn't guess ${round.prompt}.`,
                  skipped: `Skipped ${round.prompt}.`}[outcome];
    this.showVerdict({text});
    if (outcome === "won") this.say(text, true);
    live.lastRound = {outcome, seconds, strokes: strokes.length, midStroke, text, shown: this.ui.cardText.textContent,
                     at: performance.now()};
    const game = this.data.game;
    this.setState("report", {id: game.id, round: game.round, outcome, seconds, strokes,
                             ranking: (this.lastRanking || []).slice(0, 3)});
  }

  // Speak a guess when it changes, never more than once every two seconds, never over itself.
  say(text, now = false) {
    const synth = window.speechSynthesis;
    if (!synth || !this.ui.speakBox.checked) return;
    if (!text) { synth.cancel(); this.spoken = {text: "", at: 0}; return; }
    const time = performance.now();
    if (text === this.spoken.text || (!now && (synth.speaking || time - this.spoken.at < 2000))) return;
    if (now) synth.cancel();
    synth.speak(new SpeechSynthesisUtterance(text));
    this.spoken = {text, at: time};
  }
}

export default function (args) {
  const root = args.parentElement.querySelector(".live") || args.parentElement;
  let instance = instances.get(root);
  if (!instance) {
    instance = new LiveCanvas(root);
    instances.set(root, instance);
  }
  instance.update(args);
}
