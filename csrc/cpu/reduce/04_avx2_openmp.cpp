// cpu_04_avx2_openmp: 03's AVX2 code on every core.  The work is cut into fixed pieces that do
// not depend on the thread count -- 64 Ki-element chunks of a row; along a dim, 1024-column blocks
// (and, when there are fewer than 8 blocks, 16 slices of r) -- each piece's partial result is kept,
// and the partials are combined in index order, so the result is bitwise identical for any number
// of threads and any schedule.  Limits: DRAM bandwidth; fp32 sums still accumulate in fp32 (the
// chunking happens to shorten the running sums).  Preconditions: none.
#include <omp.h>

#include <algorithm>
#include <vector>
#include "../../common/kb_error.h"
#include "reduce_cpu.h"

namespace kb {
namespace {
constexpr kb_int64 kChunk = kb_int64(1) << 16;  // elements per piece of a contiguous row
constexpr kb_int64 kColumns = 1024;             // columns per block along a dim
constexpr kb_int64 kMinBlocks = 8;              // fewer column blocks than this: also split r
constexpr kb_int64 kSlices = 16;                // ... into this many slices
constexpr double kParallelBytes = 1 << 18;      // smaller problems stay on one thread

template <typename T>
void rows_openmp(const ReduceArgs& p) {  // inner == 1: outer rows of r contiguous elements
  const T* x = static_cast<const T*>(p.x);
  const kb_int64 chunks = std::max<kb_int64>(1, (p.r + kChunk - 1) / kChunk);
  const bool par = double(p.outer) * double(p.r) * sizeof(T) >= kParallelBytes;
  if (chunks == 1) {
#pragma omp parallel for schedule(static) if (par)
    for (kb_int64 o = 0; o < p.outer; ++o) store_result(p, o, avx2_contiguous(x + o * p.r, p.r, p.op));
    return;
  }
  std::vector<Partial<T>> part(static_cast<size_t>(p.outer * chunks));
#pragma omp parallel if (par)
  {
#pragma omp for schedule(static)
    for (kb_int64 it = 0; it < p.outer * chunks; ++it) {
      const kb_int64 o = it / chunks, c = it % chunks, len = std::min(kChunk, p.r - c * kChunk);
      part[it] = avx2_contiguous(x + o * p.r + c * kChunk, len, p.op);
      part[it].index += c * kChunk;
    }
#pragma omp for schedule(static)
    for (kb_int64 o = 0; o < p.outer; ++o) {
      Partial<T> res = part[o * chunks];
      for (kb_int64 c = 1; c < chunks; ++c) res = combine(p.op, res, part[o * chunks + c]);  // index order
      store_result(p, o, res);
    }
  }
}

template <typename T>
void columns_openmp(const ReduceArgs& p) {  // inner > 1: (outer, r, inner) with columns contiguous
  const T* x = static_cast<const T*>(p.x);
  const kb_int64 blocks = (p.inner + kColumns - 1) / kColumns, items = p.outer * blocks;
  const kb_int64 slices = items < kMinBlocks ? std::min<kb_int64>(kSlices, std::max<kb_int64>(p.r, 1)) : 1;
  const kb_int64 rows_per = (p.r + slices - 1) / slices;
  const bool par = double(p.outer) * double(p.r) * double(p.inner) * sizeof(T) >= kParallelBytes;
  const bool arg = is_arg(p.op);
  // slices > 1 (few blocks): one partial per (block, slice), combined afterwards in slice order
  std::vector<T> vals(slices > 1 ? static_cast<size_t>(items * slices * kColumns) : 0);
  std::vector<kb_int64> idx(slices > 1 && arg ? vals.size() : 0);
#pragma omp parallel if (par)
  {
    std::vector<T> my_vals(slices == 1 ? kColumns : 0);
    std::vector<kb_int64> my_idx(slices == 1 && arg ? kColumns : 0);
#pragma omp for schedule(static)
    for (kb_int64 w = 0; w < items * slices; ++w) {
      const kb_int64 it = w / slices, s = w % slices, o = it / blocks, j0 = (it % blocks) * kColumns;
      const kb_int64 q0 = std::min(p.r, s * rows_per), q1 = std::min(p.r, q0 + rows_per);
      const kb_int64 nc = std::min(kColumns, p.inner - j0);
      T* v = slices == 1 ? my_vals.data() : vals.data() + w * kColumns;
      kb_int64* ix = !arg ? nullptr : slices == 1 ? my_idx.data() : idx.data() + w * kColumns;
      if (q1 == q0 && !is_sum(p.op)) continue;  // an empty trailing slice (skipped when combining)
      avx2_columns(x + (o * p.r + q0) * p.inner + j0, q1 - q0, p.inner, nc, p.op, v, ix);
      if (slices == 1)
        for (kb_int64 j = 0; j < nc; ++j) store_result(p, o * p.inner + j0 + j, Partial<T>{v[j], ix ? ix[j] : 0});
      else if (ix)
        for (kb_int64 j = 0; j < nc; ++j) ix[j] += q0;
    }
    if (slices > 1) {
#pragma omp for schedule(static)
      for (kb_int64 it = 0; it < items; ++it) {
        const kb_int64 o = it / blocks, j0 = (it % blocks) * kColumns, nc = std::min(kColumns, p.inner - j0);
        for (kb_int64 j = 0; j < nc; ++j) {
          const kb_int64 base = it * slices * kColumns + j;
          Partial<T> res{vals[base], arg ? idx[base] : 0};
          for (kb_int64 s = 1; s < slices && (is_sum(p.op) || s * rows_per < p.r); ++s)  // in slice order
            res = combine(p.op, res, Partial<T>{vals[base + s * kColumns], arg ? idx[base + s * kColumns] : 0});
          store_result(p, o * p.inner + j0 + j, res);
        }
      }
    }
  }
}

template <typename T>
void avx2_openmp(const ReduceArgs& p) {
  if (p.outer * p.inner == 0) return;
  if (p.inner == 1) return rows_openmp<T>(p);
  columns_openmp<T>(p);
}
}  // namespace

void cpu_reduce_04_avx2_openmp(const ReduceArgs& p, void*) {
  if (p.dtype == DType::F32) return avx2_openmp<float>(p);
  if (p.dtype == DType::F64) return avx2_openmp<double>(p);
  KB_THROW("cpu_04_avx2_openmp: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
