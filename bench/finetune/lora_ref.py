#!/usr/bin/env python3
"""Reference LoRA training loop in Python PyTorch for fc-bench-finetune.

Same model shape (GPT-NeoX: parallel residual, partial rotary, fused QKV, GELU MLP, untied
unembedding), same LoRA (r, alpha, all four block Linears, B=0, A Kaiming-uniform), same loop
(AdamW wd 0.01, linear warmup/decay, global-norm clipping 1.0, right-padded batches, CE over
non -100 shifted labels) and the same tokenized rows (read from --data, written by the C++
bench). Prints one JSON line: {"steps", "seconds", "threads", "torch", "final_loss"}.
Debian's python3-torch is enough; no transformers/peft needed.
"""
import argparse
import json
import math
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoraLinear(nn.Module):
    def __init__(self, d_in, d_out, r, alpha):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) * 0.02, requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(d_out), requires_grad=False)
        self.lora_A = nn.Parameter(torch.empty(r, d_in).uniform_(-1 / math.sqrt(d_in), 1 / math.sqrt(d_in)))
        self.lora_B = nn.Parameter(torch.zeros(d_out, r))
        self.scale = alpha / r

    def forward(self, x):
        return F.linear(x, self.weight, self.bias) + self.scale * F.linear(F.linear(x, self.lora_A), self.lora_B)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Block(nn.Module):
    def __init__(self, d, h, d_mlp, rot, r, alpha):
        super().__init__()
        self.h, self.dh, self.rot = h, d // h, rot
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = LoraLinear(d, 3 * d, r, alpha)
        self.dense = LoraLinear(d, d, r, alpha)
        self.up = LoraLinear(d, d_mlp, r, alpha)
        self.down = LoraLinear(d_mlp, d, r, alpha)

    def attn(self, x, cos, sin):
        B, P, D = x.shape
        qkv = self.qkv(x).view(B, P, self.h, 3 * self.dh).permute(0, 2, 1, 3)  # [B,H,P,3Dh]
        q, k, v = qkv.split(self.dh, dim=-1)
        def rope(t):
            tr, tp = t[..., : self.rot], t[..., self.rot:]
            return torch.cat((tr * cos + rotate_half(tr) * sin, tp), dim=-1)
        q, k = rope(q), rope(k)
        s = (q @ k.transpose(-1, -2)).float() / math.sqrt(self.dh)
        mask = torch.ones(P, P, dtype=torch.bool).triu(1)
        s = s.masked_fill(mask, float("-inf")).softmax(-1).to(v.dtype)
        z = (s @ v).permute(0, 2, 1, 3).reshape(B, P, D)
        return self.dense(z)

    def forward(self, x, cos, sin):
        return x + self.attn(self.ln1(x), cos, sin) + self.down(F.gelu(self.up(self.ln2(x))))


class NeoX(nn.Module):
    def __init__(self, vocab, d, h, layers, d_mlp, rotary_pct, r, alpha):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.embed.weight.requires_grad_(False)
        rot = int(rotary_pct * (d // h))
        self.blocks = nn.ModuleList([Block(d, h, d_mlp, rot, r, alpha) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.unembed = nn.Linear(d, vocab, bias=False)
        self.unembed.weight.requires_grad_(False)
        for m in self.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.requires_grad_(False)
                m.bias.requires_grad_(False)
        inv = 1.0 / (10000 ** (torch.arange(0, rot, 2).float() / rot))
        self.register_buffer("inv_freq", inv)

    def forward(self, ids):
        P = ids.shape[1]
        t = torch.arange(P).float()
        f = torch.outer(t, self.inv_freq)
        emb = torch.cat((f, f), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed(ids)
        for b in self.blocks:
            x = b(x, cos, sin)
        return self.unembed(self.ln_f(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--skip", type=int, default=3, help="warm-up steps excluded from timing")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.data) as f:
        d = json.load(f)
    cfg = d["config"]
    rows = d["rows"]
    model = NeoX(cfg["vocab"], cfg["d_model"], cfg["heads"], cfg["layers"], cfg["d_mlp"], cfg["rotary_pct"],
                 cfg["r"], cfg["alpha"])
    params = [p for n, p in model.named_parameters() if "lora_" in n]
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.01)
    total = a.steps + a.skip
    warm = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    bs, pad = cfg["batch_size"], cfg["pad_id"]
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    pos = 0
    model.train()
    t0 = None
    loss_v = 0.0
    for step in range(total):
        if step == a.skip:
            t0 = time.perf_counter()
        if pos + bs > len(order):
            pos = 0
        batch = [rows[i] for i in order[pos:pos + bs]]
        pos += bs
        L = max(len(r["ids"]) for r in batch)
        ids = torch.full((len(batch), L), pad, dtype=torch.long)
        labels = torch.full((len(batch), L), -100, dtype=torch.long)
        for i, r in enumerate(batch):
            ids[i, : len(r["ids"])] = torch.tensor(r["ids"])
            labels[i, : len(r["labels"])] = torch.tensor(r["labels"])
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1),
                               ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        loss_v = loss.item()
    secs = time.perf_counter() - t0
    print(json.dumps({"steps": a.steps, "seconds": secs, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "final_loss": loss_v}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
