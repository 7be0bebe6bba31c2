"""Exports the float LSTM step + top-10 scoring (the network disco runs in int8) to ONNX, with the
weights bench/wasm/peers.mjs generated, so onnxruntime-web runs the same model as tfjs.
usage: python3 export_onnx.py WEIGHTS.f32 OUT.onnx N_ITEMS D H   (needs Debian's python3-torch)"""
import sys

import numpy as np
import torch

weights, out, n, d, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
w = np.fromfile(weights, dtype=np.float32)
sizes = [("item_emb", (n, d)), ("type_emb", (5, d)), ("w_ih", (4 * h, d)), ("w_hh", (4 * h, h)),
         ("b", (4 * h,)), ("out_proj", (d, h)), ("out_bias", (d,))]
p, off = {}, 0
for name, shape in sizes:
    cnt = int(np.prod(shape))
    p[name] = torch.from_numpy(w[off:off + cnt].reshape(shape).copy())
    off += cnt
assert off == w.size, f"weights file has {w.size} floats, expected {off}"


class Step(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.item_emb = torch.nn.Parameter(p["item_emb"])
        self.type_emb = torch.nn.Parameter(p["type_emb"])
        self.cell = torch.nn.LSTMCell(d, h)  # gate order i, f, g, o, as disco
        with torch.no_grad():
            self.cell.weight_ih.copy_(p["w_ih"])
            self.cell.weight_hh.copy_(p["w_hh"])
            self.cell.bias_ih.copy_(p["b"])
            self.cell.bias_hh.zero_()
        self.proj = torch.nn.Linear(h, d)
        with torch.no_grad():
            self.proj.weight.copy_(p["out_proj"])
            self.proj.bias.copy_(p["out_bias"])

    def forward(self, item, typ, h0, c0):
        x = self.item_emb[item] + self.type_emb[typ]
        h1, c1 = self.cell(x, (h0, c0))
        q = self.proj(h1)
        scores = torch.matmul(self.item_emb, q.t()).reshape(-1)
        v, i = torch.topk(scores, 10)
        return h1, c1, v, i


m = Step().eval()
args = (torch.tensor([3]), torch.tensor([0]), torch.zeros(1, h), torch.zeros(1, h))
torch.onnx.export(m, args, out, input_names=["item", "type", "h", "c"],
                  output_names=["h_out", "c_out", "top_values", "top_items"], opset_version=13)
print(f"wrote {out}")
