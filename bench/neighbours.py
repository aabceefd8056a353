"""Nearest-neighbour benchmark: index build time and query time of the Data explorer's search, bundled model.

The index holds the penultimate-layer features of 300 training drawings per class of ``quickdraw18``
(5,400 drawings), rebuilt from the model's card; it is built once (timed), then read back from its disk
cache (timed) as a restarted server does. A query is what the page does for a drawing: render
its raw strokes, one compiled forward pass to the features, one matrix-vector product, the top 12.
The baseline, timed in the same run, is the obvious way: ``predict`` on a feature model and cosine
similarity computed from unnormalised vectors per query. The queries are the 257 raw stroke drawings
of the data folder (disjoint from the bitmaps), and ``vote_accuracy`` says how often the most common
class among the 12 neighbours is the drawing's own category.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from bench.timing import machine


def _stats(samples: list[float]) -> dict[str, float]:
    values = np.array(samples) * 1000
    return {"p50_ms": round(float(np.median(values)), 2), "p95_ms": round(float(np.percentile(values, 95)), 2),
            "max_ms": round(float(values.max()), 2), "queries": len(samples)}


def run(data_dir: str | None = None, model_name: str = "quickdraw18", k: int = 12) -> dict:
    import keras

    from data_loader import data_dir as resolve_data_dir
    from data_loader.quickdraw import read_ndjson, stored
    from model.neighbours import build_index, feature_layer_name
    from model.predict import Predictor

    root = resolve_data_dir(data_dir)
    predictor = Predictor.load(model_name)
    model = predictor.model
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        index = build_index(model, predictor.card, root=root, cache_folder=cache)
        build_seconds = time.perf_counter() - started
        started = time.perf_counter()
        build_index(model, predictor.card, root=root, cache_folder=cache)
        load_seconds = time.perf_counter() - started
    queries = [(name, record["drawing"]) for name, path in stored(root, "raw").items() for record in read_ndjson(path)]
    for _, strokes in queries[:3]:  # Warm-up, untimed, like every benchmark here.
        index.search(model, predictor.render(strokes), k)
    ours, votes_right = [], 0
    for name, strokes in queries:
        started = time.perf_counter()
        image = predictor.render(strokes)
        found = index.search(model, image, k)
        ours.append(time.perf_counter() - started)
        votes_right += index.class_votes(found)[0][0] == name
    feature_model = keras.Model(model.inputs, model.get_layer(feature_layer_name(model)).output)
    raw_vectors = np.asarray(feature_model.predict(index.images[..., None] / 255.0, verbose=0, batch_size=512))
    baseline = []
    for _, strokes in queries[:60]:
        started = time.perf_counter()
        image = predictor.render(strokes)
        query = np.asarray(feature_model.predict(image[None, ..., None] / 255.0, verbose=0))[0]
        scores = raw_vectors @ query / (np.linalg.norm(raw_vectors, axis=1) * np.linalg.norm(query) + 1e-12)
        np.argsort(-scores)[:k]
        baseline.append(time.perf_counter() - started)
    figures = {"query": _stats(ours), "baseline_predict_query": _stats(baseline),
               "index_build_s": round(build_seconds, 2), "index_load_s": round(load_seconds, 3),
               "index_size": len(index), "features": index.vectors.shape[1],
               "layer": index.layer, "k": k, "vote_accuracy": round(votes_right / len(queries), 3),
               "model": model_name, "machine": machine()}
    figures["speedup_vs_baseline"] = round(figures["baseline_predict_query"]["p50_ms"] / figures["query"]["p50_ms"], 1)
    figures["under_one_second"] = figures["query"]["p95_ms"] < 1000
    return figures


def table(figures: dict) -> list[tuple[str, str]]:
    query, baseline = figures["query"], figures["baseline_predict_query"]
    return [
        ("index build", f"{figures['index_build_s']:.1f} s for {figures['index_size']:,} drawings "
                        f"({figures['features']} features of layer {figures['layer']})"),
        ("index read back from its disk cache", f"{figures['index_load_s']:.2f} s"),
        ("query (render + features + top-k)", f"p50 {query['p50_ms']:.2f} ms, p95 {query['p95_ms']:.2f} ms, "
                                               f"max {query['max_ms']:.1f} ms over {query['queries']} drawings"),
        ("baseline (model.predict, cosine per query)", f"p50 {baseline['p50_ms']:.2f} ms, p95 "
                                                       f"{baseline['p95_ms']:.2f} ms"),
        ("speedup", f"{figures['speedup_vs_baseline']}x vs baseline; p95 under one second: "
                    f"{figures['under_one_second']}"),
        ("neighbour vote = drawing's category", f"{figures['vote_accuracy']:.1%} of the raw drawings "
                                                f"(k={figures['k']})"),
    ]
