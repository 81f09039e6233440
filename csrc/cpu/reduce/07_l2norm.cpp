// cpu_07_l2norm: y[row] = sqrt(sum_j x[row, j]^2).  03's idea with a multiply folded in: 4 AVX2
// FMA accumulators of x*x per row; like 04, rows are cut into fixed 64 Ki-element pieces whose
// partial sums are combined in order, so the result does not depend on the thread count.
// Limits: memory bandwidth; squares accumulate in the input precision with no scaling, so fp32
// entries beyond ~1e19 overflow to inf (as a plain sum of squares does).  Preconditions: none.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include "../../common/kb_error.h"
#include "../cpu_isa.h"
#include "avx2_vec.h"
#include "reduce_cpu.h"

namespace kb {
namespace {
constexpr kb_int64 kChunk = kb_int64(1) << 16;

template <typename T>
T sum_squares_scalar(const T* x, kb_int64 n) {
  T acc[4] = {};
  kb_int64 j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; ++k) acc[k] += x[j + k] * x[j + k];
  for (; j < n; ++j) acc[0] += x[j] * x[j];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

template <typename T>
KB_AVX2 T sum_squares_avx2(const T* x, kb_int64 n) {
  using R = Avx2<T>;
  using V = typename R::V;
  constexpr int W = R::W, K = 4;
  V acc[K];
  for (int k = 0; k < K; ++k) acc[k] = R::zero();
  kb_int64 j = 0;
  for (; j + K * W <= n; j += K * W)
    for (int k = 0; k < K; ++k) {
      const V v = R::loadu(x + j + k * W);
      acc[k] = R::fma(v, v, acc[k]);
    }
  for (; j + W <= n; j += W) {
    const V v = R::loadu(x + j);
    acc[0] = R::fma(v, v, acc[0]);
  }
  acc[0] = R::add(R::add(acc[0], acc[1]), R::add(acc[2], acc[3]));
  alignas(32) T lane[W];
  R::storeu(lane, acc[0]);
  for (int s = W / 2; s > 0; s /= 2)
    for (int k = 0; k < s; ++k) lane[k] += lane[k + s];
  T tail = 0;
  for (; j < n; ++j) tail += x[j] * x[j];
  return lane[0] + tail;
}

template <typename T>
void l2norm(const RowwiseArgs& p) {
  const T* x = static_cast<const T*>(p.x);
  T* y = static_cast<T*>(p.y);
  const bool avx2 = cpu_isa() >= CpuIsa::Avx2;
  const kb_int64 chunks = std::max<kb_int64>(1, (p.cols + kChunk - 1) / kChunk);
  const bool par = double(p.rows) * double(p.cols) >= 65536;
  std::vector<T> part(static_cast<size_t>(p.rows * chunks));
#pragma omp parallel if (par)
  {
#pragma omp for schedule(static)
    for (kb_int64 it = 0; it < p.rows * chunks; ++it) {
      const kb_int64 r = it / chunks, c = it % chunks;
      const T* piece = x + r * p.cols + c * kChunk;
      const kb_int64 len = std::min(kChunk, p.cols - c * kChunk);
      part[it] = avx2 ? sum_squares_avx2(piece, len) : sum_squares_scalar(piece, len);
    }
#pragma omp for schedule(static)
    for (kb_int64 r = 0; r < p.rows; ++r) {
      T s = part[r * chunks];
      for (kb_int64 c = 1; c < chunks; ++c) s += part[r * chunks + c];
      y[r] = std::sqrt(s);
    }
  }
}
}  // namespace

void cpu_reduce_07_l2norm(const RowwiseArgs& p, void*) {
  if (p.dtype == DType::F32) return l2norm<float>(p);
  if (p.dtype == DType::F64) return l2norm<double>(p);
  KB_THROW("cpu_07_l2norm: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
