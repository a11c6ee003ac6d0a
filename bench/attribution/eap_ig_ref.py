#!/usr/bin/env python3
"""Straightforward PyTorch reference of EAP-IG on inputs (algorithms.md 3.5, [EAP-old] style), and
of EAP-IG on activations (3.6: each node group's output replaced by the interpolation in turn).

Written from the spec, independently of the C++ engine, as (a) a cross-check of its scores and
(b) the Python baseline of bench/attribution. It loads a HuggingFace folder (config.json +
model.safetensors, GPT-NeoX or GPT-2, float32) with a small safetensors reader, runs a plain
forward in which every destination input (per-head q/k/v copies, MLP inputs, final residual) is
its own tensor with retain_grad(), and for every IG step does one forward + backward and one
einsum per destination, as the original hooks do.

Usage:
  eap_ig_ref.py --model DIR --data rows.json --out scores.f32 [--steps 5] [--metric kl|logit_diff]
                [--method eap_ig|eap_ig_activations]
                [--kl-sum] [--endpoint right|left|midpoint] [--paper-weighting] [--threads 2]
rows.json: {"pad_id": int, "batch_size": int,
            "rows": [{"clean": [ids], "corrupted": [ids], "label": id, "incorrect": id}, ...]}
Writes the [n_forward, n_backward] float32 scores (row-major, little endian) to --out and prints
one JSON line {"seconds": attribution wall time, "cpu_seconds": its process CPU time, ...}.
"""
import argparse
import json
import math
import struct
import sys
import time

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = bytearray(data[base + begin:base + end])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]) if end > begin else torch.empty(0)
        out[name] = t.reshape(info["shape"]).float()
    return out


