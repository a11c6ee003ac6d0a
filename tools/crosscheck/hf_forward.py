#!/usr/bin/env python3
"""Independent reference forward for fc_model's cross-check test.

For every model directory given, reads config.json, model.safetensors (with the tiny reader
below, not our C++ code) and ids.json ({"ids": [[...], ...]}), runs a GPT-NeoX or GPT-2 forward
written here in plain PyTorch after HuggingFace's modeling_gpt_neox.py / modeling_gpt2.py
conventions, and writes logits.f32 (raw little-endian float32, [B, P, V] row-major) into the
same directory. Needs only python3 and torch (Debian python3-torch); no transformers.

usage: hf_forward.py MODEL_DIR [MODEL_DIR ...]
Exit status 77 when torch cannot be imported.
"""
import array
import json
import math
import struct
import sys

try:
    import torch
except ImportError:  # the C++ test then tries the next python or skips
    sys.exit(77)

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).to(torch.float32)
    return out


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def causal_softmax_attention(q, k, v):
    # q, k, v: [B, H, P, Dh]
    p = q.shape[-2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.tril(torch.ones(p, p, dtype=torch.bool))
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(scores, dim=-1) @ v


def neox_forward(cfg, w, ids):
    d = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    dh = d // nh
    rd = int(dh * cfg["rotary_pct"])
    base = cfg.get("rotary_emb_base", cfg.get("rope_theta", 10000))
    eps = cfg["layer_norm_eps"]
    parallel = cfg.get("use_parallel_residual", True)
    act = cfg["hidden_act"]
    bsz, p = ids.shape
    inv_freq = 1.0 / (base ** (torch.arange(0, rd, 2).float() / rd))
    freqs = torch.outer(torch.arange(p).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]  # [1,1,P,rd]

    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def rope(x):  # [B,H,P,Dh]
        xr, xp = x[..., :rd], x[..., rd:]
        return torch.cat((xr * cos + rotate_half(xr) * sin, xp), dim=-1)

    def gelu(x):
        return torch.nn.functional.gelu(x) if act == "gelu" else \
            torch.nn.functional.gelu(x, approximate="tanh")

    h = w["gpt_neox.embed_in.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        pre = f"gpt_neox.layers.{i}."
        ln1 = layer_norm(h, w[pre + "input_layernorm.weight"], w[pre + "input_layernorm.bias"], eps)
        qkv = ln1 @ w[pre + "attention.query_key_value.weight"].T + w[pre + "attention.query_key_value.bias"]
        qkv = qkv.view(bsz, p, nh, 3 * dh).permute(0, 2, 1, 3)  # [B,H,P,3Dh]
        q, k, v = qkv[..., :dh], qkv[..., dh:2 * dh], qkv[..., 2 * dh:]
        z = causal_softmax_attention(rope(q), rope(k), v)
        z = z.permute(0, 2, 1, 3).reshape(bsz, p, d)
        attn = z @ w[pre + "attention.dense.weight"].T + w[pre + "attention.dense.bias"]

        def mlp(x):
            ln2 = layer_norm(x, w[pre + "post_attention_layernorm.weight"],
                             w[pre + "post_attention_layernorm.bias"], eps)
            a = gelu(ln2 @ w[pre + "mlp.dense_h_to_4h.weight"].T + w[pre + "mlp.dense_h_to_4h.bias"])
            return a @ w[pre + "mlp.dense_4h_to_h.weight"].T + w[pre + "mlp.dense_4h_to_h.bias"]

        if parallel:
            h = h + attn + mlp(h)
        else:
            h = h + attn
            h = h + mlp(h)
    h = layer_norm(h, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps)
    unembed = w["gpt_neox.embed_in.weight"] if cfg.get("tie_word_embeddings") else w["embed_out.weight"]
    return h @ unembed.T


def gpt2_forward(cfg, w, ids):
    w = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in w.items()}
    d = cfg["n_embd"]
    nh = cfg["n_head"]
    dh = d // nh
    eps = cfg["layer_norm_epsilon"]
    bsz, p = ids.shape

    def conv1d(x, name):  # HF Conv1D: weight [in, out]
        return x @ w[name + ".weight"] + w[name + ".bias"]

    h = w["wte.weight"][ids] + w["wpe.weight"][:p][None]
    for i in range(cfg["n_layer"]):
        pre = f"h.{i}."
        a = layer_norm(h, w[pre + "ln_1.weight"], w[pre + "ln_1.bias"], eps)
        q, k, v = conv1d(a, pre + "attn.c_attn").split(d, dim=2)
        split = lambda t: t.view(bsz, p, nh, dh).permute(0, 2, 1, 3)
        z = causal_softmax_attention(split(q), split(k), split(v))
        z = z.permute(0, 2, 1, 3).reshape(bsz, p, d)
        h = h + conv1d(z, pre + "attn.c_proj")
        m = layer_norm(h, w[pre + "ln_2.weight"], w[pre + "ln_2.bias"], eps)
        m = torch.nn.functional.gelu(conv1d(m, pre + "mlp.c_fc"), approximate="tanh")
        h = h + conv1d(m, pre + "mlp.c_proj")
    h = layer_norm(h, w["ln_f.weight"], w["ln_f.bias"], eps)
    return h @ w["wte.weight"].T


def main(dirs):
    torch.set_grad_enabled(False)
    for d in dirs:
        with open(f"{d}/config.json") as f:
            cfg = json.load(f)
        with open(f"{d}/ids.json") as f:
            ids = torch.tensor(json.load(f)["ids"], dtype=torch.int64)
        weights = read_safetensors(f"{d}/model.safetensors")
        if cfg["model_type"] == "gpt_neox":
            logits = neox_forward(cfg, weights, ids)
        elif cfg["model_type"] == "gpt2":
            logits = gpt2_forward(cfg, weights, ids)
        else:
            raise SystemExit(f"{d}/config.json: unsupported model_type {cfg['model_type']}")
        flat = logits.contiguous().to(torch.float32).flatten().tolist()
        with open(f"{d}/logits.f32", "wb") as f:
            f.write(array.array("f", flat).tobytes())


if __name__ == "__main__":
    main(sys.argv[1:])
