// Fused CPU gate: the operators e3torch_gate::forward and e3torch_gate::backward.
//
// forward(x, tab, scales, d_out) -> y reads every row of x (N, d_in) once and writes every row of y (N, d_out)
// once: the activated scalars (c * f(x), per run of columns sharing one function), then every gated component
// times its activated gate. backward(x, grad, tab, scales) -> grad_x is the vector-Jacobian product, also in one
// pass over the rows (the activations are recomputed with their derivatives, nothing but x is saved).
// double_backward(x, grad, h, tab, scales) -> (dx, dgrad) differentiates <h, backward(x, grad)> (one pass, with the
// activations' second derivatives); e3torch/_kernels/_gate_ops.py calls it when no higher derivative is asked for
// and otherwise writes the same formula in torch ops. The plan (tab, scales) is encoded there too.
//
// The activations are evaluated by this file's own branch-free exp (Cody-Waite reduction, Taylor polynomial:
// float to ~1 ulp, double to ~2 ulp) so the loops over contiguous columns vectorize (`omp simd`) without
// -ffast-math; gelu and softplus use the C library's erf / log1p.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace e3gate {

constexpr int64_t kVersion = 1;
constexpr int64_t kHeader = 8;
enum Code : int64_t { kIdentity = 0, kSilu, kSigmoid, kTanh, kRelu, kGelu, kAbs, kSoftplus, kNumCodes };

#define E3G_INLINE inline __attribute__((always_inline))

template <typename T>
struct Bits;
template <>
struct Bits<float> {
  using I = int32_t;
  static constexpr int kMant = 23, kBias = 127;
  static constexpr float kLo = -87.0f, kHi = 88.0f, kShift = 12582912.0f;  // 1.5 * 2^23
  static constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
};
template <>
struct Bits<double> {
  using I = int64_t;
  static constexpr int kMant = 52, kBias = 1023;
  static constexpr double kLo = -708.0, kHi = 708.0, kShift = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
};

template <typename T>
E3G_INLINE typename Bits<T>::I to_bits(T v) {
  typename Bits<T>::I i;
  std::memcpy(&i, &v, sizeof(T));
  return i;
}
template <typename T>
E3G_INLINE T from_bits(typename Bits<T>::I i) {
  T v;
  std::memcpy(&v, &i, sizeof(T));
  return v;
}

// r = x - k ln 2 with |r| <= ln(2) / 2 and 2^k, for x clamped to the range where 2^k is a normal number.
template <typename T>
E3G_INLINE void reduce(T x, T& r, T& scale) {
  using B = Bits<T>;
  x = x > B::kHi ? B::kHi : x;  // (comparisons keep NaN)
  x = x < B::kLo ? B::kLo : x;
  const T t = std::fma(x, T(1.4426950408889634074), B::kShift);
  const T k = t - B::kShift;
  const typename B::I ki = to_bits(t) - to_bits(B::kShift);
  r = std::fma(k, -B::kLn2Hi, x);  // ln 2 split in a high part (k * hi exact) and the rest
  r = std::fma(k, -B::kLn2Lo, r);
  scale = from_bits<T>((ki + B::kBias) << B::kMant);
}

// expm1(r) - r for |r| <= ln(2) / 2: r^2 (1/2 + r/6 + ...), Taylor to the precision of T.
template <typename T>
E3G_INLINE T expm1_tail(T r) {
  T p;
  if constexpr (std::is_same_v<T, float>) {
    p = T(1.0 / 5040);
    p = std::fma(p, r, T(1.0 / 720));
    p = std::fma(p, r, T(1.0 / 120));
    p = std::fma(p, r, T(1.0 / 24));
    p = std::fma(p, r, T(1.0 / 6));
    p = std::fma(p, r, T(0.5));
  } else {
    p = T(1.0 / 6227020800.0);
    p = std::fma(p, r, T(1.0 / 479001600.0));
    p = std::fma(p, r, T(1.0 / 39916800.0));
    p = std::fma(p, r, T(1.0 / 3628800.0));
    p = std::fma(p, r, T(1.0 / 362880.0));
    p = std::fma(p, r, T(1.0 / 40320.0));
    p = std::fma(p, r, T(1.0 / 5040.0));
    p = std::fma(p, r, T(1.0 / 720.0));
    p = std::fma(p, r, T(1.0 / 120.0));
    p = std::fma(p, r, T(1.0 / 24.0));
    p = std::fma(p, r, T(1.0 / 6.0));
    p = std::fma(p, r, T(0.5));
  }
  return p * r * r;
}