class Model:
    """GPT-NeoX / GPT-2 forward with explicit destination inputs (no hooks, no fused paths)."""

    def __init__(self, folder):
        cfg = json.load(open(folder + "/config.json"))
        w = load_safetensors(folder + "/model.safetensors")
        self.gpt2 = cfg["model_type"] == "gpt2"
        g = lambda k, *alts: next(cfg[x] for x in (k,) + alts if x in cfg)
        if self.gpt2:
            w = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in w.items()}
            self.L, self.H, self.D = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
            self.eps = cfg.get("layer_norm_epsilon", 1e-5)
            self.parallel = False
            self.gelu_tanh = True
        else:
            self.L, self.H, self.D = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["hidden_size"]
            self.eps = cfg.get("layer_norm_eps", 1e-5)
            self.parallel = cfg.get("use_parallel_residual", True)
            self.gelu_tanh = cfg.get("hidden_act", "gelu") != "gelu"
            self.rot = int(cfg.get("rotary_pct", 0.25) * (self.D // self.H))
            self.base = g("rotary_emb_base", "rope_theta") if ("rotary_emb_base" in cfg or "rope_theta" in cfg) else 10000.0
        self.Dh = self.D // self.H
        for p in w.values():
            p.requires_grad_(False)
        self.w = w

    # ---- helpers
    def ln(self, x, name):
        return F.layer_norm(x, (self.D,), self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def gelu(self, x):
        return F.gelu(x, approximate="tanh") if self.gelu_tanh else F.gelu(x)

    def rotary(self, x):  # x [B,P,H,Dh], NeoX rotate-half on the first rot dims
        P, rd = x.shape[1], self.rot
        inv = 1.0 / (self.base ** (torch.arange(0, rd, 2, dtype=torch.float32) / rd))
        freqs = torch.outer(torch.arange(P, dtype=torch.float32), inv)
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
        xr, xp = x[..., :rd], x[..., rd:]
        half = rd // 2
        rotated = torch.cat([-xr[..., half:], xr[..., :half]], -1)
        return torch.cat([xr * cos + rotated * sin, xp], -1)

    def layer_weights(self, l):
        H, Dh, D = self.H, self.Dh, self.D
        if self.gpt2:
            p = f"h.{l}."
            wqkv = self.w[p + "attn.c_attn.weight"].t().reshape(3, H, Dh, D)   # q|k|v contiguous
            bqkv = self.w[p + "attn.c_attn.bias"].reshape(3, H, Dh)
            wo = self.w[p + "attn.c_proj.weight"].t().reshape(D, H, Dh)
            return dict(ln1=p + "ln_1", ln2=p + "ln_2", wq=wqkv[0], wk=wqkv[1], wv=wqkv[2],
                        bq=bqkv[0], bk=bqkv[1], bv=bqkv[2], wo=wo, bo=self.w[p + "attn.c_proj.bias"],
                        w1=self.w[p + "mlp.c_fc.weight"].t(), b1=self.w[p + "mlp.c_fc.bias"],
                        w2=self.w[p + "mlp.c_proj.weight"].t(), b2=self.w[p + "mlp.c_proj.bias"])
        p = f"gpt_neox.layers.{l}."
        wqkv = self.w[p + "attention.query_key_value.weight"].reshape(H, 3, Dh, D)  # per head q,k,v
        bqkv = self.w[p + "attention.query_key_value.bias"].reshape(H, 3, Dh)
        return dict(ln1=p + "input_layernorm", ln2=p + "post_attention_layernorm",
                    wq=wqkv[:, 0], wk=wqkv[:, 1], wv=wqkv[:, 2], bq=bqkv[:, 0], bk=bqkv[:, 1], bv=bqkv[:, 2],
                    wo=self.w[p + "attention.dense.weight"].reshape(D, H, Dh), bo=self.w[p + "attention.dense.bias"],
                    w1=self.w[p + "mlp.dense_h_to_4h.weight"], b1=self.w[p + "mlp.dense_h_to_4h.bias"],
                    w2=self.w[p + "mlp.dense_4h_to_h.weight"], b2=self.w[p + "mlp.dense_4h_to_h.bias"])

    def embed(self, ids):
        return self.w["wte.weight" if self.gpt2 else "gpt_neox.embed_in.weight"][ids]

    def forward(self, embeds, retain=False, override=None):
        """Returns logits, source outputs [B,P,n_forward,D], destination inputs (per layer q,k,v,mlp; logits).

        override = ("heads" | "mlp", layer, tensor): that group's output is replaced by the tensor
        (as EAP-IG-activations' forward hooks do)."""
        B, P, D, H = embeds.shape[0], embeds.shape[1], self.D, self.H
        x = embeds + (self.w["wpe.weight"][:P][None] if self.gpt2 else 0)
        outs, dests = [embeds], []
        mask = torch.ones(P, P, dtype=torch.bool).tril()
        for l in range(self.L):
            lw = self.layer_weights(l)
            qkv = []
            for kind in ("q", "k", "v"):
                xin = x[:, :, None, :].repeat(1, 1, H, 1)            # [B,P,H,D] own copy per head
                if retain:
                    xin.retain_grad()
                dests.append(xin)
                h = self.ln(xin, lw["ln1"])
                qkv.append(torch.einsum("bphd,hed->bphe", h, lw["w" + kind]) + lw["b" + kind])
            q, k, v = qkv
            if not self.gpt2:
                q, k = self.rotary(q), self.rotary(k)
            s = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.Dh)
            s = s.masked_fill(~mask, float("-inf")).softmax(-1)
            z = torch.einsum("bhqk,bkhe->bqhe", s, v)
            heads = torch.einsum("bphe,dhe->bphd", z, lw["wo"])    # [B,P,H,D] before the bias
            if override is not None and override[0] == "heads" and override[1] == l:
                heads = override[2]
            attn = heads.sum(2) + lw["bo"]
            outs.extend(heads.unbind(2))
            mid = x if self.parallel else x + attn
            xm = mid.clone()                                        # the MLP's own input copy
            if retain:
                xm.retain_grad()
            dests.append(xm)
            m = F.linear(self.gelu(F.linear(self.ln(xm, lw["ln2"]), lw["w1"], lw["b1"])), lw["w2"], lw["b2"])
            if override is not None and override[0] == "mlp" and override[1] == l:
                m = override[2]
            outs.append(m)
            x = x + attn + m if self.parallel else mid + m
        xl = x.clone()
        if retain:
            xl.retain_grad()
        dests.append(xl)
        if self.gpt2:
            logits = F.linear(self.ln(xl, "ln_f"), self.w["wte.weight"])
        else:
            unembed = self.w.get("embed_out.weight", self.w["gpt_neox.embed_in.weight"])  # tied
            logits = F.linear(self.ln(xl, "gpt_neox.final_layer_norm"), unembed)
        return logits, torch.stack(outs, 2), dests


def metric(args, logits, ref, lengths, labels, incorrect):
    idx = (lengths - 1)[:, None, None].expand(-1, 1, logits.shape[-1])
    last = logits.gather(1, idx).squeeze(1)
    if args.metric == "kl":
        r = ref.gather(1, idx).squeeze(1).log_softmax(-1)
        kl = (r.exp() * (r - last.log_softmax(-1))).sum(-1)
        return kl if args.kl_sum else kl / last.shape[-1]
    return last.gather(1, labels[:, None]).squeeze(1) - last.gather(1, incorrect[:, None]).squeeze(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--method", default="eap_ig", choices=["eap_ig", "eap_ig_activations"])
    ap.add_argument("--metric", default="kl", choices=["kl", "logit_diff"])
    ap.add_argument("--kl-sum", action="store_true")
    ap.add_argument("--endpoint", default="right", choices=["right", "left", "midpoint"])
    ap.add_argument("--paper-weighting", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = Model(args.model)
    data = json.load(open(args.data))
    rows, pad, bs = data["rows"], data["pad_id"], data["batch_size"]
    L, H = model.L, model.H
    nf, nb = 1 + L * (H + 1), L * (3 * H + 1) + 1
    scores = torch.zeros(nf, nb)
    m = args.steps
    alphas = {"right": [(k + 1) / m for k in range(m)], "left": [k / m for k in range(m)],
              "midpoint": [(k + 0.5) / m for k in range(m)]}[args.endpoint]
    start, cpu_start = time.perf_counter(), time.process_time()
    for b0 in range(0, len(rows), bs):
        batch = rows[b0:b0 + bs]
        P = max(len(r["clean"]) for r in batch)
        pad_row = lambda ids: ids + [pad] * (P - len(ids))
        clean = torch.tensor([pad_row(r["clean"]) for r in batch])
        corr = torch.tensor([pad_row(r["corrupted"]) for r in batch])
        lengths = torch.tensor([len(r["clean"]) for r in batch])
        labels = torch.tensor([r["label"] for r in batch])
        incorrect = torch.tensor([r["incorrect"] for r in batch])
        with torch.no_grad():
            e_corr, e_clean = model.embed(corr), model.embed(clean)
            _, out_corr, _ = model.forward(e_corr)
            clean_logits, out_clean, _ = model.forward(e_clean)
            delta = out_corr - out_clean                                      # [B,P,nf,D]
        passes = [(None, a) for a in alphas]                     # EAP-IG inputs: the embedding
        if args.method == "eap_ig_activations":                    # + every head/MLP group
            passes += [((kind, l), a) for l in range(L) for kind in ("heads", "mlp") for a in alphas]
        for group, alpha in passes:
            if group is None:
                e = (e_corr + alpha * (e_clean - e_corr)).requires_grad_(True)
                override = None
            else:
                kind, l = group
                f0 = 1 + l * (H + 1) + (0 if kind == "heads" else H)
                n = H if kind == "heads" else 1
                target = alpha * out_clean[:, :, f0:f0 + n] + (1 - alpha) * out_corr[:, :, f0:f0 + n]
                override = (kind, l, target if kind == "heads" else target[:, :, 0])
                e = e_clean.clone().requires_grad_(True)
            logits, _, dests = model.forward(e, retain=True, override=override)
            loss = metric(args, logits, clean_logits, lengths, labels, incorrect)
            loss = loss.mean() if args.paper_weighting else loss.sum()
            loss.backward()
            with torch.no_grad():
                for l in range(L):
                    prev_h = 1 + l * (H + 1)
                    prev_m = prev_h if model.parallel else prev_h + H
                    for j in range(3):
                        col = l * (3 * H + 1) + j * H
                        g = dests[4 * l + j].grad
                        if g is not None:
                            scores[:prev_h, col:col + H] += torch.einsum("bpfd,bphd->fh", delta[:, :, :prev_h], g)
                    g = dests[4 * l + 3].grad
                    if g is not None:
                        scores[:prev_m, l * (3 * H + 1) + 3 * H] += torch.einsum("bpfd,bpd->f", delta[:, :, :prev_m], g)
                scores[:, nb - 1] += torch.einsum("bpfd,bpd->f", delta, dests[-1].grad)
    scores /= len(rows) * m * (2 * L + 1 if args.method == "eap_ig_activations" else 1)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    with open(args.out, "wb") as f:
        flat = scores.contiguous().view(-1).tolist()
        f.write(struct.pack("<%df" % len(flat), *flat))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "n_forward": nf, "n_backward": nb}))


if __name__ == "__main__":
    sys.exit(main())
