#include "disco/model/weights.h"

#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <fstream>

namespace disco::model {
namespace {

constexpr uint32_t kMagic = 0x57435344;  // "DSCW"
constexpr uint32_t kVersion = 1;

void check_matrix(const Matrix& m, int rows, int cols, const char* name) {
  if (m.rows != rows || m.cols != cols || m.data.size() != size_t(rows) * size_t(cols))
    throw TrainError(std::string("model weights: ") + name + " has shape [" + std::to_string(m.rows) +
                     ", " + std::to_string(m.cols) + "], expected [" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "]");
  for (float v : m.data)
    if (!std::isfinite(v)) throw TrainError(std::string("model weights: ") + name + " contains NaN/inf (diverged model)");
}

void check_vec(const std::vector<float>& v, size_t n, const char* name) {
  if (v.size() != n)
    throw TrainError(std::string("model weights: ") + name + " has " + std::to_string(v.size()) +
                     " values, expected " + std::to_string(n));
  for (float x : v)
    if (!std::isfinite(x)) throw TrainError(std::string("model weights: ") + name + " contains NaN/inf (diverged model)");
}

template <class T>
void put(std::ofstream& o, const T& v) { o.write(reinterpret_cast<const char*>(&v), sizeof(T)); }
template <class T>
void get(std::ifstream& in, T& v, const std::string& path) {
  if (!in.read(reinterpret_cast<char*>(&v), sizeof(T))) throw TrainError(path + ": truncated model file");
}
void put_floats(std::ofstream& o, const std::vector<float>& v) {
  put(o, uint64_t(v.size()));
  o.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
}
void get_floats(std::ifstream& in, std::vector<float>& v, const std::string& path) {
  uint64_t n = 0;
  get(in, n, path);
  if (n > (uint64_t(1) << 34)) throw TrainError(path + ": corrupt model file (tensor too large)");
  v.resize(n);
  if (!in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(float))))
    throw TrainError(path + ": truncated model file");
}
void put_m(std::ofstream& o, const Matrix& m) {
  put(o, int32_t(m.rows));
  put(o, int32_t(m.cols));
  put_floats(o, m.data);
}
void get_m(std::ifstream& in, Matrix& m, const std::string& path) {
  int32_t r = 0, c = 0;
  get(in, r, path);
  get(in, c, path);
  m.rows = r;
  m.cols = c;
  get_floats(in, m.data, path);
  if (r < 0 || c < 0 || m.data.size() != size_t(r) * size_t(c)) throw TrainError(path + ": corrupt model file (shape)");
}

}  // namespace

float sigmoidf(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

void ModelWeights::validate() const {
  const auto& D = dims;
  const int d = D.emb_dim, h = D.hidden;
  if (D.n_items < 1) throw TrainError("model weights: empty catalog");
  check_matrix(item_emb, D.n_items, d, "item_emb");
  check_matrix(type_emb, D.num_types, d, "type_emb");
  if (D.price_buckets > 0) check_matrix(price_emb, D.price_buckets, d, "price_emb");
  if (D.gap_buckets > 0) check_matrix(gap_emb, D.gap_buckets, d, "gap_emb");
  if (int(w_ih.size()) != D.layers || int(w_hh.size()) != D.layers || int(b.size()) != D.layers)
    throw TrainError("model weights: layer count mismatch");
  for (int l = 0; l < D.layers; ++l) {
    check_matrix(w_ih[size_t(l)], 4 * h, l == 0 ? d : h, "lstm_w_ih");
    check_matrix(w_hh[size_t(l)], 4 * h, h, "lstm_w_hh");
    check_vec(b[size_t(l)], size_t(4 * h), "lstm_b");
  }
  check_matrix(out_proj, d, h, "out_proj");
  check_vec(out_bias, size_t(d), "out_bias");
  check_vec(prop_w, size_t(h), "prop_w");
  if (!std::isfinite(prop_b)) throw TrainError("model weights: prop_b is NaN/inf (diverged model)");
}

void ModelWeights::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o) throw TrainError(path + ": cannot write model file");
    put(o, kMagic);
    put(o, kVersion);
    const int32_t dv[7] = {dims.n_items, dims.emb_dim, dims.hidden, dims.layers, dims.num_types,
                           dims.price_buckets, dims.gap_buckets};
    for (int32_t x : dv) put(o, x);
    put_m(o, item_emb);
    put_m(o, type_emb);
    put_m(o, price_emb);
    put_m(o, gap_emb);
    for (int l = 0; l < dims.layers; ++l) {
      put_m(o, w_ih[size_t(l)]);
      put_m(o, w_hh[size_t(l)]);
      put_floats(o, b[size_t(l)]);
    }
    put_m(o, out_proj);
    put_floats(o, out_bias);
    put_floats(o, prop_w);
    put(o, prop_b);
    if (!o.flush()) throw TrainError(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw TrainError(path + ": cannot rename " + tmp);
}