template <typename T>
E3G_INLINE T vexp(T x) {
  T r, s;
  reduce(x, r, s);
  return (T(1) + (r + expm1_tail(r))) * s;
}

// exp(x) - 1, accurate (relative) near 0: 2^k (expm1(r)) + (2^k - 1).
template <typename T>
E3G_INLINE T vexpm1(T x) {
  T r, s;
  reduce(x, r, s);
  const T e = r + expm1_tail(r);
  return std::fma(s, e, s - T(1));
}

template <typename T>
E3G_INLINE T vsigmoid(T x) {
  return T(1) / (T(1) + vexp(-x));
}

template <typename T>
E3G_INLINE T vtanh(T x) {
  const T a = std::fabs(x);
  const T e = vexpm1(T(-2) * a);  // in (-1, 0]
  return std::copysign(-e / (T(2) + e), x);
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

// f(x) and f'(x) of one activation code (softplus: beta 1, threshold 20, as torch's default).
template <int C, typename T>
E3G_INLINE T act(T x) {
  if constexpr (C == kIdentity) return x;
  if constexpr (C == kSilu) return x * vsigmoid(x);
  if constexpr (C == kSigmoid) return vsigmoid(x);
  if constexpr (C == kTanh) return vtanh(x);
  if constexpr (C == kRelu) return x < T(0) ? T(0) : x;
  if constexpr (C == kGelu) return T(0.5) * x * (T(1) + std::erf(x * T(kInvSqrt2)));
  if constexpr (C == kAbs) return std::fabs(x);
  if constexpr (C == kSoftplus) return x > T(20) ? x : std::log1p(vexp(x));
  return x;
}

template <int C, typename T>
E3G_INLINE void act_d(T x, T& f, T& d) {
  if constexpr (C == kIdentity) {
    f = x, d = T(1);
  } else if constexpr (C == kSilu) {
    const T s = vsigmoid(x);
    f = x * s, d = s * (T(1) + x * (T(1) - s));
  } else if constexpr (C == kSigmoid) {
    const T s = vsigmoid(x);
    f = s, d = s * (T(1) - s);
  } else if constexpr (C == kTanh) {
    const T t = vtanh(x);
    f = t, d = T(1) - t * t;
  } else if constexpr (C == kRelu) {
    f = x < T(0) ? T(0) : x, d = x > T(0) ? T(1) : T(0);
  } else if constexpr (C == kGelu) {
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(kInvSqrt2)));
    f = x * cdf, d = cdf + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
  } else if constexpr (C == kAbs) {
    f = std::fabs(x), d = x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  } else if constexpr (C == kSoftplus) {
    const T z = vexp(x);
    f = x > T(20) ? x : std::log1p(z), d = x > T(20) ? T(1) : z / (z + T(1));
  }
}

// f, f' and f''.
template <int C, typename T>
E3G_INLINE void act_d2(T x, T& f, T& d, T& d2) {
  if constexpr (C == kSilu) {
    const T s = vsigmoid(x), q = s * (T(1) - s);
    f = x * s, d = s + x * q, d2 = q * (T(2) + x * (T(1) - T(2) * s));
  } else if constexpr (C == kSigmoid) {
    const T s = vsigmoid(x), q = s * (T(1) - s);
    f = s, d = q, d2 = q * (T(1) - T(2) * s);
  } else if constexpr (C == kTanh) {
    const T t = vtanh(x), q = T(1) - t * t;
    f = t, d = q, d2 = T(-2) * t * q;
  } else if constexpr (C == kGelu) {
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(kInvSqrt2)));
    const T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
    f = x * cdf, d = cdf + x * pdf, d2 = pdf * (T(2) - x * x);
  } else if constexpr (C == kSoftplus) {
    const T z = vexp(x), s = z / (z + T(1));
    f = x > T(20) ? x : std::log1p(z), d = x > T(20) ? T(1) : s, d2 = x > T(20) ? T(0) : s * (T(1) - s);
  } else {  // identity, relu, abs: piecewise linear
    act_d<C>(x, f, d);
    d2 = T(0);
  }
}

