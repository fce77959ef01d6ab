// Fused CPU kernel of a sparse multilinear map (e3torch.math.sparse_multilinear).
//
// Inputs z_1 .. z_q, each (n_s, R) with the R columns (samples) innermost, and a table of E terms give
//     y[o_e, r] += c_e * z_1[i_e1, r] * z_2[i_e2, r] * ... * z_q[i_eq, r]      for every term e and column r,
// an output y (n_out, R). The table is (E, q + 2) int64 rows (o, i_1, .., i_q, bits of c as a float64), so that
// .to(dtype) leaves it exact. MACE's symmetric contraction is one such map (q = correlation + 1: the weights and
// `correlation` copies of the features), and so is every derivative of one: the gradient of input s is the map
// with the roles of the output and of slot s exchanged. The operator therefore reads its table through column
// orders `perms` (groups of q + 1 columns: the output's, then each input's; empty means the identity), and sums
// over the groups, so that a gradient, or the gradients of several slots holding one tensor, is one call on the
// same table. The Python side (_multilinear_ops.py) registers the autograd formula and the fake implementation.
//
// Execution: the columns are cut into blocks of RB; each thread owns whole blocks, so the output rows of a block
// stay in cache while every term is applied to them, and no two threads write the same element. Inside a block a
// term is one fixed-length loop (the compiler vectorises it), with the slot count q a template parameter.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace e3ml {

constexpr int64_t RB = 64;  // columns per block
constexpr int64_t MAX_SLOTS = 8;

template <typename T, int Q, int64_t N>
inline void apply_term(T c, const T* const* p, T* y) {
#pragma omp simd
  for (int64_t j = 0; j < N; ++j) {
    T t = c;
    for (int s = 0; s < Q; ++s) t *= p[s][j];
    y[j] += t;
  }
}

template <typename T, int Q>
inline void apply_term_tail(T c, const T* const* p, T* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    T t = c;
    for (int s = 0; s < Q; ++s) t *= p[s][j];
    y[j] += t;
  }
}

// One pass of the terms per column block, for each reading of the table: perms holds, per reading, the table
// column of the output row and of each input's row (the identity for the map itself; the gradients read the same
// table with the output and one slot exchanged).
template <typename T, int Q>
void run(const std::vector<const T*>& z, const int64_t* tab, int64_t width, const std::vector<T>& coef, int64_t E,
         const std::vector<int64_t>& perms, T* y, int64_t R) {
  const int64_t blocks = (R + RB - 1) / RB;
  const int64_t readings = int64_t(perms.size()) / (Q + 1);
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    const T* p[Q > 0 ? Q : 1];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * RB, n = std::min(RB, R - r0);
      for (int64_t g = 0; g < readings; ++g) {
        const int64_t* col = perms.data() + g * (Q + 1);
        for (int64_t e = 0; e < E; ++e) {
          const int64_t* row = tab + e * width;
          for (int s = 0; s < Q; ++s) p[s] = z[s] + row[col[1 + s]] * R + r0;
          T* out = y + row[col[0]] * R + r0;
          if (n == RB)
            apply_term<T, Q, RB>(coef[e], p, out);
          else
            apply_term_tail<T, Q>(coef[e], p, out, n);
        }
      }
    }
  });
}

template <typename T>
void dispatch_slots(int64_t q, const std::vector<const T*>& z, const int64_t* tab, int64_t width,
                    const std::vector<T>& coef, int64_t E, const std::vector<int64_t>& perms, T* y, int64_t R) {
  switch (q) {
    case 1: return run<T, 1>(z, tab, width, coef, E, perms, y, R);
    case 2: return run<T, 2>(z, tab, width, coef, E, perms, y, R);
    case 3: return run<T, 3>(z, tab, width, coef, E, perms, y, R);
    case 4: return run<T, 4>(z, tab, width, coef, E, perms, y, R);
    case 5: return run<T, 5>(z, tab, width, coef, E, perms, y, R);
    case 6: return run<T, 6>(z, tab, width, coef, E, perms, y, R);
    case 7: return run<T, 7>(z, tab, width, coef, E, perms, y, R);
    case 8: return run<T, 8>(z, tab, width, coef, E, perms, y, R);
    default: TORCH_CHECK(false, "sparse_multilinear: expected 1 to ", MAX_SLOTS, " inputs, got ", q);
  }
}