ModelWeights ModelWeights::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TrainError(path + ": cannot open model file (train first: disco-train train ...)");
  uint32_t magic = 0, version = 0;
  get(in, magic, path);
  get(in, version, path);
  if (magic != kMagic) throw TrainError(path + ": not a disco model file (bad magic)");
  if (version != kVersion) throw TrainError(path + ": unsupported model file version " + std::to_string(version));
  ModelWeights w;
  int32_t dv[7];
  for (int32_t& x : dv) get(in, x, path);
  w.dims = {dv[0], dv[1], dv[2], dv[3], dv[4], dv[5], dv[6]};
  if (w.dims.layers < 1 || w.dims.layers > 8) throw TrainError(path + ": corrupt model file (layers)");
  get_m(in, w.item_emb, path);
  get_m(in, w.type_emb, path);
  get_m(in, w.price_emb, path);
  get_m(in, w.gap_emb, path);
  w.w_ih.resize(size_t(w.dims.layers));
  w.w_hh.resize(size_t(w.dims.layers));
  w.b.resize(size_t(w.dims.layers));
  for (int l = 0; l < w.dims.layers; ++l) {
    get_m(in, w.w_ih[size_t(l)], path);
    get_m(in, w.w_hh[size_t(l)], path);
    get_floats(in, w.b[size_t(l)], path);
  }
  get_m(in, w.out_proj, path);
  get_floats(in, w.out_bias, path);
  get_floats(in, w.prop_w, path);
  get(in, w.prop_b, path);
  w.validate();
  return w;
}

FloatSession::FloatSession(const ModelWeights& w) : w_(w) { reset(); }

void FloatSession::reset() {
  const size_t L = size_t(w_.dims.layers), h = size_t(w_.dims.hidden);
  h_.assign(L, std::vector<float>(h, 0.f));
  c_.assign(L, std::vector<float>(h, 0.f));
  x_.assign(size_t(w_.dims.emb_dim), 0.f);
  z_.assign(4 * h, 0.f);
  steps_ = 0;
}

void FloatSession::observe(int item, int type, int pbucket, int gbucket) {
  const int d = w_.dims.emb_dim, h = w_.dims.hidden;
  const float* e = w_.item_emb.row(item);
  const float* ty = w_.type_emb.row(type);
  for (int k = 0; k < d; ++k) x_[size_t(k)] = e[k] + ty[k];
  if (w_.dims.price_buckets > 0) {
    const float* p = w_.price_emb.row(pbucket);
    for (int k = 0; k < d; ++k) x_[size_t(k)] += p[k];
  }
  if (w_.dims.gap_buckets > 0) {
    const float* g = w_.gap_emb.row(gbucket);
    for (int k = 0; k < d; ++k) x_[size_t(k)] += g[k];
  }
  std::vector<float> in = x_;
  for (int l = 0; l < w_.dims.layers; ++l) {
    const Matrix& Wi = w_.w_ih[size_t(l)];
    const Matrix& Wh = w_.w_hh[size_t(l)];
    const std::vector<float>& bb = w_.b[size_t(l)];
    std::vector<float>& hv = h_[size_t(l)];
    std::vector<float>& cv = c_[size_t(l)];
    for (int r = 0; r < 4 * h; ++r) {
      float acc = bb[size_t(r)];
      const float* wi = Wi.row(r);
      for (int k = 0; k < Wi.cols; ++k) acc += wi[k] * in[size_t(k)];
      const float* wh = Wh.row(r);
      for (int k = 0; k < h; ++k) acc += wh[k] * hv[size_t(k)];
      z_[size_t(r)] = acc;
    }
    for (int k = 0; k < h; ++k) {
      const float ig = sigmoidf(z_[size_t(k)]);
      const float fg = sigmoidf(z_[size_t(h + k)]);
      const float gg = std::tanh(z_[size_t(2 * h + k)]);
      const float og = sigmoidf(z_[size_t(3 * h + k)]);
      cv[size_t(k)] = fg * cv[size_t(k)] + ig * gg;
      hv[size_t(k)] = og * std::tanh(cv[size_t(k)]);
    }
    in = hv;
  }
  ++steps_;
}

void FloatSession::user_vector(float* u) const {
  const int d = w_.dims.emb_dim, h = w_.dims.hidden;
  const std::vector<float>& hv = h_.back();
  for (int r = 0; r < d; ++r) {
    float acc = w_.out_bias[size_t(r)];
    const float* wr = w_.out_proj.row(r);
    for (int k = 0; k < h; ++k) acc += wr[k] * hv[size_t(k)];
    u[r] = acc;
  }
}

void FloatSession::score_all(float* scores) const {
  const int d = w_.dims.emb_dim, n = w_.dims.n_items;
  std::vector<float> u(static_cast<size_t>(d));
  user_vector(u.data());
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> E(
      w_.item_emb.data.data(), n, d);
  Eigen::Map<const Eigen::VectorXf> uv(u.data(), d);
  Eigen::Map<Eigen::VectorXf> s(scores, n);
  s.noalias() = E * uv;
}

float FloatSession::propensity() const {
  const std::vector<float>& hv = h_.back();
  float acc = w_.prop_b;
  for (size_t k = 0; k < hv.size(); ++k) acc += w_.prop_w[k] * hv[k];
  return sigmoidf(acc);
}

}  // namespace disco::model