// y[j] = c f(x[j]) over a contiguous run.
template <int C, typename T>
void run_f(const T* __restrict x, T* __restrict y, int64_t n, T c) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] = c * act<C>(x[j]);
}

// y[j] = c f(x[j]) and d[j] = c f'(x[j]).
template <int C, typename T>
void run_fd(const T* __restrict x, T* __restrict y, T* __restrict d, int64_t n, T c) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    T f, fd;
    act_d<C>(x[j], f, fd);
    y[j] = c * f;
    d[j] = c * fd;
  }
}

// d[j] = c f'(x[j]) g[j].
template <int C, typename T>
void run_dg(const T* __restrict x, const T* __restrict g, T* __restrict d, int64_t n, T c) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    T f, fd;
    act_d<C>(x[j], f, fd);
    d[j] = c * fd * g[j];
  }
}

// Scalars of the double backward: dg[j] = c f'(x[j]) h[j], dx[j] = c f''(x[j]) g[j] h[j].
template <int C, typename T>
void run_s2(const T* __restrict x, const T* __restrict g, const T* __restrict h, T* __restrict dg,
            T* __restrict dx, int64_t n, T c) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    T f, d, d2;
    act_d2<C>(x[j], f, d, d2);
    dg[j] = c * d * h[j];
    dx[j] = c * d2 * g[j] * h[j];
  }
}

// Gates of the double backward: c f, c f', c f''.
template <int C, typename T>
void run_g2(const T* __restrict x, T* __restrict a, T* __restrict a1, T* __restrict a2, int64_t n, T c) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    T f, d, d2;
    act_d2<C>(x[j], f, d, d2);
    a[j] = c * f, a1[j] = c * d, a2[j] = c * d2;
  }
}

template <typename T>
using RunS2 = void (*)(const T*, const T*, const T*, T*, T*, int64_t, T);
template <typename T>
using RunG2 = void (*)(const T*, T*, T*, T*, int64_t, T);

template <typename T>
RunS2<T> pick_s2(int64_t code) {
  static const RunS2<T> table[kNumCodes] = {run_s2<0, T>, run_s2<1, T>, run_s2<2, T>, run_s2<3, T>,
                                            run_s2<4, T>, run_s2<5, T>, run_s2<6, T>, run_s2<7, T>};
  return table[code];
}

template <typename T>
RunG2<T> pick_g2(int64_t code) {
  static const RunG2<T> table[kNumCodes] = {run_g2<0, T>, run_g2<1, T>, run_g2<2, T>, run_g2<3, T>,
                                            run_g2<4, T>, run_g2<5, T>, run_g2<6, T>, run_g2<7, T>};
  return table[code];
}

template <typename T>
using RunF = void (*)(const T*, T*, int64_t, T);
template <typename T>
using RunFD = void (*)(const T*, T*, T*, int64_t, T);
template <typename T>
using RunDG = void (*)(const T*, const T*, T*, int64_t, T);

template <typename T>
RunF<T> pick_f(int64_t code) {
  static const RunF<T> table[kNumCodes] = {run_f<0, T>, run_f<1, T>, run_f<2, T>, run_f<3, T>,
                                           run_f<4, T>, run_f<5, T>, run_f<6, T>, run_f<7, T>};
  return table[code];
}

template <typename T>
RunDG<T> pick_dg(int64_t code) {
  static const RunDG<T> table[kNumCodes] = {run_dg<0, T>, run_dg<1, T>, run_dg<2, T>, run_dg<3, T>,
                                            run_dg<4, T>, run_dg<5, T>, run_dg<6, T>, run_dg<7, T>};
  return table[code];
}

template <typename T>
RunFD<T> pick_fd(int64_t code) {
  static const RunFD<T> table[kNumCodes] = {run_fd<0, T>, run_fd<1, T>, run_fd<2, T>, run_fd<3, T>,
                                            run_fd<4, T>, run_fd<5, T>, run_fd<6, T>, run_fd<7, T>};
  return table[code];
}