at::Tensor forward(at::TensorList z, const at::Tensor& tab, int64_t n_out, at::IntArrayRef perms) {
  const int64_t q = int64_t(z.size());
  TORCH_CHECK(q >= 1 && q <= MAX_SLOTS, "sparse_multilinear: expected 1 to ", MAX_SLOTS, " inputs, got ", q);
  TORCH_CHECK(tab.dim() == 2 && tab.size(1) == q + 2 && tab.scalar_type() == at::kLong && tab.device().is_cpu(),
              "sparse_multilinear: expected an int64 CPU table of shape (E, ", q + 2, ") for ", q,
              " inputs, got ", tab.scalar_type(), " of shape ", tab.sizes());
  TORCH_CHECK(n_out >= 0, "sparse_multilinear: expected a non-negative output size, got ", n_out);
  std::vector<int64_t> cols(perms.begin(), perms.end());
  if (cols.empty())
    for (int64_t j = 0; j <= q; ++j) cols.push_back(j);
  TORCH_CHECK(int64_t(cols.size()) % (q + 1) == 0, "sparse_multilinear: expected the column orders to come in ",
              "groups of ", q + 1, ", got ", cols.size(), " entries");
  for (int64_t c : cols)
    TORCH_CHECK(c >= 0 && c <= q, "sparse_multilinear: expected table columns 0..", q, ", got ", c);
  const auto dtype = z[0].scalar_type();
  const int64_t R = z[0].dim() == 2 ? z[0].size(1) : -1;
  std::vector<at::Tensor> zc;
  std::vector<int64_t> rows;
  for (int64_t s = 0; s < q; ++s) {
    TORCH_CHECK(z[s].dim() == 2 && z[s].size(1) == R && z[s].scalar_type() == dtype && z[s].device().is_cpu(),
                "sparse_multilinear: expected every input to be a 2-D CPU ", dtype, " tensor with ", R,
                " columns, got input ", s, ": ", z[s].scalar_type(), " of shape ", z[s].sizes(), " on ",
                z[s].device());
    zc.push_back(z[s].contiguous());
    rows.push_back(z[s].size(0));
  }
  const at::Tensor t = tab.contiguous();
  const int64_t E = t.size(0), width = q + 2;
  const int64_t* tp = t.data_ptr<int64_t>();
  for (size_t g = 0; g < cols.size(); g += size_t(q + 1)) {  // a bad row would read or write out of bounds
    for (int64_t e = 0; e < E; ++e) {
      const int64_t* row = tp + e * width;
      const int64_t o = row[cols[g]];
      TORCH_CHECK(o >= 0 && o < n_out, "sparse_multilinear: table row ", e, " writes output row ", o,
                  ", expected 0 <= row < ", n_out);
      for (int64_t s = 0; s < q; ++s) {
        const int64_t i = row[cols[g + 1 + s]];
        TORCH_CHECK(i >= 0 && i < rows[s], "sparse_multilinear: table row ", e, " reads row ", i, " of input ", s,
                    ", expected 0 <= row < ", rows[s]);
      }
    }
  }
  at::Tensor y = at::zeros({n_out, R}, zc[0].options());
  if (R == 0 || E == 0) return y;
  AT_DISPATCH_FLOATING_TYPES(dtype, "sparse_multilinear", [&] {
    std::vector<const scalar_t*> ptrs;
    for (auto& zt : zc) ptrs.push_back(zt.data_ptr<scalar_t>());
    std::vector<scalar_t> coef(static_cast<size_t>(E));
    for (int64_t e = 0; e < E; ++e) {
      double c;
      std::memcpy(&c, tp + e * width + q + 1, sizeof(double));
      coef[size_t(e)] = scalar_t(c);
    }
    dispatch_slots<scalar_t>(q, ptrs, tp, width, coef, E, cols, y.data_ptr<scalar_t>(), R);
  });
  return y;
}

}  // namespace e3ml

TORCH_LIBRARY(e3torch_multilinear, m) {
  m.def("forward(Tensor[] z, Tensor tab, int n_out, int[] perms) -> Tensor");
}

TORCH_LIBRARY_IMPL(e3torch_multilinear, CPU, m) { m.impl("forward", &e3ml::forward); }
