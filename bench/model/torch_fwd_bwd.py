#!/usr/bin/env python3
"""Python PyTorch side of fc-bench-model: the same forward+backward on the same weights.

Loads MODEL_DIR (config.json + model.safetensors) with tools/crosscheck/hf_forward.py's reader
and forward (plain PyTorch, HF conventions), makes every weight trainable, and times
next-token cross-entropy forward+backward on MODEL_DIR/ids.json. Prints one JSON line:
{"tokens_per_s": ..., "step_ms": ..., "loss": ...}

usage: torch_fwd_bwd.py MODEL_DIR STEPS WARMUP THREADS
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tools", "crosscheck"))
import hf_forward  # noqa: E402


def main(model_dir, steps, warmup, threads):
    torch.set_num_threads(threads)
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    with open(f"{model_dir}/ids.json") as f:
        ids = torch.tensor(json.load(f)["ids"], dtype=torch.int64)
    w = hf_forward.read_safetensors(f"{model_dir}/model.safetensors")
    for t in w.values():
        t.requires_grad_(True)
    fwd = hf_forward.neox_forward if cfg["model_type"] == "gpt_neox" else hf_forward.gpt2_forward

    def step():
        for t in w.values():
            t.grad = None
        logits = fwd(cfg, w, ids)
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        return loss.item()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    loss = 0.0
    for _ in range(steps):
        loss = step()
    elapsed = time.perf_counter() - start
    print(json.dumps({"tokens_per_s": ids.numel() * steps / elapsed,
                      "step_ms": 1000 * elapsed / steps, "loss": loss}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