// The plan: header [version, d_in, d_out, n_gates, n_scalar_runs, n_gate_runs, n_spans, n_gated], then
// scalar runs (in, out, len, code), gate runs (in, first gate, len, code), spans of gated components contiguous in
// both the input and the output (in, out, len, first component), and the gate of every gated component.
// scales: one constant per scalar run, then one per gate run.
struct Run {
  int64_t in, out, len, code;
};

struct Plan {
  int64_t d_in, d_out, n_gates, n_gated;
  std::vector<Run> scalars, gates, spans;  // (gate runs: out is the first gate; spans: code is the first component)
  std::vector<int32_t> gate_of;            // per gated component
  std::vector<double> scales;
};

Plan parse(at::IntArrayRef tab, at::ArrayRef<double> scales) {
  TORCH_CHECK(tab.size() >= size_t(kHeader) && tab[0] == kVersion, "e3torch_gate: plan version ",
              tab.empty() ? -1 : tab[0], " does not match the kernel version ", kVersion);
  Plan p;
  p.d_in = tab[1], p.d_out = tab[2], p.n_gates = tab[3], p.n_gated = tab[7];
  const int64_t ns = tab[4], ng = tab[5], nx = tab[6];
  TORCH_CHECK(int64_t(tab.size()) == kHeader + 4 * (ns + ng + nx) + p.n_gated, "e3torch_gate: plan of length ",
              tab.size(), " does not match its header");
  TORCH_CHECK(int64_t(scales.size()) == ns + ng, "e3torch_gate: expected ", ns + ng, " scales, got ",
              scales.size());
  int64_t at = kHeader;
  auto take = [&](int64_t n, std::vector<Run>& v, bool coded) {
    for (int64_t k = 0; k < n; ++k, at += 4) {
      Run r{tab[at], tab[at + 1], tab[at + 2], tab[at + 3]};
      TORCH_CHECK(r.len >= 0 && r.in >= 0 && r.in + r.len <= p.d_in, "e3torch_gate: run outside the input");
      TORCH_CHECK(!coded || (r.code >= 0 && r.code < kNumCodes), "e3torch_gate: unknown activation code ", r.code);
      v.push_back(r);
    }
  };
  take(ns, p.scalars, true);
  take(ng, p.gates, true);
  take(nx, p.spans, false);
  for (const Run& r : p.scalars) TORCH_CHECK(r.out >= 0 && r.out + r.len <= p.d_out, "e3torch_gate: bad run");
  for (const Run& r : p.gates) TORCH_CHECK(r.out >= 0 && r.out + r.len <= p.n_gates, "e3torch_gate: bad gate run");
  for (const Run& r : p.spans)
    TORCH_CHECK(r.out >= 0 && r.out + r.len <= p.d_out && r.code >= 0 && r.code + r.len <= p.n_gated,
                "e3torch_gate: bad span");
  for (int64_t j = 0; j < p.n_gated; ++j, ++at) {
    TORCH_CHECK(tab[at] >= 0 && tab[at] < p.n_gates, "e3torch_gate: gate index out of range");
    p.gate_of.push_back(int32_t(tab[at]));
  }
  p.scales.assign(scales.begin(), scales.end());
  return p;
}

// Rows with unit column stride, read in place; a broadcast (row stride 0, e.g. the gradient of a sum) keeps its
// single row.
at::Tensor rows(const at::Tensor& t) {
  if (t.stride(1) == 1 || t.size(1) <= 1) return t;
  if (t.stride(0) == 0 && t.size(0) > 0) return t.narrow(0, 0, 1).contiguous().expand(t.sizes());
  return t.contiguous();
}

inline int64_t grain(const Plan& p) { return std::max<int64_t>(16, 65536 / std::max<int64_t>(1, p.d_in + p.d_out)); }

