"""PyTorch peer for bench/train.bench.ts: the same MLP, batch size, optimizer, clipping and loss as
the train function's measured case, on one CPU thread. Prints one JSON object.

MLP in→hidden…→out with ReLU and dropout after every hidden layer; class-weighted cross-entropy
(reduction Σ w_y·nll / Σ w_y); AdamW with decoupled weight decay on kernels only (not biases);
global-norm clipping; a random permutation per epoch; a validation pass after every epoch.
The first epoch is warm-up and not timed. Usage: train_torch.py '<json options>'.
"""
import json
import sys
import time

import torch

opts = {"samples": 16000, "validation": 512, "epochs": 3, "batch": 32, "sizes": [6, 64, 32, 3], "dropout": 0.2, "lr": 1e-3, "weight_decay": 1e-4, "clip": 1.0, "seed": 1}
opts.update(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
torch.set_num_threads(1)
torch.manual_seed(opts["seed"])

sizes = opts["sizes"]
n, cols = opts["samples"], sizes[0]
x = torch.rand(n + opts["validation"], cols) * 2 - 1
y = torch.where(x[:, 0] > 0.3, 0, torch.where(x[:, 0] < -0.3, 2, 1))
xt, yt, xv, yv = x[:n], y[:n], x[n:], y[n:]

layers = []
for i in range(len(sizes) - 2):
    layers += [torch.nn.Linear(sizes[i], sizes[i + 1]), torch.nn.ReLU(), torch.nn.Dropout(opts["dropout"])]
layers.append(torch.nn.Linear(sizes[-2], sizes[-1]))
model = torch.nn.Sequential(*layers)

counts = torch.bincount(yt, minlength=sizes[-1]).float()
w = torch.where(counts > 0, 1 / counts, torch.zeros_like(counts))
w = w * sizes[-1] / w.sum()
loss_fn = torch.nn.CrossEntropyLoss(weight=w)
kernels = [p for p in model.parameters() if p.dim() >= 2]
biases = [p for p in model.parameters() if p.dim() < 2]
optimizer = torch.optim.AdamW([{"params": kernels, "weight_decay": opts["weight_decay"]}, {"params": biases, "weight_decay": 0.0}], lr=opts["lr"], betas=(0.9, 0.999), eps=1e-8)

durations = []
for epoch in range(opts["epochs"]):
    started = time.perf_counter()
    model.train()
    order = torch.randperm(n)
    loss_sum, correct = 0.0, 0
    for b in range(0, n, opts["batch"]):
        idx = order[b:b + opts["batch"]]
        xb, yb = xt[idx], yt[idx]
        optimizer.zero_grad()
        out = model(xb)
        loss = loss_fn(out, yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), opts["clip"])
        optimizer.step()
        loss_sum += loss.item() * len(idx)
        correct += (out.argmax(1) == yb).sum().item()
    model.eval()
    with torch.no_grad():
        val = loss_fn(model(xv), yv).item()
    durations.append(time.perf_counter() - started)

timed = durations[1:]
print(json.dumps({"samples_per_second": n * len(timed) / sum(timed), "epochs": len(timed), "durations": durations, "torch": torch.__version__, "threads": torch.get_num_threads(), "val_loss": val}))