template <typename T>
void forward_rows(const Plan& p, const T* x, int64_t ldx, T* y, int64_t ldy, int64_t n) {
  at::parallel_for(0, n, grain(p), [&](int64_t begin, int64_t end) {
    std::vector<T> gbuf(std::max<int64_t>(1, p.n_gates));
    T* __restrict g = gbuf.data();
    const int32_t* __restrict gate_of = p.gate_of.data();
    std::vector<RunF<T>> sf, gf;
    for (const Run& r : p.scalars) sf.push_back(pick_f<T>(r.code));
    for (const Run& r : p.gates) gf.push_back(pick_f<T>(r.code));
    const size_t ns = p.scalars.size();
    for (int64_t i = begin; i < end; ++i) {
      const T* __restrict xi = x + i * ldx;
      T* __restrict yi = y + i * ldy;
      for (size_t k = 0; k < ns; ++k) {
        const Run& r = p.scalars[k];
        sf[k](xi + r.in, yi + r.out, r.len, T(p.scales[k]));
      }
      for (size_t k = 0; k < p.gates.size(); ++k) {
        const Run& r = p.gates[k];
        gf[k](xi + r.in, g + r.out, r.len, T(p.scales[ns + k]));
      }
      for (const Run& s : p.spans) {
        const T* __restrict xs = xi + s.in;
        const int32_t* __restrict idx = gate_of + s.code;
        T* __restrict ys = yi + s.out;
#pragma omp simd
        for (int64_t j = 0; j < s.len; ++j) ys[j] = xs[j] * g[idx[j]];
      }
    }
  });
}

template <typename T>
void backward_rows(const Plan& p, const T* x, int64_t ldx, const T* go, int64_t ldg, T* gx, int64_t ldgx,
                   int64_t n) {
  at::parallel_for(0, n, grain(p), [&](int64_t begin, int64_t end) {
    const int64_t ng = std::max<int64_t>(1, p.n_gates);
    std::vector<T> buf(3 * ng);
    T* __restrict ga = buf.data();       // activated gates
    T* __restrict gd = ga + ng;          // their derivatives (times the constant)
    T* __restrict acc = gd + ng;         // sum over the gated components of grad * x
    const int32_t* __restrict gate_of = p.gate_of.data();
    std::vector<RunDG<T>> sf;
    std::vector<RunFD<T>> gf;
    for (const Run& r : p.scalars) sf.push_back(pick_dg<T>(r.code));
    for (const Run& r : p.gates) gf.push_back(pick_fd<T>(r.code));
    const size_t ns = p.scalars.size();
    for (int64_t i = begin; i < end; ++i) {
      const T* __restrict xi = x + i * ldx;
      const T* __restrict gi = go + i * ldg;
      T* __restrict gxi = gx + i * ldgx;
      for (size_t k = 0; k < ns; ++k) {
        const Run& r = p.scalars[k];
        sf[k](xi + r.in, gi + r.out, gxi + r.in, r.len, T(p.scales[k]));
      }
      for (size_t k = 0; k < p.gates.size(); ++k) {
        const Run& r = p.gates[k];
        gf[k](xi + r.in, ga + r.out, gd + r.out, r.len, T(p.scales[ns + k]));
      }
      for (int64_t k = 0; k < p.n_gates; ++k) acc[k] = T(0);
      for (const Run& s : p.spans) {
        const T* __restrict xs = xi + s.in;
        const T* __restrict gs = gi + s.out;
        const int32_t* __restrict idx = gate_of + s.code;
        T* __restrict gxs = gxi + s.in;
#pragma omp simd
        for (int64_t j = 0; j < s.len; ++j) gxs[j] = gs[j] * ga[idx[j]];
        for (int64_t j = 0; j < s.len; ++j) acc[idx[j]] += gs[j] * xs[j];
      }
      for (const Run& r : p.gates) {
        T* __restrict gxr = gxi + r.in;
#pragma omp simd
        for (int64_t j = 0; j < r.len; ++j) gxr[j] = gd[r.out + j] * acc[r.out + j];
      }
    }
  });
}

// The double backward: the derivatives of <h, backward(x, g)> with respect to x (dx) and g (dg), h of x's shape.
template <typename T>
void double_backward_rows(const Plan& p, const T* x, int64_t ldx, const T* go, int64_t ldg, const T* h,
                          int64_t ldh, T* dx, int64_t lddx, T* dg, int64_t lddg, int64_t n) {
  at::parallel_for(0, n, grain(p), [&](int64_t begin, int64_t end) {
    const int64_t ng = std::max<int64_t>(1, p.n_gates);
    std::vector<T> buf(6 * ng);
    T* __restrict a = buf.data();  // c f, c f', c f'' of the gates
    T* __restrict a1 = a + ng;
    T* __restrict a2 = a1 + ng;
    T* __restrict ha1 = a2 + ng;  // h at the gate, times c f'
    T* __restrict sx = ha1 + ng;  // sum over the gated components of g x
    T* __restrict sh = sx + ng;   // ... and of g h
    const int32_t* __restrict gate_of = p.gate_of.data();
    std::vector<RunS2<T>> sf;
    std::vector<RunG2<T>> gf;
    for (const Run& r : p.scalars) sf.push_back(pick_s2<T>(r.code));
    for (const Run& r : p.gates) gf.push_back(pick_g2<T>(r.code));
    const size_t ns = p.scalars.size();
    for (int64_t i = begin; i < end; ++i) {
      const T* __restrict xi = x + i * ldx;
      const T* __restrict gi = go + i * ldg;
      const T* __restrict hi = h + i * ldh;
      T* __restrict dxi = dx + i * lddx;
      T* __restrict dgi = dg + i * lddg;
      for (size_t k = 0; k < ns; ++k) {
        const Run& r = p.scalars[k];
        sf[k](xi + r.in, gi + r.out, hi + r.in, dgi + r.out, dxi + r.in, r.len, T(p.scales[k]));
      }
      for (size_t k = 0; k < p.gates.size(); ++k) {
        const Run& r = p.gates[k];
        gf[k](xi + r.in, a + r.out, a1 + r.out, a2 + r.out, r.len, T(p.scales[ns + k]));
        for (int64_t j = 0; j < r.len; ++j) ha1[r.out + j] = hi[r.in + j] * a1[r.out + j];
      }
      for (int64_t k = 0; k < p.n_gates; ++k) sx[k] = T(0), sh[k] = T(0);
      for (const Run& s : p.spans) {
        const T* __restrict xs = xi + s.in;
        const T* __restrict gs = gi + s.out;
        const T* __restrict hs = hi + s.in;
        const int32_t* __restrict idx = gate_of + s.code;
        T* __restrict dxs = dxi + s.in;
        T* __restrict dgs = dgi + s.out;
#pragma omp simd
        for (int64_t j = 0; j < s.len; ++j) {
          const T q = ha1[idx[j]];
          dgs[j] = q * xs[j] + hs[j] * a[idx[j]];
          dxs[j] = q * gs[j];
        }
        for (int64_t j = 0; j < s.len; ++j) {
          sx[idx[j]] += gs[j] * xs[j];
          sh[idx[j]] += gs[j] * hs[j];
        }
      }
      for (const Run& r : p.gates) {
        T* __restrict dxr = dxi + r.in;
        const T* __restrict hr = hi + r.in;
#pragma omp simd
        for (int64_t j = 0; j < r.len; ++j) {
          const int64_t k = r.out + j;
          dxr[j] = a2[k] * hr[j] * sx[k] + a1[k] * sh[k];
        }
      }
    }
  });
}

// Fresh large outputs are first touched here; transparent huge pages (a hint, where THP is in "madvise" mode) make
// the first touch cheaper.
inline void advise_huge_pages(const at::Tensor& t) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(1) << 21;
  const size_t bytes = t.numel() * t.element_size();
  if (bytes < 4 * kHuge) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(t.data_ptr()) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(t.data_ptr()) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

void check_input(const at::Tensor& t, const char* name, int64_t dim) {
  TORCH_CHECK(t.device().is_cpu(), "e3torch_gate: expected ", name, " on the CPU, got ", t.device());
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, "e3torch_gate: expected ", name,
              " of dtype float32 or float64, got ", t.scalar_type());
  TORCH_CHECK(t.dim() == 2 && t.size(1) == dim, "e3torch_gate: expected ", name, " of shape (N, ", dim, "), got ",
              t.sizes());
}

at::Tensor forward(const at::Tensor& x_in, at::IntArrayRef tab, at::ArrayRef<double> scales, int64_t d_out) {
  const Plan p = parse(tab, scales);
  TORCH_CHECK(d_out == p.d_out, "e3torch_gate::forward: d_out ", d_out, " does not match the plan's ", p.d_out);
  check_input(x_in, "x", p.d_in);
  const at::Tensor x = rows(x_in);
  const int64_t n = x.size(0);
  at::Tensor y = at::empty({n, p.d_out}, x.options().memory_format(at::MemoryFormat::Contiguous));
  if (n == 0 || p.d_out == 0) return y;
  advise_huge_pages(y);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_gate::forward", [&] {
    forward_rows<scalar_t>(p, x.const_data_ptr<scalar_t>(), x.stride(0), y.data_ptr<scalar_t>(), y.stride(0), n);
  });
  return y;
}

at::Tensor backward(const at::Tensor& x_in, const at::Tensor& grad_in, at::IntArrayRef tab,
                    at::ArrayRef<double> scales) {
  const Plan p = parse(tab, scales);
  check_input(x_in, "x", p.d_in);
  check_input(grad_in, "grad", p.d_out);
  TORCH_CHECK(grad_in.scalar_type() == x_in.scalar_type(), "e3torch_gate::backward: expected grad of dtype ",
              x_in.scalar_type(), ", got ", grad_in.scalar_type());
  TORCH_CHECK(grad_in.size(0) == x_in.size(0), "e3torch_gate::backward: expected grad with ", x_in.size(0),
              " rows, got ", grad_in.size(0));
  const at::Tensor x = rows(x_in), go = rows(grad_in);
  const int64_t n = x.size(0);
  at::Tensor gx = at::empty({n, p.d_in}, x.options().memory_format(at::MemoryFormat::Contiguous));
  if (n == 0 || p.d_in == 0) return gx;
  advise_huge_pages(gx);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_gate::backward", [&] {
    backward_rows<scalar_t>(p, x.const_data_ptr<scalar_t>(), x.stride(0), go.const_data_ptr<scalar_t>(), go.stride(0), gx.data_ptr<scalar_t>(), gx.stride(0), n);
  });
  return gx;
}

std::tuple<at::Tensor, at::Tensor> double_backward(const at::Tensor& x_in, const at::Tensor& grad_in,
                                                   const at::Tensor& h_in, at::IntArrayRef tab,
                                                   at::ArrayRef<double> scales) {
  const Plan p = parse(tab, scales);
  check_input(x_in, "x", p.d_in);
  check_input(grad_in, "grad", p.d_out);
  check_input(h_in, "h", p.d_in);
  TORCH_CHECK(grad_in.scalar_type() == x_in.scalar_type() && h_in.scalar_type() == x_in.scalar_type(),
              "e3torch_gate::double_backward: expected grad and h of dtype ", x_in.scalar_type(), ", got ",
              grad_in.scalar_type(), " and ", h_in.scalar_type());
  TORCH_CHECK(grad_in.size(0) == x_in.size(0) && h_in.size(0) == x_in.size(0),
              "e3torch_gate::double_backward: expected grad and h with ", x_in.size(0), " rows, got ",
              grad_in.size(0), " and ", h_in.size(0));
  const at::Tensor x = rows(x_in), go = rows(grad_in), h = rows(h_in);
  const int64_t n = x.size(0);
  const auto options = x.options().memory_format(at::MemoryFormat::Contiguous);
  at::Tensor dx = at::empty({n, p.d_in}, options), dg = at::empty({n, p.d_out}, options);
  if (n == 0 || p.d_in == 0) return {dx, dg};
  advise_huge_pages(dx);
  advise_huge_pages(dg);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "e3torch_gate::double_backward", [&] {
    double_backward_rows<scalar_t>(p, x.const_data_ptr<scalar_t>(), x.stride(0), go.const_data_ptr<scalar_t>(),
                                   go.stride(0), h.const_data_ptr<scalar_t>(), h.stride(0),
                                   dx.data_ptr<scalar_t>(), dx.stride(0), dg.data_ptr<scalar_t>(), dg.stride(0), n);
  });
  return {dx, dg};
}

}  // namespace e3gate

TORCH_LIBRARY(e3torch_gate, m) {
  m.def("forward(Tensor x, int[] tab, float[] scales, int d_out) -> Tensor");
  m.def("backward(Tensor x, Tensor grad, int[] tab, float[] scales) -> Tensor");
  m.def("double_backward(Tensor x, Tensor grad, Tensor h, int[] tab, float[] scales) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(e3torch_gate, CPU, m) {
  m.impl("forward", &e3gate::forward);
  m.impl("backward", &e3gate::backward);
  m.impl("double_backward", &e3gate::double_backward);
}
